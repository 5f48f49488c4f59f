import { describe, expect, it } from 'vitest';
import { parseTarget, queryPrefix } from '../../src/probes/dnsbl-targets.ts';

describe('blocklist targets', () => {
  it.each([
    ['203.0.113.7', [{ value: '203.0.113.7', kind: 'ip', family: 4 }]],
    ['2001:DB8:0:0::25', [{ value: '2001:db8::25', kind: 'ip', family: 6 }]],
    ['::ffff:203.0.113.7', [{ value: '203.0.113.7', kind: 'ip', family: 4 }]],
    ['News.Example.COM.', [{ value: 'news.example.com', kind: 'domain' }]],
    ['sender.test', [{ value: 'sender.test', kind: 'domain' }]],
  ])('%s', (input, targets) => {
    expect(parseTarget(input)).toEqual({ ok: true, targets });
  });

  it('expands a range from its network address, whatever host bits were written', () => {
    const parsed = parseTarget('198.51.100.5/30');
    expect(parsed.ok && parsed.targets.map((target) => [target.value, target.range])).toEqual([
      ['198.51.100.4', '198.51.100.4/30'],
      ['198.51.100.5', '198.51.100.4/30'],
      ['198.51.100.6', '198.51.100.4/30'],
      ['198.51.100.7', '198.51.100.4/30'],
    ]);
    const v6 = parseTarget('2001:db8::/126');
    expect(v6.ok && v6.targets.map((target) => target.value)).toEqual(['2001:db8::', '2001:db8::1', '2001:db8::2', '2001:db8::3']);
    const across = parseTarget('10.0.0.254/23', 512);
    expect(across.ok && [across.targets.length, across.targets[255]!.value, across.targets[256]!.value]).toEqual([512, '10.0.0.255', '10.0.1.0']);
  });

  it.each([
    ['256.1.1.1', '"256.1.1.1" is not a target (expected an IPv4 or IPv6 address, a CIDR range (e.g. 203.0.113.0/24) or a domain name)'],
    ['127.1', '"127.1" is not an address in dotted-quad form (expected an IPv4 or IPv6 address, a CIDR range (e.g. 203.0.113.0/24) or a domain name)'],
    ['203.0.113.0/33', '"203.0.113.0/33" is not a CIDR range (expected an IPv4 or IPv6 address, a CIDR range (e.g. 203.0.113.0/24) or a domain name)'],
    ['203.0.113.0/19', '"203.0.113.0/19" has 8,192 addresses, more than the maximum of 4096 (a /20); split it or raise maxRangeSize'],
    ['2001:db8::/64', '"2001:db8::/64" has 18,446,744,073,709,552,000 addresses, more than the maximum of 4096 (a /116); split it or raise maxRangeSize'],
    ['localhost', '"localhost" is not a target (expected an IPv4 or IPv6 address, a CIDR range (e.g. 203.0.113.0/24) or a domain name)'],
    ['bad_domain..com', '"bad_domain..com" is not a target (expected an IPv4 or IPv6 address, a CIDR range (e.g. 203.0.113.0/24) or a domain name)'],
    ['-lead.example.com', '"-lead.example.com" is not a target (expected an IPv4 or IPv6 address, a CIDR range (e.g. 203.0.113.0/24) or a domain name)'],
  ])('refuses %s', (input, problem) => {
    expect(parseTarget(input)).toEqual({ ok: false, problem });
  });

  it('builds RFC 5782 query names: reversed octets, 32 reversed nibbles, the domain', () => {
    const only = (input: string) => {
      const parsed = parseTarget(input);
      if (!parsed.ok) throw new Error(parsed.problem);
      return queryPrefix(parsed.targets[0]!);
    };
    expect(only('203.0.113.7')).toBe('7.113.0.203');
    expect(only('2001:db8::25')).toBe('5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2');
    expect(only('news.example.com')).toBe('news.example.com');
  });
});
