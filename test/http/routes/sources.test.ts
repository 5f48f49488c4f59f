/**
 * How each source is doing, in GET /v1/sources and on the console's overview: a
 * report mailbox that cannot be read is an error with its code (never "no
 * reports"), a pushed source is unknown until something is posted to it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { signedIn } from '../../helpers/console.ts';
import { runningObservatory } from '../../helpers/observatory.ts';
import { aggregateXml } from '../../helpers/reports.ts';
import { closedPort } from '../../helpers/servers.ts';
import { tempDir } from '../../helpers/temp.ts';

const tokens = { ingest: 'sources-ingest-token-000001', viewer: 'sources-viewer-token-000001' };

describe('sources: how each is doing', () => {
  it('shows a mailbox that cannot be read as an error with its code, and a pushed source as unknown until posted to', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'mailscope.yaml'),
      [
        'dataDir: ./data',
        'http: { listen: "127.0.0.1:0" }',
        'tokens:',
        `  - { name: mailer, role: ingest, token: "${tokens.ingest}" }`,
        `  - { name: grafana, role: viewer, token: "${tokens.viewer}" }`,
        'sources:',
        `  - { id: rua, kind: mailbox, host: 127.0.0.1, port: ${await closedPort()}, security: none, user: dmarc@example.test, password: "mailbox-s3cret-password", interval: 100ms, timeout: 1s }`,
        '  - { id: uploads, kind: reports }',
        'reports: { nameSources: false }',
        '',
      ].join('\n'),
    );
    mkdirSync(join(dir, 'probes'));
    const running = await runningObservatory(dir, { token: tokens.viewer, logLevel: 'fatal' });
    let sources: any[] = [];
    for (let waited = 0; waited < 5_000; waited += 50) {
      sources = (await running.api('/v1/sources')).body.sources;
      if (sources.find((source) => source.id === 'rua')?.state === 'error') break;
      await sleep(50);
    }
    expect(sources).toEqual([
      {
        id: 'rua',
        kind: 'mailbox',
        state: 'error',
        lastError: { code: 'IMAP_UNREACHABLE', reason: expect.stringContaining('cannot reach 127.0.0.1'), at: expect.any(String) },
        failures: expect.any(Number),
      },
      { id: 'uploads', kind: 'reports', state: 'unknown', failures: 0 },
    ]);
    const base = `http://127.0.0.1:${running.observatory.address.port}`;
    const posted = await fetch(`${base}/v1/ingest/reports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.ingest}`, 'content-type': 'text/xml' },
      body: aggregateXml({ rows: [{ ip: '192.0.2.1', count: 1 }] }),
    });
    expect(posted.status).toBe(200);
    expect((await running.api('/v1/sources')).body.sources[1]).toMatchObject({ id: 'uploads', state: 'ok', lastOkAt: expect.any(String) });

    const user = await signedIn(running.observatory.app, tokens.viewer);
    const page = (await user.get('/')).body;
    expect(page).toMatch(/<tr data-source="rua">[\s\S]*?IMAP_UNREACHABLE[\s\S]*?<\/tr>/);
    expect(page).not.toContain('mailbox-s3cret-password');
  });
});
