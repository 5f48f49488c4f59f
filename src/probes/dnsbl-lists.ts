/**
 * The built-in catalog of DNS blocklists: zone, kind, what each answer means,
 * which answers are errors, the test points each honours, where to ask for
 * delisting, and what using it requires. Users add their own lists in
 * mailscope.yaml (blocklists.lists). SORBS is gone (June 2024) and absent.
 *
 * Sources: docs.spamhaus.com (zones, codes, DQS; the whole 127.255.255.0/24 is
 * errors), spamhaus.org dnsblusage, barracudacentral.org/rbl/how-to-use,
 * spamcop.net/bl.shtml, psbl.surriel.com/howto, mailspike.org/usage.html,
 * surbl.org/guidelines and lists, uribl.com/about and refused. Codes taken from
 * the Spamhaus DQS plugins and rspamd's rbl.conf where the official page is
 * silent: Spamhaus .250/.251/.252, dbltest.com, test.uribl.com, Mailspike's
 * numeric levels.
 */
import type { ListSpec } from './dnsbl-verdict.ts';

/** RFC 5782's test points: what every list of that kind must list, and what it must not. */
export const rfc5782TestPoints = {
  ip: { listed: '127.0.0.2', unlisted: '127.0.0.1' },
  domain: { listed: 'test', unlisted: 'invalid' },
} as const;
const rfc5782Ip = rfc5782TestPoints.ip;

/** Spamhaus answers these instead of data when it will not serve the query. */
const spamhausErrors: ListSpec['errors'] = {
  '127.255.255.250': { code: 'DNSBL_REFUSED', meaning: 'DQS key disabled' },
  '127.255.255.251': { code: 'DNSBL_REFUSED', meaning: 'DQS key rejected (unknown, or used from elsewhere)' },
  '127.255.255.252': { code: 'DNSBL_BAD_ZONE', meaning: 'typo in the DNSBL zone name' },
  '127.255.255.254': { code: 'DNSBL_REFUSED', meaning: 'query via a public/open resolver or an unregistered source refused (use your own resolver, or DQS)' },
  '127.255.255.255': { code: 'DNSBL_RATE_LIMITED', meaning: 'excessive number of queries (use DQS)' },
};
const spamhausErrorPrefix = { prefix: '127.255.255.', code: 'DNSBL_REFUSED', meaning: 'Spamhaus refused to answer' } as const;
const spamhausTerms =
  'free only for non-commercial use under 100,000 SMTP connections and 300,000 queries a day, through your own resolver (public resolvers are refused); otherwise a DQS key (spamhaus-*-dqs)';
const spamhausDelist = 'https://check.spamhaus.org/';

const zenCodes = {
  '127.0.0.2': 'SBL: Spamhaus SBL data (spam source)',
  '127.0.0.3': 'SBL CSS: snowshoe/low-reputation sending (automated)',
  '127.0.0.4': 'XBL: exploited host (botnet, proxy, infected)',
  // Spamhaus now says "currently unused"; older feeds still answer them for XBL.
  '127.0.0.5': 'XBL: exploited host (legacy code)',
  '127.0.0.6': 'XBL: exploited host (legacy code)',
  '127.0.0.7': 'XBL: exploited host (legacy code)',
  '127.0.0.9': 'SBL DROP: hijacked or criminal netblock',
  '127.0.0.10': 'PBL: end-user range, should not send directly (ISP maintained)',
  '127.0.0.11': 'PBL: end-user range, should not send directly (Spamhaus maintained)',
  '127.0.0.30': 'BCL: botnet controller',
};
const pick = (codes: Record<string, string>, keys: string[]) => Object.fromEntries(keys.map((key) => [key, codes[key]!]));

const dblCodes = {
  '127.0.1.2': 'DBL: spam domain',
  '127.0.1.4': 'DBL: phishing domain',
  '127.0.1.5': 'DBL: malware domain',
  '127.0.1.6': 'DBL: botnet C&C domain',
  '127.0.1.102': 'DBL: abused legitimate domain (spam)',
  '127.0.1.103': 'DBL: abused legitimate domain (spammed redirector)',
  '127.0.1.104': 'DBL: abused legitimate domain (phishing)',
  '127.0.1.105': 'DBL: abused legitimate domain (malware)',
  '127.0.1.106': 'DBL: abused legitimate domain (botnet C&C)',
};
const dblErrors: ListSpec['errors'] = { ...spamhausErrors, '127.0.1.255': { code: 'DNSBL_WRONG_KIND', meaning: 'an IP address was queried against the domain list' } };

const zrdCodes = Object.fromEntries(
  Array.from({ length: 23 }, (_, i) => [`127.0.2.${i + 2}`, i === 0 ? 'ZRD: domain first seen 0-2 hours ago' : `ZRD: domain first seen ${i + 1}-${i + 2} hours ago`]),
);
const zrdErrors: ListSpec['errors'] = { ...spamhausErrors, '127.0.2.255': { code: 'DNSBL_WRONG_KIND', meaning: 'an IP address was queried against the domain list' } };

interface SpamhausZone {
  id: string;
  /** Only through DQS (ZRD has no public zone). */
  dqsOnly?: boolean;
  /** Has a DQS zone (seen in Spamhaus's own DQS plugins: zen, sbl, dbl, zrd). */
  dqs?: boolean;
  name: string;
  label: string;
  kind: 'ip' | 'domain';
  codes: Record<string, string>;
  errors: ListSpec['errors'];
  testPoints: ListSpec['testPoints'];
}

const spamhausZones: SpamhausZone[] = [
  { id: 'spamhaus-zen', name: 'Spamhaus ZEN', label: 'zen', kind: 'ip', codes: zenCodes, errors: spamhausErrors, testPoints: rfc5782Ip, dqs: true },
  {
    id: 'spamhaus-sbl',
    name: 'Spamhaus SBL',
    label: 'sbl',
    kind: 'ip',
    codes: pick(zenCodes, ['127.0.0.2', '127.0.0.3', '127.0.0.9', '127.0.0.30']),
    errors: spamhausErrors,
    testPoints: rfc5782Ip,
    dqs: true,
  },
  {
    id: 'spamhaus-xbl',
    name: 'Spamhaus XBL',
    label: 'xbl',
    kind: 'ip',
    codes: pick(zenCodes, ['127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7']),
    errors: spamhausErrors,
    testPoints: { listed: '127.0.0.4', unlisted: '127.0.0.1' },
  },
  {
    id: 'spamhaus-pbl',
    name: 'Spamhaus PBL',
    label: 'pbl',
    kind: 'ip',
    codes: pick(zenCodes, ['127.0.0.10', '127.0.0.11']),
    errors: spamhausErrors,
    testPoints: { listed: '127.0.0.10', unlisted: '127.0.0.1' },
  },
  { id: 'spamhaus-dbl', name: 'Spamhaus DBL', label: 'dbl', kind: 'domain', codes: dblCodes, errors: dblErrors, testPoints: { listed: 'dbltest.com', unlisted: 'invalid' }, dqs: true },
  { id: 'spamhaus-zrd', name: 'Spamhaus ZRD', label: 'zrd', kind: 'domain', codes: zrdCodes, errors: zrdErrors, testPoints: null, dqsOnly: true, dqs: true },
];

function spamhausList(zone: SpamhausZone, dqsKey?: string): ListSpec {
  return {
    id: dqsKey === undefined ? zone.id : `${zone.id}-dqs`,
    name: dqsKey === undefined ? zone.name : `${zone.name} (DQS)`,
    zone: dqsKey === undefined ? `${zone.label}.spamhaus.org` : `${dqsKey}.${zone.label}.dq.spamhaus.net`,
    kind: zone.kind,
    ipv6: zone.kind === 'ip',
    codes: zone.codes,
    errors: zone.errors,
    errorPrefix: spamhausErrorPrefix,
    testPoints: zone.testPoints,
    delistUrl: spamhausDelist,
    terms: dqsKey === undefined ? spamhausTerms : 'Spamhaus Data Query Service: needs the account key (blocklists.spamhausDqsKey)',
  };
}

/** Lists that need no key. */
export const builtinLists: readonly ListSpec[] = [
  ...spamhausZones.filter((zone) => !zone.dqsOnly).map((zone) => spamhausList(zone)),
  {
    id: 'barracuda',
    name: 'Barracuda BRBL',
    zone: 'b.barracudacentral.org',
    kind: 'ip',
    ipv6: false,
    codes: { '127.0.0.2': 'listed on the Barracuda Reputation Block List' },
    testPoints: rfc5782Ip,
    delistUrl: 'https://www.barracudacentral.org/rbl/removal-request',
    terms: 'free, but the IPs of the resolvers querying it must be registered at barracudacentral.org first',
  },
  {
    id: 'spamcop',
    name: 'SpamCop',
    zone: 'bl.spamcop.net',
    kind: 'ip',
    ipv6: false,
    codes: { '127.0.0.2': 'listed on the SpamCop blocking list (reported spam source)' },
    testPoints: rfc5782Ip,
    delistUrl: 'https://www.spamcop.net/bl.shtml',
    terms: 'free; entries expire about 24 h after reports stop',
  },
  ...[1, 2, 3].map(
    (level): ListSpec => ({
      id: `uceprotect-${level}`,
      name: `UCEPROTECT level ${level}`,
      zone: `dnsbl-${level}.uceprotect.net`,
      kind: 'ip',
      ipv6: false,
      codes: { '127.0.0.2': ['', 'UCEPROTECT L1: this IP hit spamtraps', 'UCEPROTECT L2: the allocation around this IP is listed', 'UCEPROTECT L3: a larger range around this IP is listed'][level]! },
      testPoints: rfc5782Ip,
      delistUrl: 'https://www.uceprotect.net/en/rblcheck.php',
      terms: level === 1 ? 'free; listings expire on their own (paid express delisting exists)' : 'free; levels 2 and 3 list whole ranges: many legitimate senders share them',
    }),
  ),
  {
    id: 'psbl',
    name: 'PSBL (Passive Spam Block List)',
    zone: 'psbl.surriel.com',
    kind: 'ip',
    ipv6: false,
    codes: { '127.0.0.2': 'listed on PSBL (sent to spamtraps)' },
    testPoints: rfc5782Ip,
    delistUrl: 'https://psbl.org/',
    terms: 'free to anyone; anyone may remove an IP through the web form',
  },
  {
    id: 'mailspike-bl',
    name: 'Mailspike BL',
    zone: 'bl.mailspike.net',
    kind: 'ip',
    ipv6: false,
    codes: {
      '127.0.0.2': 'Mailspike: part of a distributed spam wave (zombie)',
      '127.0.0.10': 'Mailspike: L5, worst reputation',
      '127.0.0.11': 'Mailspike: L4, very bad reputation',
      '127.0.0.12': 'Mailspike: L3, bad reputation',
    },
    testPoints: rfc5782Ip,
    delistUrl: 'https://mailspike.org/anubis/lookup.html',
    terms: 'free under 100,000 messages and 100,000 queries a day; larger sites must contact Mailspike',
  },
  {
    id: 'mailspike-z',
    name: 'Mailspike Z',
    zone: 'z.mailspike.net',
    kind: 'ip',
    ipv6: false,
    codes: { '127.0.0.2': 'Mailspike Z: part of a distributed spam wave (zombie)' },
    testPoints: rfc5782Ip,
    delistUrl: 'https://mailspike.org/anubis/lookup.html',
    terms: 'free under 100,000 messages and 100,000 queries a day; larger sites must contact Mailspike',
  },
  {
    id: 'surbl',
    name: 'SURBL multi',
    zone: 'multi.surbl.org',
    kind: 'domain',
    ipv6: false,
    bitmask: { 8: 'SURBL PH: phishing', 16: 'SURBL MW: malware', 64: 'SURBL ABUSE: spam and abuse', 128: 'SURBL CR: cracked site' },
    errors: { '127.0.0.1': { code: 'DNSBL_REFUSED', meaning: 'access blocked: public resolver, or over the free volume' } },
    testPoints: { listed: 'test.surbl.org', unlisted: 'invalid' },
    delistUrl: 'https://surbl.org/surbl-analysis',
    terms: 'public DNS for small sites only; professional use needs the data feed',
  },
  {
    id: 'uribl',
    name: 'URIBL multi',
    zone: 'multi.uribl.com',
    kind: 'domain',
    ipv6: false,
    bitmask: { 2: 'URIBL: black (spam domain)', 4: 'URIBL: grey (bulk sender domain)', 8: 'URIBL: red (new spam domain)' },
    errors: { '127.0.0.1': { code: 'DNSBL_REFUSED', meaning: 'query refused: public resolver, or over the free volume' } },
    testPoints: { listed: 'test.uribl.com', unlisted: 'invalid' },
    delistUrl: 'https://admin.uribl.com/',
    terms: 'free for low volumes through your own resolver; public resolvers are refused (127.0.0.1)',
  },
];

/** The lists used when a probe or a command names none: free, no registration, no key. */
export const defaultListIds = ['spamhaus-zen', 'spamhaus-dbl', 'spamcop', 'psbl', 'uceprotect-1', 'mailspike-bl', 'surbl', 'uribl'] as const;

/** Lists that exist only with a key. */
export const keyedListIds = spamhausZones.filter((zone) => zone.dqs).map((zone) => `${zone.id}-dqs`);

export type ListCatalog = ReadonlyMap<string, ListSpec>;

/** The catalog in effect: built-in lists, DQS lists when a key is set, and the user's own. */
export function buildCatalog(options: { custom?: readonly ListSpec[]; spamhausDqsKey?: string } = {}): ListCatalog {
  const catalog = new Map<string, ListSpec>(builtinLists.map((list) => [list.id, list]));
  if (options.spamhausDqsKey) for (const zone of spamhausZones.filter((entry) => entry.dqs)) catalog.set(`${zone.id}-dqs`, spamhausList(zone, options.spamhausDqsKey));
  for (const list of options.custom ?? []) catalog.set(list.id, list);
  return catalog;
}
