/**
 * Traffic ingest under SIGKILL, whatever the store: `mailscope run` (the real
 * binary, in a child process) is started with `store` in its instance file and an
 * `events` source, four clients post batches of events, and the process is killed
 * with SIGKILL once 3,000 events were acknowledged. The caller then counts what was
 * committed: every acknowledged batch, and at most the batches in flight besides.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startInstance } from './mailscope-process.ts';
import { waitFor } from './probes.ts';
import { tempDir } from './temp.ts';

export const batchSize = 50;
export const clients = 4;

export interface Killed {
  /** The instance's directory (its data dir is ./data). */
  dir: string;
  /** Events acknowledged (200) before the kill. */
  atKill: number;
}

export async function ingestUntilKilled(options: { store: string; token: string; env?: Record<string, string> }): Promise<Killed> {
  const dir = tempDir();
  writeFileSync(
    join(dir, 'mailscope.yaml'),
    `${options.store}\nhttp: { listen: "127.0.0.1:0" }\ntokens: [{ name: kumo, role: ingest, token: "${options.token}" }]\nsources: [{ id: hook, kind: events }]\ntraffic: { mxLookup: false }\n`,
  );
  mkdirSync(join(dir, 'probes'));
  const { child, port, exited } = await startInstance('mailscope', join(dir, 'mailscope.yaml'), options.env ?? {}, options.token);

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
          headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
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
  child.kill('SIGKILL');
  killed = true;
  const atKill = acknowledged;
  await exited;
  await Promise.all(posting);
  return { dir, atKill };
}
