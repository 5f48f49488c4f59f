import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';
import { fakeDns } from '../helpers/dns-server.ts';
import { tempDir } from '../helpers/temp.ts';

describe('mailscope check dns', () => {
  it('exits 3 when nothing failed but DNS could not answer: unknown is not clean', async () => {
    const broken = await fakeDns(() => ({ rcode: 'SERVFAIL' }));
    const result = await cli(['check', 'dns', 'example.com', '--resolver', `127.0.0.1:${broken.server.port}`, '--json'], { cwd: tempDir() });
    expect(result.code).toBe(3);
    const report = JSON.parse(result.stdout);
    expect(report.counts).toEqual({ pass: 0, warn: 0, fail: 0, error: 7 });
    expect(report.checks.every((check: { status: string; record?: string }) => check.status === 'error' && check.record === undefined)).toBe(true);
  });

  it('refuses an invalid domain, IP or selector with every problem, exit 2, and sends no query', async () => {
    const fake = await fakeDns(() => ({ rcode: 'NXDOMAIN' }));
    const result = await cli(
      ['check', 'dns', 'exa mple.com', '--ip', '203.0.113.0/24', '--ip', '2001:db8::zz', '--selector', '-bad-', '--skip', 'spf-ip', '--resolver', `127.0.0.1:${fake.server.port}`],
      {
        cwd: tempDir(),
      },
    );
    expect(result.code).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      '"exa mple.com" is not a domain name (expected something like example.com)',
      '"203.0.113.0/24" is not an IP address (one IPv4 or IPv6 address; ranges are not checked here)',
      '"2001:db8::zz" is not an IP address (one IPv4 or IPv6 address; ranges are not checked here)',
      '"-bad-" is not a DKIM selector (letters, digits, "-", "_", dot-separated labels)',
      'unknown check "spf-ip" for --skip (expected one of: spf, spf_ip, dkim, dmarc, mx, address, ptr, mta_sts, tls_rpt, bimi)',
    ]);
    expect(result.stdout).toBe('');
    expect(fake.queries).toEqual([]);
  });

  it.each([
    ['192.0.2.1', '"192.0.2.1" is an IP address, not a domain: give the sending domain, and the IP with --ip'],
    ['[2001:db8::25]', '"[2001:db8::25]" is an IP address, not a domain: give the sending domain, and the IP with --ip'],
    ['2001:db8::25', '"2001:db8::25" is an IP address, not a domain: give the sending domain, and the IP with --ip'],
    ['127.1', '"127.1" is an IP address, not a domain: give the sending domain, and the IP with --ip'],
    ['exa\u001b[2Jmple.com', '"exa\\u001b[2Jmple.com" is not a domain name: it contains a control character'],
    [`${'a'.repeat(64)}.example.com`, `"${'a'.repeat(64)}.example.com" is not a domain name: a label of 64 characters, more than the 63 a DNS label may have`],
    [`${`${'a'.repeat(60)}.`.repeat(5)}com`, `"${'a'.repeat(60)}.${'a'.repeat(16)}..." is not a domain name: 308 characters, more than the 253 a domain name may have`],
    ['example.123', '"example.123" is not a domain name (expected something like example.com)'],
  ])('refuses %j as the domain, exit 2, and sends no query', async (domain, message) => {
    const fake = await fakeDns(() => ({ rcode: 'NXDOMAIN' }));
    const result = await cli(['check', 'dns', domain, '--resolver', `127.0.0.1:${fake.server.port}`], { cwd: tempDir() });
    expect(result).toEqual({ code: 2, stdout: '', stderr: `${message}\n` });
    expect(fake.queries).toEqual([]);
  });

  it('refuses an unreadable --ca-file before any query', async () => {
    const fake = await fakeDns(() => ({ rcode: 'NXDOMAIN' }));
    const result = await cli(['check', 'dns', 'example.com', '--ca-file', '/nonexistent/ca.pem', '--resolver', `127.0.0.1:${fake.server.port}`], { cwd: tempDir() });
    expect([result.code, result.stderr.trim()]).toEqual([2, 'cannot read --ca-file "/nonexistent/ca.pem": ENOENT']);
    expect(fake.queries).toEqual([]);
  });

  it('reads a --ca-file no further than 1 MiB (a device or a wrong file), before any query', async () => {
    const fake = await fakeDns(() => ({ rcode: 'NXDOMAIN' }));
    const result = await cli(['check', 'dns', 'example.com', '--ca-file', '/dev/zero', '--resolver', `127.0.0.1:${fake.server.port}`], { cwd: tempDir() });
    expect(result).toEqual({ code: 2, stdout: '', stderr: '--ca-file "/dev/zero" is more than 1 MiB: not a PEM file of CA certificates\n' });
    expect(fake.queries).toEqual([]);
  });
});
