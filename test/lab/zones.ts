/**
 * The lab's DNS data, served by NSD through the unbound resolver. A record is
 * data here; zone files are rendered from it, and the lab's self-check queries
 * every record back through the resolver.
 */
import { lab, limitedProvider, providers, sender } from './plan.ts';

export type RecordType = 'A' | 'AAAA' | 'MX' | 'TXT' | 'PTR' | 'NS';

export interface LabRecord {
  name: string;
  type: RecordType;
  /** A/AAAA/PTR/NS: the address or name. MX: "priority host". TXT: the strings of one record. */
  value: string | string[];
}

export interface Zone {
  origin: string;
  records: LabRecord[];
  /** Why the zone exists, for people reading the rendered file. */
  purpose: string;
}

export interface DkimKeys {
  /** Base64 of the DER public key, 2048-bit RSA (sender.test and friends). */
  rsa2048: string;
  /** Base64 of the DER public key, 1024-bit RSA (too weak). */
  rsa1024: string;
}

const txt = (name: string, ...strings: string[]): LabRecord => ({ name, type: 'TXT', value: strings });
const a = (name: string, address: string): LabRecord => ({ name, type: 'A', value: address });
const mx = (name: string, priority: number, host: string): LabRecord => ({ name, type: 'MX', value: `${priority} ${host}` });
const ptr = (address: string, host: string): LabRecord => ({ name: `${address.split('.').reverse().join('.')}.in-addr.arpa`, type: 'PTR', value: host });

/** A DKIM key record split into strings of at most 255 characters, as DNS TXT requires. */
function dkimRecord(name: string, publicKey: string, flags = ''): LabRecord {
  const text = `v=DKIM1; k=rsa; ${flags}p=${publicKey}`;
  const strings: string[] = [];
  for (let i = 0; i < text.length; i += 255) strings.push(text.slice(i, i + 255));
  return { name, type: 'TXT', value: strings };
}

/** A zone tests rewrite while the lab runs; this is how it starts. */
export const changesZone = {
  origin: 'changes.test',
  records: [
    txt('changes.test', 'v=spf1 ip4:127.0.0.10 -all'),
    txt('_dmarc.changes.test', 'v=DMARC1; p=quarantine; rua=mailto:dmarc@changes.test'),
    txt('_smtp._tls.changes.test', 'v=TLSRPTv1; rua=mailto:tlsrpt@changes.test'),
  ] as LabRecord[],
};

export function labZones(keys: DkimKeys): Zone[] {
  const d = sender.domain;
  const pools = Object.values(sender.pools);
  const poolA = sender.pools.clean;
  const poolB = sender.pools.listed;
  return [
    {
      origin: 'test',
      purpose: 'parent of every lab zone: unknown *.test names end here (NXDOMAIN), never on the internet',
      records: [],
    },
    {
      origin: 'lab.test',
      purpose: 'the lab itself',
      records: [a('ns.lab.test', '127.0.0.1'), a(lab.imap.hostname, lab.imap.host), a('mx.lab.test', '127.0.0.1')],
    },
    {
      origin: d,
      purpose: 'the sending brand: complete, correct authentication',
      records: [
        a(d, '127.0.0.40'),
        { name: d, type: 'AAAA', value: '2001:db8::40' },
        mx(d, 10, sender.mx.host),
        a(sender.mx.host, sender.mx.address),
        ...pools.map((pool) => a(pool.helo, pool.source)),
        a(lab.mta.hostname, lab.mta.address),
        txt(d, 'v=spf1 mx include:_spf.sender.test -all'),
        txt(`_spf.${d}`, `v=spf1 ip4:${poolA.source} ip4:${poolB.source} -all`),
        dkimRecord(`${sender.dkimSelector}._domainkey.${d}`, keys.rsa2048),
        txt(`_dmarc.${d}`, 'v=DMARC1; p=reject; sp=quarantine; adkim=r; aspf=r; pct=100; rua=mailto:dmarc@sender.test,mailto:agg@dmarc-reports.test; ruf=mailto:dmarc@sender.test; fo=1'),
        txt(`_mta-sts.${d}`, 'v=STSv1; id=20261123T000000'),
        a(`mta-sts.${d}`, lab.mtaSts.address),
        txt(`_smtp._tls.${d}`, 'v=TLSRPTv1; rua=mailto:tlsrpt@sender.test'),
        txt(`default._bimi.${d}`, 'v=BIMI1; l=https://bimi.sender.test/logo.svg; a='),
        // A subdomain that sends but has no DMARC record of its own: the organizational domain's applies.
        txt(`news.${d}`, 'v=spf1 include:_spf.sender.test -all'),
        mx(`news.${d}`, 10, sender.mx.host),
        dkimRecord(`${sender.dkimSelector}._domainkey.news.${d}`, keys.rsa2048),
        // The target of a PTR that does not confirm (127.0.0.13 → stray.sender.test → 127.0.0.99).
        a(`stray.${d}`, '127.0.0.99'),
      ],
    },
    ...Object.entries(providers).map(([domain, provider]) => ({
      origin: domain,
      purpose: `seed provider: ${provider.policy}`,
      records: [mx(domain, 10, provider.mx), a(provider.mx, provider.address), txt(domain, `v=spf1 ip4:${provider.address} -all`)],
    })),
    {
      origin: limitedProvider.domain,
      purpose: `a provider that rate-limits each client to ${limitedProvider.messagesPerWindow} messages per ${limitedProvider.windowSeconds} s and refuses unknown users (traffic tests)`,
      records: [mx(limitedProvider.domain, 10, limitedProvider.mx), a(limitedProvider.mx, limitedProvider.address)],
    },
    {
      origin: 'dmarc-reports.test',
      purpose: 'an external DMARC report receiver that authorizes sender.test only',
      records: [mx('dmarc-reports.test', 10, 'mx.lab.test'), txt(`${d}._report._dmarc.dmarc-reports.test`, 'v=DMARC1')],
    },
    {
      origin: 'spf-lookups.test',
      purpose: 'broken: SPF needs 12 DNS lookups through nested includes (limit 10)',
      records: [
        txt('spf-lookups.test', 'v=spf1 include:one.spf-lookups.test include:two.spf-lookups.test include:three.spf-lookups.test -all'),
        txt('one.spf-lookups.test', 'v=spf1 a mx include:four.spf-lookups.test -all'),
        txt('two.spf-lookups.test', 'v=spf1 a mx -all'),
        txt('three.spf-lookups.test', 'v=spf1 a mx -all'),
        txt('four.spf-lookups.test', `v=spf1 a mx ip4:${poolA.source} -all`),
        ...['one', 'two', 'three', 'four'].flatMap((label) => [a(`${label}.spf-lookups.test`, '127.0.0.50'), mx(`${label}.spf-lookups.test`, 10, 'mx.lab.test')]),
        txt('_dmarc.spf-lookups.test', 'v=DMARC1; p=none; rua=mailto:dmarc@spf-lookups.test'),
      ],
    },
    {
      origin: 'spf-double.test',
      purpose: 'broken: two v=spf1 records',
      records: [
        txt('spf-double.test', `v=spf1 ip4:${poolA.source} -all`),
        txt('spf-double.test', `v=spf1 ip4:${poolB.source} -all`),
        txt('_dmarc.spf-double.test', 'v=DMARC1; p=none; rua=mailto:dmarc@spf-double.test'),
      ],
    },
    {
      origin: 'spf-void.test',
      purpose: 'broken: three void lookups (limit 2), and an include that loops back',
      records: [
        txt('spf-void.test', 'v=spf1 a:nx1.spf-void.test a:nx2.spf-void.test a:nx3.spf-void.test include:loop.spf-void.test -all'),
        txt('loop.spf-void.test', 'v=spf1 include:spf-void.test -all'),
        txt('_dmarc.spf-void.test', 'v=DMARC1; p=none; rua=mailto:dmarc@spf-void.test'),
      ],
    },
    {
      origin: 'dmarc-extrua.test',
      purpose: 'broken: DMARC reports to a domain that has not authorized them',
      records: [txt('dmarc-extrua.test', `v=spf1 ip4:${poolA.source} -all`), txt('_dmarc.dmarc-extrua.test', 'v=DMARC1; p=quarantine; rua=mailto:reports@dmarc-reports.test')],
    },
    {
      origin: 'dkim-weak.test',
      purpose: 'broken: a 1024-bit DKIM key',
      records: [txt('dkim-weak.test', `v=spf1 ip4:${poolA.source} -all`), dkimRecord(`${sender.dkimSelector}._domainkey.dkim-weak.test`, keys.rsa1024)],
    },
    {
      origin: 'dkim-testing.test',
      purpose: 'broken: DKIM key in testing mode (t=y)',
      records: [dkimRecord(`${sender.dkimSelector}._domainkey.dkim-testing.test`, keys.rsa2048, 't=y; ')],
    },
    {
      origin: 'dkim-revoked.test',
      purpose: 'broken: revoked DKIM key (empty p=)',
      records: [txt(`${sender.dkimSelector}._domainkey.dkim-revoked.test`, 'v=DKIM1; k=rsa; p=')],
    },
    {
      origin: 'sts-mismatch.test',
      purpose: 'broken: the MTA-STS policy names an mx the domain does not use',
      records: [
        mx('sts-mismatch.test', 10, 'mx.sts-mismatch.test'),
        a('mx.sts-mismatch.test', '127.0.0.99'),
        txt('_mta-sts.sts-mismatch.test', 'v=STSv1; id=20261123T000000'),
        a('mta-sts.sts-mismatch.test', lab.mtaSts.address),
      ],
    },
    {
      origin: changesZone.origin,
      purpose: 'rewritten by tests while the lab runs (test/lab/zone-edit.ts): change detection',
      records: changesZone.records,
    },
    {
      origin: '127.in-addr.arpa',
      purpose: 'PTRs of the sending addresses: 127.0.0.12 deliberately has none, 127.0.0.13 does not confirm',
      records: [
        ...pools.filter((pool) => pool.ptr).map((pool) => ptr(pool.source, pool.helo)),
        ptr('127.0.0.13', `stray.${d}`),
        ptr(sender.mx.address, sender.mx.host),
        ...Object.values(providers).map((provider) => ptr(provider.address, provider.mx)),
        ptr(limitedProvider.address, limitedProvider.mx),
      ],
    },
  ];
}

/** MTA-STS policies served over HTTPS, by host name. */
export function mtaStsPolicies(): Record<string, string> {
  return {
    [`mta-sts.${sender.domain}`]: `version: STSv1\nmode: enforce\nmx: ${sender.mx.host}\nmax_age: 86400\n`,
    'mta-sts.sts-mismatch.test': 'version: STSv1\nmode: enforce\nmx: mail.elsewhere.test\nmax_age: 86400\n',
  };
}

function quote(text: string): string {
  return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** NSD zone file text. */
export function renderZone(zone: Zone, serial: number): string {
  const lines = [`; ${zone.origin}: ${zone.purpose}`, `$ORIGIN ${zone.origin}.`, '$TTL 5', `@ IN SOA ns.lab.test. hostmaster.lab.test. ( ${serial} 60 60 3600 5 )`, '@ IN NS ns.lab.test.'];
  for (const record of zone.records) {
    const value =
      record.type === 'TXT'
        ? (record.value as string[]).map(quote).join(' ')
        : record.type === 'A' || record.type === 'AAAA'
          ? String(record.value)
          : record.type === 'MX'
            ? String(record.value).replace(/ (\S+)$/, ' $1.')
            : `${String(record.value)}.`;
    lines.push(`${record.name}. IN ${record.type} ${value}`);
  }
  return `${lines.join('\n')}\n`;
}
