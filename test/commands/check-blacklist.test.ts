import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { labListsConfig } from '../lab/dnsbl.ts';
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
  it('prints a table and exits 1 when something is listed', async () => {
    const result = await cli(['check', 'blacklist', '127.0.0.11', '127.0.0.10', 'phish.test', '--list', 'lab-zen', '--list', 'lab-dbl'], { cwd: labConfig() });
    expect(result.code).toBe(1);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TARGET\s+LIST\s+STATUS\s+DETAIL$/);
    expect(lines[1]).toMatch(/^127\.0\.0\.11\s+lab-zen\s+LISTED\s+127\.0\.0\.2,127\.0\.0\.4 lab SBL: spam source; lab XBL: exploited host  ".*"  delist: https:\/\/dnsbl\.test\/delist$/);
    expect(lines[2]).toMatch(/^127\.0\.0\.10\s+lab-zen\s+not listed$/);
    expect(lines[3]).toMatch(/^phish\.test\s+lab-dbl\s+LISTED\s+127\.0\.1\.4 lab DBL: phishing domain/);
    expect(lines.at(-1)).toBe('3 checks: 2 listed, 0 errors, 1 not listed');
  });

  it('exits 0 when nothing is listed, and prints JSON lines with --json', async () => {
    const result = await cli(['check', 'blacklist', '127.0.0.10', 'sender.test', '--list', 'lab-zen', '--list', 'lab-dbl', '--json'], { cwd: labConfig() });
    expect(result.code).toBe(0);
    expect(result.stdout.trimEnd().split('\n').map((line) => JSON.parse(line))).toEqual([
      { target: '127.0.0.10', target_kind: 'ip', list: 'lab-zen', status: 'not_listed', listed: false, query_ms: expect.any(Number) },
      { target: 'sender.test', target_kind: 'domain', list: 'lab-dbl', status: 'not_listed', listed: false, query_ms: expect.any(Number) },
    ]);
  });

  it('takes a DNSBL zone that is not in the catalog', async () => {
    const result = await cli(['check', 'blacklist', '127.0.0.11', '--list', 'zen.dnsbl.test', '--json'], { cwd: tempDir() });
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ target: '127.0.0.11', list: 'zen.dnsbl.test', status: 'listed', codes: '127.0.0.2,127.0.0.4' });
  });

  it('exits 3 when nothing is listed but some lookups failed: unknown is not clean', async () => {
    const silent = await fakeDns((query) => (query.name.startsWith('2.0.0.127.') ? { answers: [{ type: 'A', name: query.name, ttl: 60, data: '127.0.0.2' }] } : query.name.startsWith('1.0.0.127.') ? { rcode: 'NXDOMAIN' } : { drop: true }));
    const dir = labConfig({ dns: { timeout: '300ms', attempts: 1 } });
    const result = await cli(['check', 'blacklist', '203.0.113.9', '--list', 'lab-zen', '--resolver', `127.0.0.1:${silent.server.port}`], { cwd: dir });
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(/^203\.0\.113\.9\s+lab-zen\s+ERROR\s+DNS_TIMEOUT: no answer from 127\.0\.0\.1:\d+ within 300 ms$/m);
  });

  it('refuses bad input with every problem, exit 2, and sends no query', async () => {
    const fake = await fakeDns(() => ({ rcode: 'NXDOMAIN' }));
    const result = await cli(['check', 'blacklist', '203.0.113.300', '10.0.0.0/8', 'ok.example.com', '--list', 'spamhause-zen', '--list', 'spamhaus-zen-dqs', '--resolver', `127.0.0.1:${fake.server.port}`], {
      cwd: tempDir(),
    });
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

  it('uses the lists of the config named by MAILSCOPE_CONFIG, and says when its config is wrong', async () => {
    const dir = labConfig();
    const result = await cli(['check', 'blacklist', '127.0.0.11', '--list', 'lab-zen', '--json'], { cwd: tempDir(), env: { MAILSCOPE_CONFIG: join(dir, 'mailscope.yaml') } });
    expect(result.code).toBe(1);
    const broken = tempDir();
    writeFileSync(join(broken, 'mailscope.yaml'), 'blocklists: { lists: [{ id: x, zone: "not a zone", kind: ip }] }\n');
    const bad = await cli(['check', 'blacklist', '127.0.0.11'], { cwd: broken });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('mailscope.yaml: blocklists.lists[0].zone: expected a DNS zone name (e.g. bl.example.net)');
  });
});
