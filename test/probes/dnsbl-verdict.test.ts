import { describe, expect, it } from 'vitest';
import { builtinLists, buildCatalog, defaultListIds } from '../../src/probes/dnsbl-lists.ts';
import { verdictOf, type ListSpec } from '../../src/probes/dnsbl-verdict.ts';
import type { DnsOutcome } from '../../src/protocols/dns/types.ts';

const list = (id: string): ListSpec => builtinLists.find((entry) => entry.id === id)!;
const base = { name: 'x', type: 'A' as const, server: '127.0.0.1:53', ms: 1, fromCache: false };
const answer = (...addresses: string[]): DnsOutcome => ({ ...base, status: 'answer', via: 'udp', ttl: 60, records: addresses.map((data) => ({ name: 'x', type: 'A', ttl: 60, data })) });
const nxdomain: DnsOutcome = { ...base, status: 'nxdomain', ttl: 0, via: 'udp' };

describe('what a blocklist answer means', () => {
  it.each<[string, string, DnsOutcome, object]>([
    [
      'a ZEN listing with two codes',
      'spamhaus-zen',
      answer('127.0.0.4', '127.0.0.2'),
      { status: 'listed', codes: ['127.0.0.2', '127.0.0.4'], meanings: ['SBL: Spamhaus SBL data (spam source)', 'XBL: exploited host (botnet, proxy, infected)'] },
    ],
    ['NXDOMAIN', 'spamhaus-zen', nxdomain, { status: 'not_listed', codes: [] }],
    ['NODATA', 'spamhaus-zen', { ...base, status: 'nodata', ttl: 0, via: 'udp' }, { status: 'not_listed' }],
    ['a DBL phishing listing', 'spamhaus-dbl', answer('127.0.1.4'), { status: 'listed', meanings: ['DBL: phishing domain'] }],
    ['URIBL black+red', 'uribl', answer('127.0.0.10'), { status: 'listed', meanings: ['URIBL: black (spam domain)', 'URIBL: red (new spam domain)'] }],
    ['SURBL malware+abuse', 'surbl', answer('127.0.0.80'), { status: 'listed', meanings: ['SURBL MW: malware', 'SURBL ABUSE: spam and abuse'] }],
  ])('%s', (_name, id, outcome, expected) => {
    expect(verdictOf(list(id), outcome)).toMatchObject(expected);
  });

  it.each<[string, string, DnsOutcome, string, string]>([
    [
      'Spamhaus: open resolver',
      'spamhaus-zen',
      answer('127.255.255.254'),
      'DNSBL_REFUSED',
      'Spamhaus ZEN answered 127.255.255.254: query via a public/open resolver or an unregistered source refused (use your own resolver, or DQS)',
    ],
    ['Spamhaus: too many queries', 'spamhaus-zen', answer('127.255.255.255'), 'DNSBL_RATE_LIMITED', 'Spamhaus ZEN answered 127.255.255.255: excessive number of queries (use DQS)'],
    ['Spamhaus: zone typo', 'spamhaus-sbl', answer('127.255.255.252'), 'DNSBL_BAD_ZONE', 'Spamhaus SBL answered 127.255.255.252: typo in the DNSBL zone name'],
    ['Spamhaus: any other 127.255.255.x', 'spamhaus-zen', answer('127.255.255.1'), 'DNSBL_REFUSED', 'Spamhaus ZEN answered 127.255.255.1: Spamhaus refused to answer'],
    ['DBL: an IP asked of a domain list', 'spamhaus-dbl', answer('127.0.1.255'), 'DNSBL_WRONG_KIND', 'Spamhaus DBL answered 127.0.1.255: an IP address was queried against the domain list'],
    ['URIBL: refused', 'uribl', answer('127.0.0.1'), 'DNSBL_REFUSED', 'URIBL multi answered 127.0.0.1: query refused: public resolver, or over the free volume'],
    ['an answer outside 127/8', 'spamcop', answer('198.51.100.9'), 'DNSBL_BAD_ANSWER', 'SpamCop answered 198.51.100.9, outside 127.0.0.0/8: a resolver is rewriting answers'],
    [
      'a listing mixed with an error',
      'spamhaus-zen',
      answer('127.0.0.2', '127.255.255.254'),
      'DNSBL_REFUSED',
      'Spamhaus ZEN answered 127.255.255.254: query via a public/open resolver or an unregistered source refused (use your own resolver, or DQS)',
    ],
    ['an undocumented code', 'spamhaus-zen', answer('127.0.0.77'), 'DNSBL_UNKNOWN_CODE', 'Spamhaus ZEN answered 127.0.0.77, which it does not document'],
    ['no documented bit', 'uribl', answer('127.0.0.64'), 'DNSBL_UNKNOWN_CODE', 'URIBL multi answered 127.0.0.64, which sets none of its documented bits'],
    ['a DNS timeout', 'spamhaus-zen', { ...base, status: 'error', code: 'DNS_TIMEOUT', message: 'no answer' }, 'DNS_TIMEOUT', 'no answer'],
    ['SERVFAIL', 'spamhaus-zen', { ...base, status: 'error', code: 'DNS_SERVFAIL', message: 'SERVFAIL' }, 'DNS_SERVFAIL', 'SERVFAIL'],
  ])('error, never a listing: %s', (_name, id, outcome, code, message) => {
    expect(verdictOf(list(id), outcome)).toMatchObject({ status: 'error', code, message });
  });

  it('takes any 127/8 answer as a listing on a list that documents no codes', () => {
    const own: ListSpec = { id: 'own', name: 'Own', zone: 'bl.example.net', kind: 'ip', ipv6: false, testPoints: null };
    expect(verdictOf(own, answer('127.0.0.5'))).toEqual({ status: 'listed', codes: ['127.0.0.5'], meanings: ['listed (127.0.0.5)'] });
  });

  it('counts a neutral answer as not listed', () => {
    const reputation: ListSpec = {
      id: 'rep',
      name: 'Rep',
      zone: 'rep.example.net',
      kind: 'ip',
      ipv6: false,
      codes: { '127.0.0.10': 'bad' },
      neutral: { '127.0.0.18': 'good reputation' },
      testPoints: null,
    };
    expect(verdictOf(reputation, answer('127.0.0.18'))).toEqual({ status: 'not_listed', codes: ['127.0.0.18'], meanings: ['good reputation'] });
  });
});

describe('the catalog', () => {
  it('covers the lists deliverability teams check, and not SORBS', () => {
    const ids = builtinLists.map((entry) => entry.id);
    for (const id of [
      'spamhaus-zen',
      'spamhaus-sbl',
      'spamhaus-xbl',
      'spamhaus-pbl',
      'spamhaus-dbl',
      'barracuda',
      'spamcop',
      'uceprotect-1',
      'uceprotect-2',
      'uceprotect-3',
      'psbl',
      'mailspike-bl',
      'mailspike-z',
      'surbl',
      'uribl',
    ]) {
      expect(ids).toContain(id);
    }
    expect(ids.some((id) => id.includes('sorbs')) || builtinLists.some((entry) => entry.zone.includes('sorbs'))).toBe(false);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of defaultListIds) expect(ids).toContain(id);
  });

  it('gives every list a kind, a zone, a delisting URL and its terms', () => {
    for (const entry of builtinLists) {
      expect(entry.zone, entry.id).toMatch(/^([a-z0-9-]+\.)+[a-z]+$/);
      expect(entry.delistUrl, entry.id).toMatch(/^https:\/\//);
      expect(entry.terms, entry.id).toBeTruthy();
      expect(Boolean(entry.codes) !== Boolean(entry.bitmask), `${entry.id}: codes or bitmask`).toBe(true);
    }
  });

  it('adds the Spamhaus DQS lists, ZRD among them, only with a key, and puts the key in the zone', () => {
    expect(buildCatalog().has('spamhaus-zen-dqs')).toBe(false);
    expect(buildCatalog().has('spamhaus-zrd')).toBe(false);
    const keyed = buildCatalog({ spamhausDqsKey: 'abcdefgh12345678' });
    expect(keyed.get('spamhaus-zen-dqs')?.zone).toBe('abcdefgh12345678.zen.dq.spamhaus.net');
    expect(keyed.get('spamhaus-dbl-dqs')?.zone).toBe('abcdefgh12345678.dbl.dq.spamhaus.net');
    expect(keyed.get('spamhaus-zrd-dqs')?.zone).toBe('abcdefgh12345678.zrd.dq.spamhaus.net');
  });
});
