/**
 * The same on PostgreSQL: `mailscope run` with its store in a PostgreSQL database
 * is killed with SIGKILL while four clients post batches of events; every batch it
 * acknowledged was committed (the store waits for each COMMIT before the 200), and
 * at most the batches in flight at the kill are there without an acknowledgement.
 */
import { describe, expect, it } from 'vitest';
import { batchSize, clients, ingestUntilKilled } from '../helpers/ingest-sigkill.ts';
import { freshDatabase } from '../helpers/postgres.ts';

describe('traffic ingest under SIGKILL, the store on PostgreSQL', () => {
  it('counts every acknowledged batch exactly once, and no more than the batches in flight besides', async () => {
    const database = await freshDatabase();
    const { atKill } = await ingestUntilKilled({
      store: 'store: { kind: postgres, url: "${DATABASE_URL}" }',
      token: 'sigkill-ingest-pg-token-0001',
      env: { DATABASE_URL: database.url },
    });
    const { rows } = await database.pool().query<{ n: string }>('SELECT sum(delivered + deferred) AS n FROM traffic_minutes');
    const counted = Number(rows[0]!.n);
    expect(counted % batchSize).toBe(0);
    expect(counted).toBeGreaterThanOrEqual(atKill);
    expect(counted).toBeLessThanOrEqual(atKill + clients * batchSize);
  });
});
