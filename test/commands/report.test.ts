/**
 * `mailscope report parse` prints what each file says (a JSON line per report
 * with --json) and records nothing; `report import` records them as a source
 * would, once. Exit 0 every file read, 1 some were not, 2 bad usage.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Database } from '../../src/store/database.ts';
import { listReportQuarantine, listReports } from '../../src/store/reports.ts';
import { cli } from '../helpers/cli.ts';
import { aggregateXml, arfMail, dsnMail, gzipped, tlsReportJson } from '../helpers/reports.ts';
import { tempDir } from '../helpers/temp.ts';

function files() {
  const dir = tempDir();
  const write = (name: string, content: string | Buffer) => {
    writeFileSync(join(dir, name), content);
    return name;
  };
  return {
    dir,
    aggregate: write(
      'report.zip',
      gzipped(
        aggregateXml({
          reportId: 'cli-1',
          rows: [
            { ip: '192.0.2.1', count: 3 },
            { ip: '192.0.2.2', count: 4, dkim: 'fail', spf: 'fail' },
          ],
        }),
      ),
    ),
    tls: write('tls.json', tlsReportJson({ failures: [{ type: 'certificate-expired', mx: 'mx.sender.test', count: 2 }] })),
    dsn: write('bounce.eml', dsnMail({ recipient: 'final@gmail.test', original: 'seed@gmail.test' })),
    arf: write('complaint.eml', arfMail({})),
    bomb: write('bomb.xml', '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><feedback>&lol2;</feedback>'),
  };
}

describe('mailscope report parse', () => {
  it('prints a JSON line per report, with each kind its fields, and the reason for a file refused', async () => {
    const f = files();
    const result = await cli(['report', 'parse', '--json', f.aggregate, f.tls, f.dsn, f.arf, f.bomb, 'missing.xml'], { cwd: f.dir });
    expect(result.code).toBe(1);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toEqual([
      {
        file: 'report.zip',
        kind: 'dmarc-aggregate',
        org: 'google.com',
        reportId: 'cli-1',
        domain: 'sender.test',
        begin: '2026-12-05T00:00:00.000Z',
        end: '2026-12-05T23:59:59.000Z',
        rows: 2,
        messages: 7,
      },
      expect.objectContaining({
        file: 'tls.json',
        kind: 'tls-rpt',
        org: 'Google Inc.',
        successes: 100,
        failures: 2,
        policies: [{ policyType: 'sts', policyDomain: 'sender.test', successes: 100, failures: 2 }],
      }),
      {
        file: 'bounce.eml',
        kind: 'dsn',
        reportingMta: expect.stringContaining('mx.lab.test'),
        recipients: [{ original: 'seed@gmail.test', final: 'final@gmail.test', action: 'failed', status: '5.1.1', diagnostic: expect.stringContaining('550 5.1.1') }],
      },
      expect.objectContaining({
        file: 'complaint.eml',
        kind: 'arf',
        feedbackType: 'abuse',
        sourceIp: '127.0.0.10',
        originalMailFrom: 'bounces@sender.test',
        originalRcptTo: 'someone@yahoo.test',
        reportedDomain: 'sender.test',
      }),
      { file: 'bomb.xml', kind: 'unknown', code: 'doctype', error: expect.stringMatching(/DOCTYPE/i) },
      { file: 'missing.xml', kind: 'unknown', error: 'cannot read missing.xml: ENOENT' },
    ]);
  });

  it('exits 0 when every file was read, prints a line per report without --json, and records nothing', async () => {
    const f = files();
    const result = await cli(['report', 'parse', f.aggregate, f.dsn], { cwd: f.dir });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^report\.zip: dmarc-aggregate org=google\.com reportId=cli-1 .*messages=7\nbounce\.eml: dsn /);
    expect(result.stderr).toBe('');
  });

  it('exits 2 without a file', async () => {
    const result = await cli(['report', 'parse'], { cwd: tempDir() });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/missing required argument 'files'/);
  });
});

describe('mailscope report import', () => {
  it('records each report once and quarantines what cannot be read', async () => {
    const f = files();
    writeFileSync(join(f.dir, 'mailscope.yaml'), 'dataDir: ./data\nreports: { nameSources: false }\n');
    const first = await cli(['report', 'import', '--json', f.aggregate, f.tls, f.bomb], { cwd: f.dir });
    expect(first.code).toBe(1);
    expect(
      first.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line))
        .map((line) => [line.file, line.status, line.kind ?? line.code]),
    ).toEqual([
      ['report.zip', 'recorded', 'dmarc-aggregate'],
      ['tls.json', 'recorded', 'tls-rpt'],
      ['bomb.xml', 'quarantined', 'doctype'],
    ]);
    const again = await cli(['report', 'import', f.aggregate], { cwd: f.dir });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^report\.zip: duplicate dmarc-aggregate google\.com cli-1 \(report \d+\)\n$/);
    const db = Database.open(join(f.dir, 'data'));
    try {
      expect(listReports(db, { since: 0, until: Date.now() + 1, limit: 10 }).map((report) => [report.kind, report.source])).toEqual([
        ['tls-rpt', 'cli'],
        ['dmarc-aggregate', 'cli'],
      ]);
      expect(listReportQuarantine(db, { since: 0, limit: 10 }).map((row) => [row.name, row.code])).toEqual([['bomb.xml', 'doctype']]);
    } finally {
      db.close();
    }
  });
});
