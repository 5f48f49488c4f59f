import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DnsClient, type DnsClientOptions } from '../../../src/protocols/dns/client.ts';
import { lab } from '../../lab/plan.ts';
import { onTestFinished } from 'vitest';

function client(options: DnsClientOptions): DnsClient {
  const dns = new DnsClient(options);
  onTestFinished(() => dns.close());
  return dns;
}

describe('DNS client against the lab (unbound, NSD, rbldnsd)', () => {
  const viaResolver = () => client({ servers: [lab.resolver] });

  it('answers A, MX and multi-string TXT records', async () => {
    const dns = viaResolver();
    expect(await dns.query('mx.gmail.test', 'A')).toMatchObject({ status: 'answer', via: 'udp', records: [{ name: 'mx.gmail.test', type: 'A', data: '127.0.0.21' }] });
    expect(await dns.query('Sender.Test.', 'MX')).toMatchObject({ status: 'answer', records: [{ data: { preference: 10, exchange: 'mx.sender.test' } }] });
    const dkim = await dns.query('lab2026._domainkey.sender.test', 'TXT');
    expect(dkim.status === 'answer' && (dkim.records[0]!.data as string[]).length).toBeGreaterThan(1);
  });

  it('tells NXDOMAIN from NODATA, with the negative TTL from the SOA', async () => {
    const dns = viaResolver();
    // From NSD itself: the resolver answers a new name with the zone's SOA from its cache, where the TTL counts down
    // (other tests ask for missing names in sender.test too).
    expect(await client({ servers: [lab.nsd] }).query(`nothing-${randomUUID()}.sender.test`, 'A')).toMatchObject({ status: 'nxdomain', ttl: 5 });
    const fresh = await dns.query(`nothing-${randomUUID()}.sender.test`, 'A');
    expect(fresh.status).toBe('nxdomain');
    // Counting down in the resolver's cache: from the SOA's 5 s, possibly to 0.
    expect(fresh.status === 'nxdomain' && fresh.ttl).toBeGreaterThanOrEqual(0);
    expect(fresh.status === 'nxdomain' && fresh.ttl).toBeLessThanOrEqual(5);
    const nodata = await dns.query('sender.test', 'PTR');
    expect(nodata.status).toBe('nodata');
    expect(nodata.status === 'nodata' && nodata.ttl).toBeGreaterThanOrEqual(0);
    expect(nodata.status === 'nodata' && nodata.ttl).toBeLessThanOrEqual(5);
  });

  it('reads several codes of one DNSBL answer straight from rbldnsd', async () => {
    const dns = client({ servers: [lab.rbldnsd] });
    const outcome = await dns.query('11.0.0.127.zen.dnsbl.test', 'A');
    expect(outcome.status === 'answer' && outcome.records.map((record) => record.data).sort()).toEqual(['127.0.0.2', '127.0.0.4']);
    expect(await dns.query('1.0.0.127.zen.dnsbl.test', 'A')).toMatchObject({ status: 'nxdomain', ttl: 0 });
  });
});
