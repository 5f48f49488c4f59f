/** `mailscope check blacklist` against the lab's rbldnsd, through the lab's resolver. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { labListsConfig } from '../lab/dnsbl.ts';
import { cli } from '../helpers/lab.ts';
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
    expect(lines[1]).toMatch(/^127\.0\.0\.11\s+lab-zen\s+LISTED\s+127\.0\.0\.2,127\.0\.0\.4 lab SBL: spam source; lab XBL: exploited host {2}".*" {2}delist: https:\/\/dnsbl\.test\/delist$/);
    expect(lines[2]).toMatch(/^127\.0\.0\.10\s+lab-zen\s+not listed$/);
    expect(lines[3]).toMatch(/^phish\.test\s+lab-dbl\s+LISTED\s+127\.0\.1\.4 lab DBL: phishing domain/);
    expect(lines.at(-1)).toBe('3 checks: 2 listed, 0 errors, 1 not listed');
  });

  it('exits 0 when nothing is listed, and prints JSON lines with --json', async () => {
    const result = await cli(['check', 'blacklist', '127.0.0.10', 'sender.test', '--list', 'lab-zen', '--list', 'lab-dbl', '--json'], { cwd: labConfig() });
    expect(result.code).toBe(0);
    expect(
      result.stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual([
      { target: '127.0.0.10', target_kind: 'ip', list: 'lab-zen', status: 'not_listed', listed: false, query_ms: expect.any(Number) },
      { target: 'sender.test', target_kind: 'domain', list: 'lab-dbl', status: 'not_listed', listed: false, query_ms: expect.any(Number) },
    ]);
  });

  it('takes a DNSBL zone that is not in the catalog', async () => {
    const result = await cli(['check', 'blacklist', '127.0.0.11', '--list', 'zen.dnsbl.test', '--json'], { cwd: tempDir() });
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ target: '127.0.0.11', list: 'zen.dnsbl.test', status: 'listed', codes: '127.0.0.2,127.0.0.4' });
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
