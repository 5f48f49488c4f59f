import { describe, expect, it } from 'vitest';
import type { Observation } from '../../src/core/observation.ts';
import { blacklist } from '../../src/probes/blacklist.ts';
import { DnsClient } from '../../src/protocols/dns/client.ts';
import { probeContext } from '../helpers/context.ts';
import { a, fakeDns, type Handler } from '../helpers/dns-server.ts';
import { onTestFinished } from 'vitest';

function config(extra: Record<string, unknown>) {
  return blacklist.configSchema.parse({ id: 'bl', kind: 'blacklist', schedule: '* * * * *', ...extra });
}

const pairs = (observations: Observation[]) => observations.filter((o) => o.measurement === 'blacklist');
const pair = (observations: Observation[], target: string, list: string) => pairs(observations).find((o) => o.tags.target === target && o.tags.list === list);

/** A resolver that answers as the handler says, for lists from the real catalog. */
async function viaFake(handler: Handler) {
  const fake = await fakeDns(handler);
  const dns = new DnsClient({ servers: [fake.server], timeoutMs: 1_000, attempts: 2 });
  onTestFinished(() => dns.close());
  return { fake, ctx: probeContext(undefined, { dns }) };
}

/** Answers a list's RFC 5782 test points correctly, and `answer` for everything else. */
const healthy =
  (zoneSuffix: string, answer: (name: string) => ReturnType<Handler>): Handler =>
  (query) => {
    if (query.name === `2.0.0.127.${zoneSuffix}` || query.name === `dbltest.com.${zoneSuffix}`) return { answers: [a(query.name, zoneSuffix.startsWith('dbl') ? '127.0.1.2' : '127.0.0.2')] };
    if (query.name === `1.0.0.127.${zoneSuffix}` || query.name === `invalid.${zoneSuffix}`) return { rcode: 'NXDOMAIN' };
    return answer(query.name);
  };

describe('blacklist probe against a resolver that misbehaves', () => {
  it.each([
    ['127.255.255.254', 'DNSBL_REFUSED'],
    ['127.255.255.255', 'DNSBL_RATE_LIMITED'],
    ['127.255.255.252', 'DNSBL_BAD_ZONE'],
    ['10.9.8.7', 'DNSBL_BAD_ANSWER'],
    ['127.0.0.99', 'DNSBL_UNKNOWN_CODE'],
  ])('Spamhaus ZEN answering %s is %s, never a listing', async (address, code) => {
    const { ctx } = await viaFake(healthy('zen.spamhaus.org', (name) => ({ answers: [a(name, address)] })));
    const observations = await blacklist.run(config({ targets: ['203.0.113.9'], lists: ['spamhaus-zen'] }), ctx);
    expect(pair(observations, '203.0.113.9', 'spamhaus-zen')?.fields).toMatchObject({ status: 'error', error_code: code, codes: address });
    expect(pair(observations, '203.0.113.9', 'spamhaus-zen')?.fields).not.toHaveProperty('listed');
    expect(observations.find((o) => o.measurement === 'blacklist_target')?.fields).toMatchObject({ listed_count: 0, error_count: 1 });
  });

  it('reports a DBL answer of 127.0.1.255 as DNSBL_WRONG_KIND, and URIBL 127.0.0.1 as DNSBL_REFUSED', async () => {
    const { ctx } = await viaFake((query) => {
      if (query.name === 'dbltest.com.dbl.spamhaus.org') return { answers: [a(query.name, '127.0.1.2')] };
      if (query.name === 'test.uribl.com.multi.uribl.com') return { answers: [a(query.name, '127.0.0.14')] };
      if (query.name.startsWith('invalid.')) return { rcode: 'NXDOMAIN' };
      if (query.name.endsWith('dbl.spamhaus.org')) return { answers: [a(query.name, '127.0.1.255')] };
      return { answers: [a(query.name, '127.0.0.1')] };
    });
    const observations = await blacklist.run(config({ targets: ['example.com'], lists: ['spamhaus-dbl', 'uribl'] }), ctx);
    expect(pair(observations, 'example.com', 'spamhaus-dbl')?.fields).toMatchObject({ status: 'error', error_code: 'DNSBL_WRONG_KIND' });
    expect(pair(observations, 'example.com', 'uribl')?.fields).toMatchObject({ status: 'error', error_code: 'DNSBL_REFUSED' });
  });

  it('reports timeouts and SERVFAIL per pair with their DNS code', async () => {
    const { ctx } = await viaFake(healthy('bl.spamcop.net', (name) => (name.startsWith('9.') ? { drop: true } : { rcode: 'SERVFAIL' })));
    const observations = await blacklist.run(config({ targets: ['203.0.113.9', '203.0.113.8'], lists: ['spamcop'] }), ctx);
    expect(pair(observations, '203.0.113.9', 'spamcop')?.fields).toMatchObject({ status: 'error', error_code: 'DNS_TIMEOUT' });
    expect(pair(observations, '203.0.113.8', 'spamcop')?.fields).toMatchObject({ status: 'error', error_code: 'DNS_SERVFAIL' });
  });

  it('follows a truncated answer over TCP', async () => {
    const { fake, ctx } = await viaFake(healthy('psbl.surriel.com', (name) => ({ truncated: true, answers: [a(name, '127.0.0.2')] })));
    const observations = await blacklist.run(config({ targets: ['203.0.113.9'], lists: ['psbl'], txtReasons: false }), ctx);
    expect(pair(observations, '203.0.113.9', 'psbl')?.fields).toMatchObject({ status: 'listed', codes: '127.0.0.2' });
    expect(fake.queries.filter((query) => query.name === '9.113.0.203.psbl.surriel.com').map((query) => query.transport)).toEqual(['udp', 'tcp']);
  });

  it('marks a list broken when its listed test point is not listed, and reports its pairs as errors without asking', async () => {
    const { fake, ctx } = await viaFake(() => ({ rcode: 'NXDOMAIN' }));
    const observations = await blacklist.run(config({ targets: ['203.0.113.9'], lists: ['spamcop'] }), ctx);
    expect(observations.find((o) => o.measurement === 'blacklist_list')?.fields).toEqual({
      healthy: false,
      test_ms: expect.any(Number),
      reason: 'test point 127.0.0.2 is not listed: the list is not answering (gone, renamed, or refusing us)',
    });
    expect(pair(observations, '203.0.113.9', 'spamcop')?.fields).toMatchObject({
      status: 'error',
      error_code: 'DNSBL_BROKEN',
      error: 'SpamCop failed its test points this run: test point 127.0.0.2 is not listed: the list is not answering (gone, renamed, or refusing us)',
    });
    expect(fake.queries.map((query) => query.name).sort()).toEqual(['1.0.0.127.bl.spamcop.net', '2.0.0.127.bl.spamcop.net']);
  });

  it('marks a list broken when everything is listed (a wildcard, or a resolver rewriting NXDOMAIN)', async () => {
    const { ctx } = await viaFake((query) => ({ answers: [a(query.name, '127.0.0.2')] }));
    const observations = await blacklist.run(config({ targets: ['203.0.113.9'], lists: ['spamcop'] }), ctx);
    expect(observations.find((o) => o.measurement === 'blacklist_list')?.fields.reason).toBe(
      'test point 127.0.0.1 is listed too: something answers every name (a wildcard, or a resolver rewriting answers)',
    );
    expect(pair(observations, '203.0.113.9', 'spamcop')?.fields.error_code).toBe('DNSBL_BROKEN');
  });

  it('marks Spamhaus broken when its test point answers the open-resolver code', async () => {
    const { ctx } = await viaFake((query) => ({ answers: [a(query.name, '127.255.255.254')] }));
    const observations = await blacklist.run(config({ targets: ['203.0.113.9'], lists: ['spamhaus-zen'] }), ctx);
    expect(observations.find((o) => o.measurement === 'blacklist_list')?.fields.reason).toBe(
      'test point 127.0.0.2: Spamhaus ZEN answered 127.255.255.254: query via a public/open resolver or an unregistered source refused (use your own resolver, or DQS)',
    );
  });
});

describe('blacklist probe configuration', () => {
  it.each([
    [{ targets: ['not-an-ip'] }, 'targets.0', '"not-an-ip" is not a target (expected an IPv4 or IPv6 address, a CIDR range (e.g. 203.0.113.0/24) or a domain name)'],
    [{ targets: ['10.0.0.0/16'] }, 'targets.0', '"10.0.0.0/16" has 65,536 addresses, more than the maximum of 4096 (a /20); split it or raise maxRangeSize'],
    [{ targets: ['10.0.0.0/16'], maxRangeSize: 1024 }, 'targets.0', '"10.0.0.0/16" has 65,536 addresses, more than the maximum of 1024 (a /22); split it or raise maxRangeSize'],
    [{ targets: [] }, 'targets', 'expected at least one IP, CIDR range or domain'],
  ])('%j is refused', (extra, path, message) => {
    const result = blacklist.configSchema.safeParse({ id: 'bl', kind: 'blacklist', schedule: '* * * * *', ...extra });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([[path, message]]);
  });

  it('accepts a /16 when maxRangeSize allows it', () => {
    expect(blacklist.configSchema.safeParse({ id: 'bl', kind: 'blacklist', schedule: '* * * * *', targets: ['10.0.0.0/16'], maxRangeSize: 65_536 }).success).toBe(true);
  });
});
