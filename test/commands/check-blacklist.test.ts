import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { labListsConfig } from '../helpers/demo.ts';
import { cli } from '../helpers/cli.ts';
import { fakeDns } from '../helpers/dns-server.ts';
import { tempDir } from '../helpers/temp.ts';

/** A directory with a mailscope.yaml that knows the lab's lists. */
function labConfig(extra: Record<string, unknown> = {}): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'mailscope.yaml'), stringify({ blocklists: { lists: labListsConfig }, ...extra }));
  return dir;
}

describe('mailscope check blacklist', () => {
  it('exits 3 when nothing is listed but some lookups failed: unknown is not clean', async () => {
    const silent = await fakeDns((query) =>
      query.name.startsWith('2.0.0.127.') ? { answers: [{ type: 'A', name: query.name, ttl: 60, data: '127.0.0.2' }] } : query.name.startsWith('1.0.0.127.') ? { rcode: 'NXDOMAIN' } : { drop: true },
    );
    const dir = labConfig({ dns: { timeout: '300ms', attempts: 1 } });
    const result = await cli(['check', 'blacklist', '203.0.113.9', '--list', 'lab-zen', '--resolver', `127.0.0.1:${silent.server.port}`], { cwd: dir });
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(/^203\.0\.113\.9\s+lab-zen\s+ERROR\s+DNS_TIMEOUT: no answer from 127\.0\.0\.1:\d+ within 300 ms$/m);
  });

  it('refuses bad input with every problem, exit 2, and sends no query', async () => {
    const fake = await fakeDns(() => ({ rcode: 'NXDOMAIN' }));
    const result = await cli(
      ['check', 'blacklist', '203.0.113.300', '10.0.0.0/8', 'ok.example.com', '--list', 'spamhause-zen', '--list', 'spamhaus-zen-dqs', '--resolver', `127.0.0.1:${fake.server.port}`],
      {
        cwd: tempDir(),
      },
    );
    expect(result.code).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      '"203.0.113.300" is not a target (expected an IPv4 or IPv6 address, a CIDR range (e.g. 203.0.113.0/24) or a domain name)',
      '"10.0.0.0/8" has 16,777,216 addresses, more than the maximum of 4096 (a /20); split it or raise maxRangeSize',
      'unknown list "spamhause-zen" (expected one of: barracuda, mailspike-bl, mailspike-z, psbl, spamcop, spamhaus-dbl, spamhaus-pbl, spamhaus-sbl, spamhaus-xbl, spamhaus-zen, surbl, uceprotect-1, uceprotect-2, uceprotect-3, uribl; or a DNSBL zone such as bl.example.net)',
      'list "spamhaus-zen-dqs" needs blocklists.spamhausDqsKey in the configuration (--config FILE)',
    ]);
    expect(fake.queries).toEqual([]);
  });

  it('refuses a bad --resolver and a bad --max-range, exit 2', async () => {
    expect(await cli(['check', 'blacklist', '203.0.113.9', '--resolver', 'dns.example.com'], { cwd: tempDir() })).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('"dns.example.com" is not a DNS server address'),
    });
    expect(await cli(['check', 'blacklist', '203.0.113.9', '--max-range', '0'], { cwd: tempDir() })).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('"0" is not a number of addresses from 1 to 65536'),
    });
  });
});
