import { readFileSync } from 'node:fs';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { CheckContext, CheckResult } from '../../src/probes/dns-auth-check.ts';
import { checkDomain, dnsAuth } from '../../src/probes/dns-auth.ts';
import { DnsClient } from '../../src/protocols/dns/client.ts';
import { runProbe, type AnyProbeKind } from '../../src/runner/run-probe.ts';
import { systemClock } from '../../src/core/clock.ts';
import { Database } from '../../src/store/database.ts';
import { record } from '../../src/store/record.ts';
import { labKeys } from '../lab/keys.ts';
import { lab, sender } from '../lab/plan.ts';
import { setZoneRecords } from '../lab/zone-edit.ts';
import { changesZone, type LabRecord } from '../lab/zones.ts';
import { labServices, probeContext } from '../helpers/lab.ts';
import { a, fakeDns, txt } from '../helpers/dns-server.ts';
import { tempDir } from '../helpers/temp.ts';

const extraCa = () => readFileSync(labKeys().caCert);

function context(): CheckContext {
  return { dns: labServices().dns, extraCa: extraCa() };
}

/** Every check of a domain, keyed "check" or "check:selector/ip". */
async function checks(domain: string, options: { ips?: string[]; selectors?: string[] } = {}, ctx = context()): Promise<Record<string, CheckResult>> {
  const results = await checkDomain({ domain, ips: options.ips ?? [], selectors: options.selectors ?? [], skip: [] }, ctx);
  return Object.fromEntries(results.map((result) => [[result.check, result.selector ?? result.ip].filter(Boolean).join(':'), result]));
}

const codes = (result: CheckResult | undefined) => result?.findings.map((finding) => finding.code);

describe('dns-auth against the lab: a domain with everything right', () => {
  it('passes every check, with the records seen and what was verified', async () => {
    const found = await checks(sender.domain, { ips: [sender.pools.clean.source, sender.pools.listed.source], selectors: [sender.dkimSelector] });
    expect(Object.fromEntries(Object.entries(found).map(([key, result]) => [key, result.status]))).toEqual({
      spf: 'pass',
      'spf_ip:127.0.0.10': 'pass',
      'spf_ip:127.0.0.11': 'pass',
      'dkim:lab2026': 'pass',
      dmarc: 'pass',
      mx: 'pass',
      address: 'pass',
      'ptr:127.0.0.10': 'pass',
      'ptr:127.0.0.11': 'pass',
      mta_sts: 'pass',
      tls_rpt: 'pass',
      bimi: 'pass',
    });
    expect(found.spf).toMatchObject({
      message: 'One SPF record, 2 DNS lookups of 10, ending "-all".',
      record: 'sender.test TXT "v=spf1 mx include:_spf.sender.test -all"\n_spf.sender.test TXT "v=spf1 ip4:127.0.0.10 ip4:127.0.0.11 -all"',
      details: { spf_lookups: 2, spf_void_lookups: 0 },
    });
    expect(found.spf!.digest).toMatch(/^[0-9a-f]{16}$/);
    expect(found['spf_ip:127.0.0.10']).toMatchObject({ message: '127.0.0.10 passes SPF for sender.test.', details: { spf_result: 'pass' } });
    expect(found['dkim:lab2026']).toMatchObject({ message: 'DKIM key for selector "lab2026": 2048-bit RSA.', details: { dkim_key_type: 'rsa', dkim_key_bits: 2048, dkim_testing: false } });
    expect(found.dmarc).toMatchObject({
      // pct=100 changes nothing, and RFC 9989 removed pct: a note, not a warning.
      message:
        'DMARC p=reject (subdomains sp=quarantine), pct=100, aggregate reports to 2 destinations. The DMARC record at _dmarc.sender.test has pct=100, which RFC 9989 removed; 100 is what receivers assumed anyway. Remove it.',
      details: { dmarc_policy: 'reject', dmarc_pct: 100, dmarc_record_domain: 'sender.test', dmarc_rua: true, dmarc_adkim: 'r', dmarc_aspf: 'r' },
    });
    // The external report destination's consent is part of what was seen.
    expect(found.dmarc!.record!.split('\n')).toEqual([
      '_dmarc.sender.test TXT "v=DMARC1; p=reject; sp=quarantine; adkim=r; aspf=r; pct=100; rua=mailto:dmarc@sender.test,mailto:agg@dmarc-reports.test; ruf=mailto:dmarc@sender.test; fo=1"',
      'sender.test._report._dmarc.dmarc-reports.test TXT "v=DMARC1"',
    ]);
    expect(found.mx).toMatchObject({ message: '1 MX host, all with addresses: mx.sender.test.', record: 'sender.test MX 10 mx.sender.test\nmx.sender.test A 127.0.0.20' });
    expect(found['ptr:127.0.0.11']).toMatchObject({ message: '127.0.0.11 has PTR mta-b.sender.test, which resolves back to it.', details: { fcrdns: true } });
    expect(found.mta_sts).toMatchObject({ message: 'MTA-STS mode enforce, max_age 86400 s, covering every MX host.', details: { mta_sts_mode: 'enforce', mta_sts_max_age: 86400 } });
    expect(found.mta_sts!.record).toContain('mta-sts.sender.test POLICY "mx: mx.sender.test"');
    expect(found.tls_rpt!.message).toBe('TLS reports go to mailto:tlsrpt@sender.test.');
  });
});

describe('dns-auth against the lab: deliberately broken domains, each with its exact finding', () => {
  it('SPF that needs 12 lookups through nested includes', async () => {
    const { spf } = await checks('spf-lookups.test');
    expect(spf).toMatchObject({
      status: 'fail',
      findings: [
        {
          code: 'SPF_TOO_MANY_LOOKUPS',
          level: 'fail',
          message:
            'SPF needs 12 DNS lookups counted through its includes and redirects; receivers stop at 10 and return permerror, so SPF fails for all mail. Flatten includes, or replace a/mx terms with ip4:/ip6: ranges.',
        },
      ],
      details: { spf_lookups: 12, spf_void_lookups: 0 },
    });
  });

  it('two SPF records; and the IP then gets permerror from the evaluator', async () => {
    const found = await checks('spf-double.test', { ips: [sender.pools.clean.source] });
    expect(found.spf).toMatchObject({
      status: 'fail',
      findings: [
        {
          code: 'SPF_MULTIPLE',
          level: 'fail',
          message: 'spf-double.test has 2 SPF records; receivers treat that as permerror and SPF fails for all its mail. Merge them into one "v=spf1" record.',
        },
      ],
      details: { spf_records: 2 },
    });
    expect(found.spf!.record!.split('\n')).toHaveLength(2);
    expect(found['spf_ip:127.0.0.10']).toMatchObject({ status: 'fail', details: { spf_result: 'permerror' } });
    expect(codes(found['spf_ip:127.0.0.10'])).toEqual(['SPF_IP_PERMERROR']);
  });

  it('three void lookups and an include that loops back', async () => {
    const { spf } = await checks('spf-void.test');
    expect(spf!.status).toBe('fail');
    expect(spf!.findings).toEqual([
      {
        code: 'SPF_LOOP',
        level: 'fail',
        message: 'SPF includes loop: spf-void.test → loop.spf-void.test → spf-void.test; receivers run into the lookup limit and return permerror. Remove the include that points back.',
      },
      {
        code: 'SPF_VOID_LOOKUPS',
        level: 'fail',
        message: 'SPF makes 3 void lookups (names that have no records; receivers allow 2) and returns permerror. Remove the terms that name domains without records.',
      },
    ]);
    expect(spf!.details).toMatchObject({ spf_void_lookups: 3 });
  });

  it('a subdomain without DMARC falls back to the organizational domain’s record and its sp=', async () => {
    const { dmarc } = await checks(`news.${sender.domain}`);
    expect(dmarc).toMatchObject({
      status: 'pass',
      findings: [
        {
          code: 'DMARC_INHERITED',
          level: 'pass',
          message: "news.sender.test has no DMARC record of its own; the organizational domain's record at _dmarc.sender.test applies with its subdomain policy sp=quarantine.",
        },
        { code: 'DMARC_PCT_OBSOLETE', level: 'pass' },
      ],
      details: { dmarc_policy: 'quarantine', dmarc_record_domain: 'sender.test' },
    });
  });

  it('DMARC reports to an external domain that has not authorized them', async () => {
    const { dmarc } = await checks('dmarc-extrua.test');
    expect(dmarc).toMatchObject({
      status: 'warn',
      findings: [
        {
          code: 'DMARC_REPORT_UNAUTHORIZED',
          level: 'warn',
          message:
            'DMARC reports go to dmarc-reports.test, which has not agreed to receive them for dmarc-extrua.test (no "v=DMARC1" TXT at dmarc-extrua.test._report._dmarc.dmarc-reports.test), so receivers will not send them there. Ask dmarc-reports.test to publish that record, or send the reports to an address in dmarc-extrua.test.',
        },
      ],
    });
  });

  it('no DMARC record at all', async () => {
    const { dmarc } = await checks('dkim-weak.test');
    expect(dmarc).toMatchObject({ status: 'fail', record: '' });
    expect(codes(dmarc)).toEqual(['DMARC_MISSING']);
  });

  it('a 1024-bit DKIM key', async () => {
    const found = await checks('dkim-weak.test', { selectors: [sender.dkimSelector] });
    expect(found['dkim:lab2026']).toMatchObject({
      status: 'warn',
      findings: [
        {
          code: 'DKIM_SHORT_KEY',
          level: 'warn',
          message:
            'The DKIM key for selector "lab2026" is 1024-bit RSA; 2048 bits is the recommended size and some receivers distrust shorter keys. Publish a 2048-bit key under a new selector and rotate to it.',
        },
      ],
      details: { dkim_key_type: 'rsa', dkim_key_bits: 1024 },
    });
  });

  it('a DKIM key in testing mode (t=y)', async () => {
    const found = await checks('dkim-testing.test', { selectors: [sender.dkimSelector] });
    expect(found['dkim:lab2026']).toMatchObject({
      status: 'warn',
      findings: [
        {
          code: 'DKIM_TESTING',
          level: 'warn',
          message: 'The DKIM key for selector "lab2026" is in testing mode (t=y): receivers may treat its signatures as if the mail were unsigned. Remove "t=y" once signing works.',
        },
      ],
      details: { dkim_testing: true, dkim_key_bits: 2048 },
    });
  });

  it('a revoked DKIM key (empty p=), and a selector with no key at all', async () => {
    const revoked = await checks('dkim-revoked.test', { selectors: [sender.dkimSelector] });
    expect(revoked['dkim:lab2026']).toMatchObject({
      status: 'fail',
      findings: [
        {
          code: 'DKIM_REVOKED',
          level: 'fail',
          message: 'The DKIM key for selector "lab2026" is revoked (empty p=): every signature made with it fails. Sign with a current selector and stop using "lab2026", or publish its key again.',
        },
      ],
    });
    const missing = await checks(sender.domain, { selectors: ['s2019'] });
    expect(missing['dkim:s2019']).toMatchObject({ status: 'fail', record: '' });
    expect(codes(missing['dkim:s2019'])).toEqual(['DKIM_MISSING']);
  });

  it('a PTR that does not confirm, and an IP with no PTR', async () => {
    const found = await checks(sender.domain, { ips: ['127.0.0.13', sender.pools.unsigned.source] });
    expect(found['ptr:127.0.0.13']).toMatchObject({
      status: 'fail',
      findings: [
        {
          code: 'PTR_NOT_CONFIRMED',
          level: 'fail',
          message:
            'The reverse DNS of 127.0.0.13 does not confirm: its PTR names stray.sender.test → 127.0.0.99, not back to 127.0.0.13. Receivers treat that like no reverse DNS. Publish "stray.sender.test A 127.0.0.13", or point the PTR at a name that resolves to 127.0.0.13.',
        },
      ],
      record: '13.0.0.127.in-addr.arpa PTR stray.sender.test\nstray.sender.test A 127.0.0.99',
      details: { fcrdns: false },
    });
    expect(codes(found['ptr:127.0.0.12'])).toEqual(['PTR_MISSING']);
    // Neither address is in sender.test's SPF.
    expect(found['spf_ip:127.0.0.12']).toMatchObject({ status: 'fail', details: { spf_result: 'fail' } });
  });

  it('an MTA-STS policy whose mx does not match the MX', async () => {
    const { mta_sts: sts } = await checks('sts-mismatch.test');
    expect(sts).toMatchObject({
      status: 'fail',
      findings: [
        {
          code: 'MTA_STS_MX_MISMATCH',
          level: 'fail',
          message:
            'The MTA-STS policy of sts-mismatch.test does not cover its MX host mx.sts-mismatch.test (its mx patterns: mail.elsewhere.test): senders that enforce MTA-STS refuse to deliver there. Add "mx: mx.sts-mismatch.test" to the policy and change the id in the TXT record.',
        },
      ],
    });
  });

  it('missing MTA-STS and TLS-RPT are warnings; missing BIMI is fine (optional)', async () => {
    const found = await checks('spf-lookups.test');
    expect([found.mta_sts?.status, codes(found.mta_sts)]).toEqual(['warn', ['MTA_STS_MISSING']]);
    expect([found.tls_rpt?.status, codes(found.tls_rpt)]).toEqual(['warn', ['TLS_RPT_MISSING']]);
    expect(found.bimi).toMatchObject({ status: 'pass', findings: [], record: '', message: 'No BIMI record at default._bimi.spf-lookups.test (optional: it shows your logo in supporting inboxes).' });
  });
});

describe('dns-auth: unknown is not a failure', () => {
  it('an MTA-STS policy host that does not answer is an error; one with the wrong certificate is a failure', async () => {
    const zone = (query: { name: string; type: string }) => {
      if (query.type === 'TXT' && query.name.startsWith('_mta-sts.')) return { answers: [txt(query.name, 'v=STSv1; id=2026')] };
      if (query.type === 'A' && query.name === 'mta-sts.silent.test') return { answers: [a(query.name, '127.0.0.98')] };
      // The lab's policy server, whose certificate does not name mta-sts.wrongcert.test.
      if (query.type === 'A' && query.name === 'mta-sts.wrongcert.test') return { answers: [a(query.name, lab.mtaSts.address)] };
      return { rcode: 'NXDOMAIN' as const };
    };
    const server = await fakeDns(zone);
    const dns = new DnsClient({ servers: [server.server], timeoutMs: 500, attempts: 1 });
    onTestFinished(() => dns.close());
    const silent = await checks('silent.test', {}, { dns, extraCa: extraCa(), policyTimeoutMs: 2_000 });
    expect(silent.mta_sts).toMatchObject({ status: 'error', errorCode: 'MTA_STS_UNREACHABLE' });
    expect(silent.mta_sts!.message).toMatch(
      /^The MTA-STS policy at https:\/\/mta-sts\.silent\.test\/\.well-known\/mta-sts\.txt could not be fetched \(connection refused \(ECONNREFUSED\)\); it is not known to be wrong\./,
    );
    const wrong = await checks('wrongcert.test', {}, { dns, extraCa: extraCa() });
    expect(wrong.mta_sts).toMatchObject({ status: 'fail' });
    expect(codes(wrong.mta_sts)).toEqual(['MTA_STS_POLICY_UNAVAILABLE']);
    expect(wrong.mta_sts!.message).toMatch(/cannot be fetched \(.*mta-sts\.wrongcert\.test.*\), so senders cannot apply it/);
  });
});

describe('dns-auth: change detection through the store', () => {
  it('a record changed between two runs produces exactly one change observation, with the old and new record', async () => {
    const restore = () => setZoneRecords(changesZone.origin, changesZone.records);
    onTestFinished(restore);
    await restore();
    // Ask NSD itself, uncached: the lab's resolver (and a cache) would serve the old record for up to its TTL of 5 s.
    const dns = new DnsClient({ servers: [lab.nsd], timeoutMs: 1_000, attempts: 2, cacheEntries: 0 });
    onTestFinished(() => dns.close());
    const db = Database.open(tempDir());
    onTestFinished(() => db.close());
    const definition = dnsAuth.configSchema.parse({ id: 'auth-changes', kind: 'dns-auth', schedule: '* * * * *', domains: [{ domain: changesZone.origin }] });
    const ctx = probeContext(new AbortController().signal, { dns });
    const runOnce = async () => {
      const result = await runProbe(definition, dnsAuth as AnyProbeKind, { trigger: 'cli', clock: systemClock, log: ctx.log, services: { dns, blocklists: ctx.blocklists, outbox: ctx.outbox } });
      return record(db, result);
    };
    const first = await runOnce();
    expect(first.success).toBe(true);
    expect(first.observations.filter((o) => o.measurement === 'dns_auth_change')).toEqual([]);
    expect((await runOnce()).observations.filter((o) => o.measurement === 'dns_auth_change')).toEqual([]);

    const changed: LabRecord[] = changesZone.records.map((item) => (item.name.startsWith('_smtp._tls.') ? { ...item, value: ['v=TLSRPTv1; rua=mailto:tls-reports@changes.test'] } : item));
    await setZoneRecords(changesZone.origin, changed);
    const third = await runOnce();
    const changes = third.observations.filter((o) => o.measurement === 'dns_auth_change');
    expect(changes).toHaveLength(1);
    expect(changes[0]!.tags).toEqual({ domain: 'changes.test', check: 'tls_rpt', probe: 'auth-changes' });
    expect(changes[0]!.fields).toMatchObject({
      old_record: '_smtp._tls.changes.test TXT "v=TLSRPTv1; rua=mailto:tlsrpt@changes.test"',
      new_record: '_smtp._tls.changes.test TXT "v=TLSRPTv1; rua=mailto:tls-reports@changes.test"',
    });
    expect(changes[0]!.fields.old_digest).not.toBe(changes[0]!.fields.new_digest);
    // The next run sees the same (new) record: no further change.
    expect((await runOnce()).observations.filter((o) => o.measurement === 'dns_auth_change')).toEqual([]);
  });
});
