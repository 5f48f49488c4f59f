/**
 * The same on PostgreSQL: `mailscope run` with its store in a PostgreSQL database
 * is killed with SIGKILL while four clients post batches of events; every batch it
 * acknowledged was committed (the store waits for each COMMIT before the 200), and
 * at most the batches in flight at the kill are there without an acknowledgement.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { binary } from '../helpers/cli.ts';
import { freshDatabase } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/probes.ts';
import { tempDir } from '../helpers/temp.ts';

const token = 'sigkill-ingest-pg-token-0001';
const batchSize = 50;
const clients = 4;

describe('traffic ingest under SIGKILL, the store on PostgreSQL', () => {
  it('counts every acknowledged batch exactly once, and no more than the batches in flight besides', async () => {
    const database = await freshDatabase();
    const dir = tempDir();
    writeFileSync(
      join(dir, 'mailscope.yaml'),
      `store: { kind: postgres, url: "\${DATABASE_URL}" }\nhttp: { listen: "127.0.0.1:0" }\ntokens: [{ name: kumo, role: ingest, token: "${token}" }]\nsources: [{ id: hook, kind: events }]\ntraffic: { mxLookup: false }\n`,
    );
    mkdirSync(join(dir, 'probes'));
    const child = spawn(process.execPath, [binary, 'run', '--config', join(dir, 'mailscope.yaml')], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: database.url },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(() => /"msg":"mailscope running"/.test(output), 'mailscope to listen', 20_000);
    const port = Number(/"listen":"127\.0\.0\.1:(\d+)"/.exec(output)![1]);

    let acknowledged = 0;
    let killed = false;
    const post = async () => {
      while (!killed) {
        const events = Array.from({ length: batchSize }, (_, i) => ({
          time: new Date().toISOString(),
          outcome: i % 5 === 0 ? 'deferred' : 'delivered',
          recipient: `r${i}@gmail.com`,
          ip: '192.0.2.10',
        }));
        try {
          const response = await fetch(`http://127.0.0.1:${port}/v1/ingest/events`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ events }),
          });
          if (response.status === 200 && !killed) acknowledged += ((await response.json()) as { accepted: number }).accepted;
        } catch {
          // The server went away mid-request: not acknowledged.
        }
      }
    };
    const posting = Array.from({ length: clients }, post);
    await waitFor(() => acknowledged >= 3_000, '3,000 acknowledged events', 20_000);
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    killed = true;
    const atKill = acknowledged;
    await exited;
    await Promise.all(posting);

    const { rows } = await database.pool().query<{ n: string }>('SELECT sum(delivered + deferred) AS n FROM traffic_minutes');
    const counted = Number(rows[0]!.n);
    expect(counted % batchSize).toBe(0);
    expect(counted).toBeGreaterThanOrEqual(atKill);
    expect(counted).toBeLessThanOrEqual(atKill + clients * batchSize);
  });
});
