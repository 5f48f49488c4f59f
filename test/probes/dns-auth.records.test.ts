/**
 * Record shapes the lab does not publish, served by an in-process DNS server:
 * each with its exact finding. (The lab's broken domains are in dns-auth.test.ts.)
 */
import { generateKeyPairSync } from 'node:crypto';
import type { Answer } from 'dns-packet';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { CheckResult } from '../../src/probes/dns-auth-check.ts';
import { checkDomain } from '../../src/probes/dns-auth.ts';
import { parseSpf } from '../../src/probes/dns-auth-spf.ts';
import { DnsClient } from '../../src/protocols/dns/client.ts';
import { fakeDns, txt, type Query, type Reply } from '../helpers/dns-server.ts';

const publicKey = (type: 'ed25519' | 'rsa', bits?: number) => {
  const { publicKey } = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: bits! }) : generateKeyPairSync('ed25519');
  const der = publicKey.export({ type: 'spki', format: 'der' });
  // RFC 8463: an ed25519 key is published as the bare 32 bytes.
  return (type === 'ed25519' ? der.subarray(der.length - 32) : der).toString('base64');
};

const zone: Record<string, Record<string, string[]>> = {
  'plusall.test': { TXT: ['v=spf1 ip4:192.0.2.10 +all'] },
  'neutral.test': { TXT: ['v=spf1 ip4:192.0.2.10 ?all'] },
  'ptr.test': { TXT: ['v=spf1 ptr -all'] },
  'noall.test': { TXT: ['v=spf1 ip4:192.0.2.10'] },
  'syntax.test': { TXT: ['v=spf1 ip4:300.1.1.1 foo:bar -all'] },
  'incl-broken.test': { TXT: ['v=spf1 include:servfail.test -all'] },
  'nine.test': { TXT: ['v=spf1 a:h1.nine.test a:h2.nine.test a:h3.nine.test a:h4.nine.test a:h5.nine.test a:h6.nine.test a:h7.nine.test a:h8.nine.test a:h9.nine.test -all'] },
  'ed.test': { TXT: ['v=spf1 -all'] },
  'sel._domainkey.ed.test': { TXT: [`v=DKIM1; k=ed25519; p=${publicKey('ed25519')}`] },
  'sel._domainkey.tiny.test': { TXT: [`v=DKIM1; k=rsa; p=${publicKey('rsa', 512)}`] },
  'sel._domainkey.garbage.test': { TXT: ['v=DKIM1; k=rsa; p=bm90IGEga2V5'] },
  '_dmarc.pct.test': { TXT: ['v=DMARC1; p=reject; pct=25'] },
  '_dmarc.badp.test': { TXT: ['v=DMARC1; p=block; rua=mailto:d@badp.test'] },
  '_dmarc.twice.test': { TXT: ['v=DMARC1; p=none; rua=mailto:a@twice.test', 'v=DMARC1; p=reject; rua=mailto:a@twice.test'] },
  '_smtp._tls.tlsbad.test': { TXT: ['v=TLSRPTv1; rua=tls@tlsbad.test'] },
  // exp= names a host that does not answer: the explanation is looked up after the result is decided.
  'explain.test': { TXT: ['v=spf1 ip4:192.0.2.10 -all exp=why.explain.test'] },
  // 11 MX hosts behind one "mx" term; the 11th is the sender.
  'manymx.test': { TXT: ['v=spf1 mx -all'], MX: Array.from({ length: 11 }, (_, i) => `${i} mx${i + 1}.manymx.test`) },
  // redirect= beside "all" (pointing back at itself): receivers never follow it.
  'redir.test': { TXT: ['v=spf1 ip4:192.0.2.10 redirect=redir.test -all'] },
  'ptrfail.test': { TXT: ['v=spf1 ptr ip4:192.0.2.10 -all'] },
  // DMARC, tag by tag.
  '_dmarc.dup.test': { TXT: ['v=DMARC1; p=reject; p=none; rua=mailto:d@dup.test'] },
  '_dmarc.badsp.test': { TXT: ['v=DMARC1; p=reject; sp=rejct; rua=mailto:d@badsp.test'] },
  '_dmarc.badnp.test': { TXT: ['v=DMARC1; p=reject; np=maybe'] },
  '_dmarc.flags.test': { TXT: ['v=DMARC1; p=reject; adkim=strict; aspf=x; t=yes; psd=maybe; fo=0:1; rua=mailto:d@flags.test; ruf=mailto:d@flags.test'] },
  '_dmarc.testing.test': { TXT: ['v=DMARC1; p=reject; t=y; psd=y; rua=mailto:d@testing.test'] },
  '_dmarc.badpct.test': { TXT: ['v=DMARC1; p=quarantine; pct=150; rua=mailto:d@badpct.test'] },
  '_dmarc.textpct.test': { TXT: ['v=DMARC1; p=quarantine; pct=half; rua=mailto:d@textpct.test'] },
  '_dmarc.pctzero.test': { TXT: ['v=DMARC1; p=reject; pct=0; rua=mailto:d@pctzero.test'] },
  '_dmarc.obsolete.test': { TXT: ['v=DMARC1; p=reject; pct=100; rf=afrf; ri=3600; fo=1; rua=mailto:d@obsolete.test!10m'] },
  '_dmarc.badobsolete.test': { TXT: ['v=DMARC1; p=reject; rf=xml; ri=daily; rua=mailto:d@badobsolete.test'] },
  '_dmarc.badrua.test': { TXT: ['v=DMARC1; p=reject; rua=dmarc@badrua.test,mailto:agg@@elsewhere.test,https://reports.badrua.test/dmarc; ruf=mailto:'] },
  '_dmarc.nop.test': { TXT: ['v=DMARC1; rua=mailto:d@nop.test'] },
  '_dmarc.nopnorua.test': { TXT: ['v=DMARC1; adkim=s'] },
  '_dmarc.dmsyntax.test': { TXT: ['v=DMARC1; p reject; foo=bar; Rua=mailto:d@dmsyntax.test'] },
  '_dmarc.lower.test': { TXT: ['v=dmarc1; p=reject; rua=mailto:d@lower.test'] },
  '_dmarc.notfirst.test': { TXT: ['p=reject; v=DMARC1'] },
  '_dmarc.sub.orgok.test': { TXT: ['v=DMARC1 p=none'] },
  '_dmarc.orgok.test': { TXT: ['v=DMARC1; p=reject; rua=mailto:d@orgok.test'] },
  '_dmarc.hostile.test': { TXT: [`v=DMARC1; p=re\u0007ject\u202e${'x'.repeat(80)}; ${'z'.repeat(60)}=1; rua=mailto:d@hostile.test`] },
};
for (let i = 1; i <= 9; i++) zone[`h${i}.nine.test`] = { A: ['192.0.2.99'] };
for (let i = 1; i <= 11; i++) zone[`mx${i}.manymx.test`] = { A: [`192.0.2.${100 + i}`] };
/** Names whose queries go unanswered, and names the resolver fails on. */
const silent = new Set(['why.explain.test']);
const failing = new Set(['servfail.test', '77.2.0.192.in-addr.arpa']);

function answer(query: Query): Reply {
  if (silent.has(query.name)) return { drop: true };
  if (failing.has(query.name)) return { rcode: 'SERVFAIL' };
  const records = zone[query.name];
  if (!records) return { rcode: 'NXDOMAIN' };
  const values = records[query.type] ?? [];
  return {
    answers: values.map((value): Answer => {
      if (query.type === 'TXT') return txt(query.name, value);
      if (query.type === 'MX') {
        const [preference, exchange] = value.split(' ');
        return { type: 'MX', name: query.name, ttl: 60, data: { preference: Number(preference), exchange } } as Answer;
      }
      return { type: 'A', name: query.name, ttl: 60, data: value } as Answer;
    }),
  };
}

async function run(domain: string, options: { ips?: string[]; selectors?: string[] } = {}): Promise<Record<string, CheckResult>> {
  const server = await fakeDns(answer);
  const dns = new DnsClient({ servers: [server.server], timeoutMs: 500, attempts: 1 });
  onTestFinished(() => dns.close());
  const results = await checkDomain({ domain, ips: options.ips ?? [], selectors: options.selectors ?? [], skip: ['mta_sts'] }, { dns });
  return Object.fromEntries(results.map((result) => [[result.check, result.selector ?? result.ip].filter(Boolean).join(':'), result]));
}

const found = (result: CheckResult | undefined) => result?.findings.map(({ code, level }) => `${level} ${code}`);

describe('dns-auth: SPF shapes', () => {
  it.each([
    ['plusall.test', 'fail', 'SPF_PASS_ALL', 'The SPF record ends with "+all", which authorizes every server on the internet to send as plusall.test. End it with "-all" (or "~all").'],
    ['neutral.test', 'warn', 'SPF_NEUTRAL_ALL', 'The SPF record ends with "?all": servers it does not list get neutral, which protects nothing. End it with "-all" (or "~all").'],
    [
      'ptr.test',
      'warn',
      'SPF_PTR',
      'The SPF record of ptr.test uses the "ptr" mechanism, which RFC 7208 says not to use: it is slow and some receivers ignore it. List the addresses with ip4:/ip6: instead.',
    ],
    ['noall.test', 'warn', 'SPF_NO_ALL', 'The SPF record has no "all" and no "redirect=": servers it does not list get neutral. End it with "-all" (or "~all").'],
    [
      'syntax.test',
      'fail',
      'SPF_SYNTAX',
      'The SPF record of syntax.test has syntax errors ("ip4:300.1.1.1" is not an IPv4 address or range; "foo:bar" is not an SPF mechanism or modifier); receivers return permerror. Fix or remove those terms.',
    ],
    ['nine.test', 'warn', 'SPF_NEAR_LOOKUP_LIMIT', 'SPF needs 9 of the 10 DNS lookups receivers allow: one more include breaks it. Flatten an include or replace a/mx terms with ip4:/ip6: ranges.'],
  ])('%s: %s %s', async (domain, level, code, message) => {
    const { spf } = await run(domain);
    expect(spf!.status).toBe(level);
    expect(spf!.findings).toContainEqual({ code, level, message });
  });

  it('an include whose lookup fails is an error with the DNS code, for the record and for the IP', async () => {
    const checks = await run('incl-broken.test', { ips: ['192.0.2.10'] });
    expect([checks.spf?.status, checks.spf?.errorCode, checks.spf?.digest]).toEqual(['error', 'DNS_SERVFAIL', undefined]);
    expect([checks['spf_ip:192.0.2.10']?.status, checks['spf_ip:192.0.2.10']?.errorCode]).toEqual(['error', 'DNS_SERVFAIL']);
  });

  it('a timeout on the exp= lookup changes nothing: the record is checked, and the IP still gets fail', async () => {
    const checks = await run('explain.test', { ips: ['192.0.2.66'] });
    expect([checks.spf?.status, found(checks.spf)]).toEqual(['pass', []]);
    expect(checks.spf?.details).toMatchObject({ spf_lookups: 0 });
    const ip = checks['spf_ip:192.0.2.66'];
    expect(ip).toMatchObject({ status: 'fail', details: { spf_result: 'fail' }, record: '192.0.2.66 spf=fail explain.test' });
    expect(found(ip)).toEqual(['fail SPF_IP_FAIL', 'pass SPF_IP_EXPLANATION_UNAVAILABLE']);
    expect(ip!.findings[1]!.message).toBe(
      'The lookup of the explanation text (exp=) at why.explain.test failed (DNS_TIMEOUT); receivers then give no explanation, and the result stands (RFC 7208 6.2).',
    );
  });

  it('an "mx" term whose domain has more than 10 MX hosts; past the 10th, receivers return permerror', async () => {
    const checks = await run('manymx.test', { ips: ['192.0.2.101', '192.0.2.111'] });
    expect(checks.spf!.status).toBe('fail');
    expect(checks.spf!.findings).toEqual([
      {
        code: 'SPF_TOO_MANY_MX',
        level: 'fail',
        message:
          'The SPF record of manymx.test has "mx", and manymx.test has 11 MX hosts: receivers look up the addresses of at most 10 for one "mx" term and return permerror past them (RFC 7208 4.6.4), so SPF fails for mail from servers they have not matched by then. List the sending servers with ip4:/ip6: ranges instead.',
      },
    ]);
    expect(checks['spf_ip:192.0.2.101']).toMatchObject({ status: 'pass', details: { spf_result: 'pass' } });
    expect(checks['spf_ip:192.0.2.111']).toMatchObject({ status: 'fail', details: { spf_result: 'permerror' } });
  });

  it('redirect= beside "all" is ignored as receivers ignore it: a warning, no loop', async () => {
    const checks = await run('redir.test', { ips: ['192.0.2.10'] });
    expect(checks.spf!.status).toBe('warn');
    expect(checks.spf!.findings).toEqual([
      {
        code: 'SPF_REDIRECT_IGNORED',
        level: 'warn',
        message:
          'The SPF record of redir.test has both "all" and "redirect=redir.test": receivers never follow the redirect of a record that has "all" (RFC 7208 6.1), so the record at redir.test does not apply. Remove the redirect, or the "all" if the redirect is meant.',
      },
    ]);
    expect(checks.spf!.record).toBe('redir.test TXT "v=spf1 ip4:192.0.2.10 redirect=redir.test -all"');
    expect(checks['spf_ip:192.0.2.10']).toMatchObject({ status: 'pass', details: { spf_result: 'pass' } });
  });

  it('a PTR lookup that fails makes "ptr" not match, as receivers do: the result, with the lookup said', async () => {
    const checks = await run('ptrfail.test', { ips: ['192.0.2.77'] });
    const ip = checks['spf_ip:192.0.2.77'];
    expect(ip).toMatchObject({ status: 'fail', details: { spf_result: 'fail' } });
    expect(found(ip)).toEqual(['fail SPF_IP_FAIL', 'warn SPF_IP_PTR_LOOKUP_FAILED']);
    expect(ip!.findings[1]!.message).toMatch(
      /^The PTR lookup of 77\.2\.0\.192\.in-addr\.arpa failed \(DNS_SERVFAIL: 127\.0\.0\.1:\d+ answered SERVFAIL\) while SPF checked the reverse DNS names of 192\.0\.2\.77; receivers skip such a name \(RFC 7208 5\.5\), so 192\.0\.2\.77 gets fail without it, and may get another result once that lookup answers\.$/,
    );
  });

  it('parses terms and reports each syntax problem', () => {
    expect(parseSpf('v=spf1 ip6:2001:db8::/32 a:mail.example.com/24 redirect=_spf.example.com')).toEqual({
      terms: [
        { qualifier: '+', name: 'ip6', value: '2001:db8::' },
        { qualifier: '+', name: 'a', value: 'mail.example.com' },
      ],
      redirect: '_spf.example.com',
      problems: [],
    });
    expect(parseSpf('v=spf1 ip6:2001:db8::/129 include: all:x redirect=a redirect=b').problems).toEqual([
      '"ip6:2001:db8::/129" is not an IPv6 address or range',
      '"include:": include needs a domain',
      '"all:x": all takes no argument',
      '"redirect=" appears twice',
    ]);
  });
});

describe('dns-auth: DKIM, DMARC and TLS-RPT shapes', () => {
  it('an ed25519 key passes', async () => {
    const checks = await run('ed.test', { selectors: ['sel'] });
    expect(checks['dkim:sel']).toMatchObject({ status: 'pass', message: 'DKIM key for selector "sel": ed25519.', details: { dkim_key_type: 'ed25519' } });
  });

  it('a 512-bit RSA key fails; a key that is not a key fails', async () => {
    expect(found((await run('tiny.test', { selectors: ['sel'] }))['dkim:sel'])).toEqual(['fail DKIM_WEAK_KEY']);
    const garbage = (await run('garbage.test', { selectors: ['sel'] }))['dkim:sel'];
    expect(found(garbage)).toEqual(['fail DKIM_INVALID']);
    expect(garbage!.message).toMatch(/^The DKIM key record at sel\._domainkey\.garbage\.test cannot be used \(.+\); receivers treat its signatures as failing\./);
  });

  it('pct under 100, an invalid p=, two records, no rua', async () => {
    expect(found((await run('pct.test')).dmarc)).toEqual(['warn DMARC_PCT', 'warn DMARC_NO_RUA']);
    const badp = (await run('badp.test')).dmarc;
    expect(found(badp)).toEqual(['fail DMARC_INVALID_POLICY']);
    expect(badp!.message).toBe('The DMARC record at _dmarc.badp.test has an invalid policy "p=block"; receivers treat it as p=none. Set p=none, p=quarantine or p=reject.');
    expect(badp!.details).toMatchObject({ dmarc_policy: 'none', dmarc_rua: true });
    expect(found((await run('twice.test')).dmarc)).toEqual(['fail DMARC_MULTIPLE']);
  });

  it('a TLS-RPT destination that is neither mailto: nor https:', async () => {
    expect(found((await run('tlsbad.test')).tls_rpt)).toEqual(['fail TLS_RPT_INVALID']);
  });
});

describe('dns-auth: the DMARC record, tag by tag (RFC 7489 and RFC 9989)', () => {
  it('a repeated p= is a failure that names the tag, never a quiet p=none', async () => {
    const { dmarc } = await run('dup.test');
    expect(found(dmarc)).toEqual(['fail DMARC_DUPLICATE_TAG']);
    expect(dmarc!.message).toBe(
      'The DMARC record at _dmarc.dup.test repeats p= ("reject", then "none"). A tag may appear only once (DMARC records are DKIM tag-lists, RFC 6376 §3.2): receivers that follow that rule ignore the whole record, and the others keep either the first or the last value, so some apply p=none. Keep each tag once.',
    );
    // What some receivers apply, with the failure that says why; not reported as the owner's choice of none.
    expect(dmarc!.details).toMatchObject({ dmarc_policy: 'none' });
  });

  it('an invalid sp= or np= sets the whole policy aside', async () => {
    const badsp = (await run('badsp.test')).dmarc;
    expect(found(badsp)).toEqual(['fail DMARC_INVALID_SP']);
    expect(badsp!.message).toBe(
      'The DMARC record at _dmarc.badsp.test has an invalid subdomain policy "sp=rejct"; receivers then set the record\'s whole policy aside and act as if it said p=none, for badsp.test itself too. Write sp=none, sp=quarantine or sp=reject, or remove sp (subdomains then get p).',
    );
    expect(badsp!.details).toMatchObject({ dmarc_policy: 'none' });
    const badnp = (await run('badnp.test')).dmarc;
    expect(found(badnp)).toEqual(['fail DMARC_INVALID_NP', 'warn DMARC_NO_RUA']);
    expect(badnp!.findings[0]!.message).toContain('"np=maybe"; receivers that know np (RFC 9989) then set the record\'s whole policy aside and apply no DMARC policy at all');
    // No valid p= in effect and no rua=: receivers apply no policy, so none is reported.
    expect(badnp!.details.dmarc_policy).toBeUndefined();
  });

  it('adkim, aspf, t, psd and fo values outside their grammar', async () => {
    const { dmarc } = await run('flags.test');
    expect(found(dmarc)).toEqual(['warn DMARC_INVALID_T', 'warn DMARC_INVALID_ADKIM', 'warn DMARC_INVALID_ASPF', 'warn DMARC_INVALID_PSD', 'warn DMARC_INVALID_FO']);
    expect(dmarc!.findings.map((finding) => finding.message)).toEqual([
      'The DMARC record at _dmarc.flags.test has "t=yes", which is not y or n; receivers use the default, n (the policy applies as written). Write t=y to test a policy, or remove t.',
      'The DMARC record at _dmarc.flags.test has "adkim=strict", which is not r (relaxed) or s (strict); receivers use the default, r, for DKIM alignment. Write adkim=r or adkim=s.',
      'The DMARC record at _dmarc.flags.test has "aspf=x", which is not r (relaxed) or s (strict); receivers use the default, r, for SPF alignment. Write aspf=r or aspf=s.',
      'The DMARC record at _dmarc.flags.test has "psd=maybe", which is not y, n or u; receivers use the default, u. Remove psd, or write psd=n if flags.test is the organizational domain of its subdomains.',
      'The DMARC record at _dmarc.flags.test has "fo=0:1": 0 and 1 exclude each other (1 already asks for every report 0 does); receivers use the default, fo=0. Write 0 or 1, then d and s if wanted, separated by ":" (for example fo=1 or fo=1:d:s).',
    ]);
    expect(dmarc!.details).not.toHaveProperty('dmarc_adkim');
  });

  it('t=y and psd=y on a domain that is not a public suffix', async () => {
    const { dmarc } = await run('testing.test');
    expect(found(dmarc)).toEqual(['warn DMARC_TESTING', 'warn DMARC_PSD']);
    expect(dmarc!.findings[0]!.message).toBe(
      'The DMARC record at _dmarc.testing.test has t=y (testing): receivers that follow RFC 9989 apply quarantine instead of reject to failing mail, while RFC 7489 receivers ignore t and apply reject. Remove t=y once the reports show your own mail aligned.',
    );
  });

  it('pct: out of range or not a number is invalid (100 applies), 0 is a test, and RFC 9989 removed it', async () => {
    const badpct = (await run('badpct.test')).dmarc;
    expect(found(badpct)).toEqual(['warn DMARC_INVALID_PCT']);
    expect(badpct!.message).toBe(
      'The DMARC record at _dmarc.badpct.test has "pct=150", which is not a whole number from 0 to 100; receivers that still read pct (RFC 7489) use the default, 100, and RFC 9989 removed pct. Remove it.',
    );
    expect(badpct!.details).toMatchObject({ dmarc_pct: 100, dmarc_policy: 'quarantine' });
    const textpct = (await run('textpct.test')).dmarc;
    expect([found(textpct), textpct!.details.dmarc_pct]).toEqual([['warn DMARC_INVALID_PCT'], 100]);
    const pctzero = (await run('pctzero.test')).dmarc;
    expect(found(pctzero)).toEqual(['warn DMARC_PCT']);
    expect(pctzero!.message).toContain('has pct=0: receivers that read pct (RFC 7489) apply quarantine instead of reject to all failing mail');
  });

  it('tags RFC 9989 removed (pct, rf, ri, the !size suffix) are notes when valid, warnings when not', async () => {
    const obsolete = (await run('obsolete.test')).dmarc;
    expect(obsolete!.status).toBe('pass');
    expect(found(obsolete)).toEqual(['pass DMARC_PCT_OBSOLETE', 'pass DMARC_REPORT_SIZE_OBSOLETE', 'pass DMARC_FO_WITHOUT_RUF', 'pass DMARC_RF_OBSOLETE', 'pass DMARC_RI_OBSOLETE']);
    expect(obsolete!.details).toMatchObject({ dmarc_policy: 'reject', dmarc_pct: 100, dmarc_rua: true });
    const bad = (await run('badobsolete.test')).dmarc;
    expect(found(bad)).toEqual(['warn DMARC_INVALID_RF', 'warn DMARC_INVALID_RI']);
  });

  it('each report URI is checked: no scheme, a broken mailto: address, a scheme receivers do not use; none is looked up for consent', async () => {
    const server = await fakeDns(answer);
    const dns = new DnsClient({ servers: [server.server], timeoutMs: 500, attempts: 1 });
    onTestFinished(() => dns.close());
    const [dmarc] = await checkDomain({ domain: 'badrua.test', ips: [], selectors: [], skip: ['spf', 'dkim', 'mx', 'address', 'mta_sts', 'tls_rpt', 'bimi'] }, { dns });
    expect(found(dmarc)).toEqual(['warn DMARC_INVALID_RUA', 'warn DMARC_REPORT_SCHEME', 'warn DMARC_INVALID_RUF']);
    expect(dmarc!.findings[0]!.message).toBe(
      'The DMARC record at _dmarc.badrua.test has destinations in rua= that receivers cannot use: "dmarc@badrua.test" (it is not a URI: no scheme (write mailto:<address>)) and "mailto:agg@@elsewhere.test" (the part of its address before "@" is not valid). Receivers skip them. Write each as mailto:<address>, separated by ",".',
    );
    expect(dmarc!.findings[2]!.message).toContain('"mailto:" (it has no address). So no failure reports are sent.');
    expect(server.queries.map((query) => query.name)).toEqual(['_dmarc.badrua.test']);
    expect(dmarc!.details).toMatchObject({ dmarc_policy: 'reject', dmarc_rua: true });
  });

  it('no p=: p=none with a valid rua= (RFC 9989), no policy at all without', async () => {
    const nop = (await run('nop.test')).dmarc;
    expect(found(nop)).toEqual(['warn DMARC_NO_POLICY']);
    expect(nop!.details).toMatchObject({ dmarc_policy: 'none' });
    const bare = (await run('nopnorua.test')).dmarc;
    expect(found(bare)).toEqual(['fail DMARC_NO_POLICY', 'warn DMARC_NO_RUA']);
    expect(bare!.details).not.toHaveProperty('dmarc_policy');
  });

  it('terms that are not tag=value, unknown tags, tag names in capitals', async () => {
    const { dmarc } = await run('dmsyntax.test');
    expect(found(dmarc)).toEqual(['warn DMARC_SYNTAX', 'warn DMARC_UNKNOWN_TAG', 'warn DMARC_TAG_CASE', 'warn DMARC_NO_POLICY']);
    expect(dmarc!.findings.slice(0, 3).map((finding) => finding.message)).toEqual([
      'The DMARC record at _dmarc.dmsyntax.test has a term that is not tag=value: "p reject" (no "="); receivers ignore it. Write each as tag=value, separated by ";".',
      'The DMARC record at _dmarc.dmsyntax.test has a tag that is not a DMARC tag: "foo"; receivers ignore it. Remove it or correct the name (DMARC\'s tags are v, p, sp, np, adkim, aspf, rua, ruf, fo, psd and t).',
      'The DMARC record at _dmarc.dmsyntax.test writes "Rua" with capitals; receivers that read tag names case-sensitively, as DKIM tag-lists are (RFC 6376 §3.2), do not recognize it. Write rua= in lower case.',
    ]);
  });

  it('a record whose v= is not exactly "v=DMARC1" first is not a DMARC record to receivers', async () => {
    const lower = (await run('lower.test')).dmarc;
    expect(found(lower)).toEqual(['fail DMARC_VERSION']);
    expect(lower!.message).toBe(
      'The TXT record "v=dmarc1; p=reject; rua=mailto:d@lower.test" at _dmarc.lower.test is not a DMARC record to receivers: the version must be written "DMARC1", in upper case. Receivers ignore it, so no DMARC policy applies to lower.test. Begin the record with "v=DMARC1;".',
    );
    expect(lower!.record).toBe('_dmarc.lower.test TXT "v=dmarc1; p=reject; rua=mailto:d@lower.test"');
    expect((await run('notfirst.test')).dmarc!.message).toContain('is not a DMARC record to receivers: "v=DMARC1" is not its first tag.');
    // Receivers pass over the subdomain's record and take the organizational domain's.
    const sub = (await run('sub.orgok.test')).dmarc;
    expect(found(sub)).toEqual(['fail DMARC_VERSION', 'pass DMARC_INHERITED']);
    expect(sub!.findings[0]!.message).toContain('its version is "DMARC1 p=none", not "DMARC1" (a ";" is missing after it). Receivers ignore it and apply the record at _dmarc.orgok.test instead.');
    expect(sub!.details).toMatchObject({ dmarc_policy: 'reject', dmarc_record_domain: 'orgok.test' });
  });

  it('record text quoted in a message is cut short and has no control characters', async () => {
    const { dmarc } = await run('hostile.test');
    expect(found(dmarc)).toEqual(['warn DMARC_UNKNOWN_TAG', 'fail DMARC_INVALID_POLICY']);
    expect(dmarc!.message).not.toMatch(/[\u0000-\u001f\u007f\u202e]/);
    expect(dmarc!.message).toBe(
      `The DMARC record at _dmarc.hostile.test has a tag that is not a DMARC tag: "${'z'.repeat(29)}…"; receivers ignore it. Remove it or correct the name (DMARC's tags are v, p, sp, np, adkim, aspf, rua, ruf, fo, psd and t). The DMARC record at _dmarc.hostile.test has an invalid policy "p=reject${'x'.repeat(51)}…"; receivers treat it as p=none. Set p=none, p=quarantine or p=reject.`,
    );
  });
});
