import { describe, expect, it } from 'vitest';
import { DnsClient, type DnsClientOptions } from '../../../src/protocols/dns/client.ts';
import type { DnsOutcome } from '../../../src/protocols/dns/types.ts';
import { a, fakeDns, soa, txt } from '../../helpers/dns-server.ts';
import { onTestFinished } from 'vitest';

function client(options: DnsClientOptions): DnsClient {
  const dns = new DnsClient(options);
  onTestFinished(() => dns.close());
  return dns;
}

// Answers are expected within a generous timeout (the server shares this loaded event loop);
// only tests about silence use short ones.
const patient = { timeoutMs: 5_000, attempts: 2 };
const fast = { timeoutMs: 200, attempts: 2 };
const strip = (outcome: DnsOutcome) => {
  const { ms: _ms, ...rest } = outcome;
  return rest;
};

describe('DNS client against an in-process server that misbehaves', () => {
  it('asks with EDNS0 (1232-byte payload) and a fresh id per query in flight', async () => {
    const fake = await fakeDns((query) => ({ answers: [a(query.name, '127.0.0.2')], delayMs: 100 }));
    // The server shares this process's event loop: give it time to answer a thousand at once.
    const dns = client({ servers: [fake.server], timeoutMs: 5_000, attempts: 1, maxInFlight: 1_000, cacheEntries: 0 });
    const names = Array.from({ length: 1_000 }, (_, i) => `n${i}.example.test`);
    const outcomes = await Promise.all(names.map((name) => dns.query(name, 'A')));
    expect(outcomes.filter((outcome) => outcome.status !== 'answer')).toEqual([]);
    expect(outcomes.map((outcome) => outcome.status === 'answer' && outcome.records[0]!.name)).toEqual(names);
    expect(fake.queries[0]!.edns).toBe(1232);
    expect(fake.maxOutstanding).toBeGreaterThan(500);
    expect(fake.idCollisions).toBe(0);
  });

  it('times out with DNS_TIMEOUT after every attempt, and fails over to the next server', async () => {
    const silent = await fakeDns(() => ({ drop: true }));
    const answering = await fakeDns((query) => ({ answers: [a(query.name, '127.0.0.2')] }));
    const alone = client({ servers: [silent.server], ...fast });
    expect(strip(await alone.query('x.example.test', 'A'))).toEqual({
      name: 'x.example.test',
      type: 'A',
      server: `127.0.0.1:${silent.server.port}`,
      fromCache: false,
      status: 'error',
      code: 'DNS_TIMEOUT',
      message: `no answer from 127.0.0.1:${silent.server.port} within 200 ms`,
    });
    // Two attempts, each its own id (each also sent again once within the attempt).
    expect(new Set(silent.queries.map((query) => query.id)).size).toBe(2);

    // A query that starts at the silent server waits out its timeout, then the other answers.
    const pair = client({ servers: [silent.server, answering.server], timeoutMs: 1_000, attempts: 2 });
    for (let i = 0; i < 4; i++) expect(await pair.query(`y${i}.example.test`, 'A')).toMatchObject({ status: 'answer' });
  });

  it.each([
    ['SERVFAIL', 'DNS_SERVFAIL', 'answered SERVFAIL'],
    ['REFUSED', 'DNS_REFUSED', 'refused the query'],
    ['NOTIMP', 'DNS_RCODE', 'answered NOTIMP'],
  ] as const)('reports %s as %s, never as an answer', async (code, expected, text) => {
    const fake = await fakeDns(() => ({ rcode: code }));
    const outcome = await client({ servers: [fake.server], ...patient }).query('x.example.test', 'A');
    expect(outcome).toMatchObject({ status: 'error', code: expected, message: `127.0.0.1:${fake.server.port} ${text}` });
  });

  it('reports garbage with our id as DNS_MALFORMED', async () => {
    const fake = await fakeDns((query) => {
      const raw = Buffer.alloc(20, 0xff);
      raw.writeUInt16BE(query.id, 0);
      return { raw };
    });
    // Long enough for the garbage to arrive before the deadline, however loaded the machine.
    expect(await client({ servers: [fake.server], timeoutMs: 1_000, attempts: 1 }).query('x.example.test', 'A')).toMatchObject({ status: 'error', code: 'DNS_MALFORMED' });
  });

  it('ignores an answer with our id to another question, and says so: DNS_ID_MISMATCH', async () => {
    const fake = await fakeDns((query) => ({ question: { name: 'other.example.test', type: query.type }, answers: [a('other.example.test', '127.0.0.2')] }));
    expect(await client({ servers: [fake.server], timeoutMs: 1_000, attempts: 1 }).query('x.example.test', 'A')).toMatchObject({
      status: 'error',
      code: 'DNS_ID_MISMATCH',
      message: 'answers arrived with our id but for another question (x.example.test A)',
    });
  });

  it('takes no answer from another source port than the server’s', async () => {
    const fake = await fakeDns((query) => ({ answers: [a(query.name, '127.0.0.2')], fromOtherPort: true }));
    const dns = client({ servers: [fake.server], timeoutMs: 1_000, attempts: 1 });
    // The socket is connected to the server: the kernel drops the other port's packet before we see it.
    expect(await dns.query('x.example.test', 'A')).toMatchObject({ status: 'error', code: 'DNS_TIMEOUT' });
    expect(dns.strayAnswers).toBe(0);
  });

  it('counts an answer that arrives after its deadline as stray, and takes nothing from it', async () => {
    const fake = await fakeDns((query) => ({ answers: [a(query.name, '127.0.0.2')], delayMs: 400 }));
    const dns = client({ servers: [fake.server], timeoutMs: 100, attempts: 1, resend: false });
    expect(await dns.query('late.example.test', 'A')).toMatchObject({ status: 'error', code: 'DNS_TIMEOUT' });
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(dns.strayAnswers).toBe(1);
  });

  it('sends a lost query again within its attempt, with the same id, instead of waiting out the timeout', async () => {
    const seen = new Set<number>();
    // Every first copy is lost; the second is answered.
    const fake = await fakeDns((query) => {
      if (!seen.has(query.id)) {
        seen.add(query.id);
        return { drop: true };
      }
      return { answers: [a(query.name, '127.0.0.2')] };
    });
    // One attempt of 5 s: without a resend within it, every query would time out.
    const dns = client({ servers: [fake.server], timeoutMs: 5_000, attempts: 1 });
    const outcomes = await Promise.all(['a', 'b', 'c'].map((label) => dns.query(`${label}.lossy.example.test`, 'A')));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['answer', 'answer', 'answer']);
    expect(fake.resends).toBe(3);
    expect(dns.resent).toBe(3);
    expect(new Set(fake.queries.map((query) => query.id)).size).toBe(3);
  });

  it('asks again over TCP when the UDP answer is truncated', async () => {
    const fake = await fakeDns((query) => (query.transport === 'udp' ? { truncated: true } : { answers: [txt(query.name, 'the full answer')] }));
    const outcome = await client({ servers: [fake.server], ...patient }).query('big.example.test', 'TXT');
    expect(outcome).toMatchObject({ status: 'answer', via: 'tcp', records: [{ data: ['the full answer'] }] });
    expect(fake.queries.map((query) => query.transport)).toEqual(['udp', 'tcp']);
  });

  it('retries without EDNS0 when a server answers FORMERR to the OPT record', async () => {
    const fake = await fakeDns((query) => (query.edns ? { rcode: 'FORMERR' } : { answers: [a(query.name, '127.0.0.2')] }));
    expect(await client({ servers: [fake.server], ...patient }).query('old.example.test', 'A')).toMatchObject({ status: 'answer' });
    expect(fake.queries.map((query) => query.edns)).toEqual([1232, undefined]);
  });

  it('sends identical concurrent queries once, and keeps at most maxInFlight outstanding', async () => {
    const fake = await fakeDns((query) => ({ answers: [a(query.name, '127.0.0.2')], delayMs: 30 }));
    const dns = client({ servers: [fake.server], ...patient, maxInFlight: 5, cacheEntries: 0 });
    await Promise.all(Array.from({ length: 10 }, () => dns.query('same.example.test', 'A')));
    expect(fake.queries).toHaveLength(1);
    await Promise.all(Array.from({ length: 40 }, (_, i) => dns.query(`d${i}.example.test`, 'A')));
    expect(fake.maxOutstanding).toBe(5);
  });

  it('caches answers for their TTL and negative answers for the SOA minimum; never errors', async () => {
    let now = 1_000_000;
    const fake = await fakeDns((query) =>
      query.name.startsWith('gone')
        ? { rcode: 'NXDOMAIN', authorities: [soa('example.test', 30, 300)] }
        : query.name.startsWith('bad')
          ? { rcode: 'SERVFAIL' }
          : { answers: [a(query.name, '127.0.0.2', 10)] },
    );
    const dns = client({ servers: [fake.server], ...patient, attempts: 1, now: () => now });
    await dns.query('here.example.test', 'A');
    expect(await dns.query('here.example.test', 'A')).toMatchObject({ status: 'answer', fromCache: true, ttl: 10 });
    now += 4_000;
    expect(await dns.query('here.example.test', 'A')).toMatchObject({ fromCache: true, ttl: 6 });
    now += 7_000;
    expect(await dns.query('here.example.test', 'A')).toMatchObject({ fromCache: false });
    expect(await dns.query('gone.example.test', 'A')).toMatchObject({ status: 'nxdomain', ttl: 30, fromCache: false });
    expect(await dns.query('gone.example.test', 'A')).toMatchObject({ status: 'nxdomain', fromCache: true });
    await dns.query('bad.example.test', 'A');
    await dns.query('bad.example.test', 'A');
    expect(fake.queries.map((query) => query.name)).toEqual(['here.example.test', 'here.example.test', 'gone.example.test', 'bad.example.test', 'bad.example.test']);
  });

  it('keeps to its rate limit: 30 queries at 10/s cannot finish in under 2 s', async () => {
    const fake = await fakeDns((query) => ({ answers: [a(query.name, '127.0.0.2')] }));
    const dns = client({ servers: [fake.server], ...patient, rateLimit: 10, cacheEntries: 0 });
    const started = performance.now();
    await Promise.all(Array.from({ length: 30 }, (_, i) => dns.query(`r${i}.example.test`, 'A')));
    // A burst of one second's worth (10), then 10 a second: the remaining 20 take at least 2 s.
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_900);
    expect(fake.queries).toHaveLength(30);
  });

  it('abandons a query when its caller aborts, as DNS_ABORTED', async () => {
    const fake = await fakeDns(() => ({ drop: true }));
    const controller = new AbortController();
    const pending = client({ servers: [fake.server], timeoutMs: 10_000 }).query('x.example.test', 'A', { signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    expect(await pending).toMatchObject({ status: 'error', code: 'DNS_ABORTED' });
  });

  it('refuses a name that is not a DNS name, and sends nothing', async () => {
    const fake = await fakeDns((query) => ({ answers: [a(query.name, '127.0.0.2')] }));
    const dns = client({ servers: [fake.server], ...patient });
    for (const name of ['', 'a..b', `${'x'.repeat(64)}.test`, 'tab\tname.test', 'new\nline.test', 'back\\slash.test']) {
      expect(await dns.query(name, 'A')).toMatchObject({ status: 'error', code: 'DNS_MALFORMED' });
    }
    expect(fake.queries).toEqual([]);
  });

  it('asks for a name with a space in a label (an SPF macro can expand to one)', async () => {
    const fake = await fakeDns((query) => ({ answers: [a(query.name, '127.0.0.2')] }));
    const dns = client({ servers: [fake.server], ...patient });
    expect(await dns.query('macro%percent  space.test', 'A')).toMatchObject({ status: 'answer', records: [{ name: 'macro%percent  space.test', data: '127.0.0.2' }] });
    expect(fake.queries.map((query) => query.name)).toEqual(['macro%percent  space.test']);
  });
});
