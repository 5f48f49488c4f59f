/**
 * Nothing lost, nothing counted twice: `mailscope run` (the real binary, in a
 * child process) is killed with SIGKILL while four clients post batches of
 * events; every batch it acknowledged is counted after the restart, and at most
 * the batches in flight at the kill are counted without an acknowledgement.
 */
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { batchSize, clients, ingestUntilKilled } from '../helpers/ingest-sigkill.ts';

describe('traffic ingest under SIGKILL', () => {
  it('counts every acknowledged batch exactly once, and no more than the batches in flight besides', async () => {
    const { dir, atKill } = await ingestUntilKilled({ store: 'dataDir: ./data', token: 'sigkill-ingest-token-000001' });
    const db = new DatabaseSync(join(dir, 'data', 'mailscope.db'));
    expect(db.prepare('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' });
    const counted = Number((db.prepare('SELECT sum(delivered + deferred) AS n FROM traffic_minutes').get() as { n: number }).n);
    db.close();
    expect(counted % batchSize).toBe(0);
    expect(counted).toBeGreaterThanOrEqual(atKill);
    expect(counted).toBeLessThanOrEqual(atKill + clients * batchSize);
  });
});
