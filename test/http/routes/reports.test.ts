/**
 * Feedback reports through a running observatory: files posted to
 * /v1/ingest/reports by an ingest token (answered once recorded; the same file
 * again is a duplicate; what cannot be read is quarantined with its reason), a
 * report directory read on its interval (each file moved once recorded), and the
 * reports, their rows, the DMARC sources and the quarantine read back.
 */
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runningObservatory } from '../../helpers/observatory.ts';
import { aggregateXml, gzipped, tlsReportJson } from '../../helpers/reports.ts';
import { tempDir } from '../../helpers/temp.ts';

const tokens = { ingest: 'reports-ingest-token-0000001', viewer: 'reports-viewer-token-0000001' };

async function observatory() {
  const dir = tempDir();
  const drop = join(dir, 'drop');
  mkdirSync(drop);
  writeFileSync(
    join(dir, 'mailscope.yaml'),
    [
      'dataDir: ./data',
      'http: { listen: "127.0.0.1:0" }',
      'tokens:',
      `  - { name: mailer, role: ingest, token: "${tokens.ingest}" }`,
      `  - { name: grafana, role: viewer, token: "${tokens.viewer}" }`,
      'sources:',
      '  - { id: uploads, kind: reports, maxBodyBytes: 65536 }',
      '  - { id: drop, kind: report-directory, path: ./drop, interval: 100ms, settle: 0ms }',
      'reports: { nameSources: false }',
      '',
    ].join('\n'),
  );
  mkdirSync(join(dir, 'probes'));
  writeFileSync(
    join(dir, 'probes', 'rules.yaml'),
    'rules:\n  - { id: dmarc-new-unaligned, condition: "dmarc.new_source_messages > 10", where: { aligned: "false" }, severity: warning, summary: "{source} sends as {domain}" }\n',
  );
  const running = await runningObservatory(dir, { token: tokens.viewer, logLevel: 'warn' });
  const base = `http://127.0.0.1:${running.observatory.address.port}`;
  const call = async (path: string, init: RequestInit & { token?: string; type?: string } = {}) => {
    const response = await fetch(`${base}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${init.token ?? tokens.viewer}`, ...(init.body ? { 'content-type': init.type ?? 'application/octet-stream' } : {}) },
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  return { call, drop, running };
}

const report = aggregateXml({
  reportId: 'api-1',
  rows: [
    { ip: '192.0.2.10', count: 20 },
    { ip: '198.51.100.66', count: 15, dkim: 'fail', spf: 'fail', disposition: 'reject' },
  ],
});

describe('reports over the API', () => {
  it('records what an ingest token posts once, quarantines what cannot be read, and reads it all back', async () => {
    const { call } = await observatory();
    // A gzip labelled as XML: the bytes decide, not the label.
    const posted = await call('/v1/ingest/reports', { method: 'POST', token: tokens.ingest, body: gzipped(report), type: 'text/xml' });
    expect(posted.status).toBe(200);
    expect(posted.body).toMatchObject({ recorded: 1, duplicates: 0, quarantined: 0, outcomes: [{ status: 'recorded', kind: 'dmarc-aggregate', reportId: 'api-1', domain: 'sender.test' }] });
    const again = await call('/v1/ingest/reports/uploads', { method: 'POST', token: tokens.ingest, body: report, type: 'application/xml' });
    expect(again.body).toMatchObject({ recorded: 0, duplicates: 1, outcomes: [{ status: 'duplicate', id: posted.body.outcomes[0].id }] });
    const tls = await call('/v1/ingest/reports', { method: 'POST', token: tokens.ingest, body: tlsReportJson({}), type: 'application/tlsrpt+json' });
    expect(tls.body).toMatchObject({ recorded: 1, outcomes: [{ kind: 'tls-rpt' }] });
    const bad = await call('/v1/ingest/reports', { method: 'POST', token: tokens.ingest, body: '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><feedback/>', type: 'text/xml' });
    expect(bad.status).toBe(200);
    expect(bad.body).toMatchObject({ recorded: 0, quarantined: 1, outcomes: [{ status: 'quarantined', code: 'doctype' }] });

    // Bad requests change nothing.
    expect((await call('/v1/ingest/reports', { method: 'POST', token: tokens.ingest, body: Buffer.alloc(70_000, 0x41) })).status).toBe(413);
    expect((await call('/v1/ingest/reports', { method: 'POST', token: 'not-a-token-of-this-observatory', body: report })).status).toBe(401);
    expect((await call('/v1/ingest/reports', { method: 'POST', token: tokens.ingest, body: '' })).status).toBe(400);
    expect((await call('/v1/reports', { token: tokens.ingest })).status).toBe(403);

    const list = await call('/v1/reports?since=30d');
    expect(list.status).toBe(200);
    expect(list.body.reports.map((row: any) => [row.kind, row.org, row.reportId, row.domain, row.messages, row.source])).toEqual([
      ['tls-rpt', 'Google Inc.', '2026-12-05T00:00:00Z_sender.test', 'sender.test', 100, 'uploads'],
      ['dmarc-aggregate', 'google.com', 'api-1', 'sender.test', 35, 'uploads'],
    ]);
    const only = await call('/v1/reports?kind=dmarc-aggregate&limit=1');
    expect(only.body.reports).toHaveLength(1);
    expect(only.body.next).toBeUndefined();
    const paged = await call('/v1/reports?limit=1');
    expect(paged.body.next).toEqual(expect.any(String));
    expect((await call(`/v1/reports?limit=1&cursor=${paged.body.next}`)).body.reports[0].kind).toBe('dmarc-aggregate');

    const one = await call(`/v1/reports/${posted.body.outcomes[0].id}`);
    expect(one.body).toMatchObject({ kind: 'dmarc-aggregate', begin: '2026-12-05T00:00:00.000Z', end: '2026-12-05T23:59:59.000Z', rowCount: 2 });
    expect(one.body.rows.map((row: any) => [row.sourceIp, row.count, row.dkimAligned, row.disposition])).toEqual([
      ['192.0.2.10', 20, true, 'none'],
      ['198.51.100.66', 15, false, 'reject'],
    ]);
    expect((await call('/v1/reports/424242')).status).toBe(404);
    expect((await call('/v1/reports/abc')).status).toBe(400);

    const sources = await call('/v1/dmarc/sources?domain=SENDER.test&since=30d');
    expect(sources.body.sources).toEqual([
      expect.objectContaining({ sourceIp: '192.0.2.10', source: '192.0.2.10', messages: 20, aligned: 20, passRate: 1, confirmed: false, own: false, reporters: ['google.com'] }),
      expect.objectContaining({ sourceIp: '198.51.100.66', messages: 15, aligned: 0, rejected: 15, passRate: 0 }),
    ]);
    expect((await call('/v1/dmarc/sources')).status).toBe(400);

    const quarantine = await call('/v1/reports/quarantine');
    expect(quarantine.body.inputs).toEqual([expect.objectContaining({ source: 'uploads', code: 'doctype', reason: expect.stringMatching(/DOCTYPE/i) })]);

    // The rule saw the report's points: a new source sent 15 unaligned messages as the domain.
    const alerts = await call('/v1/alerts');
    expect(alerts.body.alerts.map((alert: any) => [alert.rule, alert.labels.source, alert.state])).toEqual([['dmarc-new-unaligned', '198.51.100.66', 'firing']]);
  });

  it('reads a report directory: each file recorded, then moved to processed (or quarantine)', async () => {
    const { call, drop } = await observatory();
    writeFileSync(join(drop, 'google.com!sender.test!1764892800!1764979199.xml.gz'), gzipped(report));
    writeFileSync(join(drop, 'notes.txt'), 'not a report\n');
    for (const name of readdirSync(drop)) utimesSync(join(drop, name), new Date(Date.now() - 10_000), new Date(Date.now() - 10_000));
    for (let waited = 0; waited < 5_000 && readdirSync(drop).some((name) => name.includes('.')); waited += 50) await sleep(50);
    expect(readdirSync(join(drop, 'processed'))).toEqual(['google.com!sender.test!1764892800!1764979199.xml.gz']);
    expect(readdirSync(join(drop, 'quarantine'))).toEqual(['notes.txt']);
    expect(existsSync(join(drop, 'notes.txt'))).toBe(false);
    const list = await call('/v1/reports');
    expect(list.body.reports.map((row: any) => [row.reportId, row.source])).toEqual([['api-1', 'drop']]);
    expect((await call('/v1/reports/quarantine')).body.inputs).toEqual([expect.objectContaining({ source: 'drop', name: 'notes.txt', code: 'unknown' })]);
  });
});
