/** `mailscope check dns` on the lab's domains, through the lab's resolver. */
import { describe, expect, it } from 'vitest';
import { labKeys } from '../lab/keys.ts';
import { sender } from '../lab/plan.ts';
import { cli } from '../helpers/lab.ts';
import { tempDir } from '../helpers/temp.ts';

describe('mailscope check dns', () => {
  it('prints a readable report and exits 0 when nothing fails', async () => {
    const result = await cli(['check', 'dns', sender.domain, '--ip', '127.0.0.10', '--selector', 'lab2026', '--ca-file', labKeys().caCert], { cwd: tempDir() });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('sender.test');
    expect(lines.slice(1, -2).map((line) => line.trim().split(/\s+/).slice(0, 2).join(' '))).toEqual([
      'PASS spf',
      'PASS spf_ip',
      'PASS dkim',
      'PASS dmarc',
      'PASS mx',
      'PASS address',
      'PASS ptr',
      'PASS mta_sts',
      'PASS tls_rpt',
      'PASS bimi',
    ]);
    expect(lines[1]).toMatch(/^ {2}PASS {3}spf {2,}One SPF record, 2 DNS lookups of 10, ending "-all"\.$/);
    expect(lines.at(-1)).toBe('10 checks: 10 pass, 0 warn, 0 fail, 0 error');
  });

  it('exits 1 when a check fails, showing the records seen; --json gives every check', async () => {
    const text = await cli(['check', 'dns', sender.domain, '--ip', '127.0.0.13', '--skip', 'mta_sts'], { cwd: tempDir() });
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^ {2}FAIL {3}ptr 127\.0\.0\.13 {2,}The reverse DNS of 127\.0\.0\.13 does not confirm/m);
    expect(text.stdout).toMatch(/^ +seen: 13\.0\.0\.127\.in-addr\.arpa PTR stray\.sender\.test$/m);
    expect(text.stdout).not.toMatch(/mta_sts/);

    const json = await cli(['check', 'dns', 'dkim-weak.test', '--selector', 'lab2026', '--json'], { cwd: tempDir() });
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout);
    expect(report.domain).toBe('dkim-weak.test');
    expect(report.counts).toEqual({ pass: 3, warn: 4, fail: 1, error: 0 });
    expect(report.checks.find((check: { check: string }) => check.check === 'dkim')).toMatchObject({
      selector: 'lab2026',
      status: 'warn',
      findings: [{ code: 'DKIM_SHORT_KEY', level: 'warn' }],
      details: { dkim_key_bits: 1024 },
      digest: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
    expect(report.checks.find((check: { check: string }) => check.check === 'dmarc')).toMatchObject({ status: 'fail', findings: [{ code: 'DMARC_MISSING' }] });
  });
});
