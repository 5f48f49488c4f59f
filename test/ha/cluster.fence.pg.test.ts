/**
 * One instance of a cluster in this process (ha/cluster.ts) against a real
 * PostgreSQL: its fence refuses a write once the lease is another's, and it stops
 * leading at once (not at the next renewal); a control committed by another
 * connection reaches it through LISTEN/NOTIFY well within a second.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { Cluster } from '../../src/ha/cluster.ts';
import { Database } from '../../src/store/database.ts';
import { captureLog } from '../helpers/log.ts';
import { freshDatabase } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/probes.ts';

// A long lease (renewed every 10 s): no renewal falls inside a test and finds the takeover first.
async function started(url: string, onControlsChanged: () => void = () => {}) {
  const db = Database.connect({ url });
  const log = captureLog();
  const cluster = new Cluster({ url, db, log: log.log, version: 'test', leaseTtlMs: 30_000, heartbeatMs: 500, controlsCheckMs: 60_000, onControlsChanged });
  onTestFinished(async () => {
    await cluster.stop();
    db.close();
  });
  const leadership: boolean[] = [];
  cluster.onLeadership((leader) => leadership.push(leader));
  await cluster.start('127.0.0.1:1');
  return { db, cluster, leadership, log };
}

describe('an instance of the cluster', () => {
  it('leads alone, fences its writes with its epoch, and once the lease is another’s refuses them and stops leading at once', async () => {
    const database = await freshDatabase();
    const { db, cluster, leadership, log } = await started(database.url);
    expect(cluster.active()).toBe(true);
    expect(cluster.epoch).toBe(1);
    expect(cluster.status()).toMatchObject({ leader: true, leases: [{ name: 'leader', epoch: 1 }] });
    expect(leadership).toEqual([true]);
    db.transaction(() => cluster.fence());

    // Another instance took the lease over (as after an expiry the holder did not notice yet).
    await database.pool().query("UPDATE leases SET holder = 'another', epoch = epoch + 1 WHERE name = 'leader'");
    expect(cluster.active()).toBe(true);
    expect(() => db.transaction(() => cluster.fence())).toThrow(expect.objectContaining({ code: 'LEASE_LOST' }));
    expect(cluster.active()).toBe(false);
    expect(cluster.epoch).toBe(0);
    expect(leadership).toEqual([true, false]);
    expect(log.entries().find((entry) => entry.msg === 'this instance no longer leads the cluster')).toMatchObject({ reason: 'taken', epoch: 1 });
    expect(() => db.transaction(() => cluster.fence())).toThrow(expect.objectContaining({ code: 'LEASE_LOST' }));
  });

  it('hears of a control another connection committed within a second, by LISTEN alone', async () => {
    const database = await freshDatabase();
    let heard = 0;
    const { db } = await started(database.url, () => {
      heard += 1;
    });
    const other = Database.connect({ url: database.url });
    onTestFinished(() => other.close());
    const before = heard;
    const at = performance.now();
    other
      .statement(
        `INSERT INTO controls (id, action, scope, reason, source, created_by, created_at, updated_at, keep_until_resumed) VALUES ('c1', 'pause', '{"ip":"192.0.2.1"}', 'test', 'token:t', 't', 1, 1, 0)`,
      )
      .run();
    await waitFor(() => heard > before, 'the notification', 2_000);
    expect(performance.now() - at).toBeLessThan(1_000);
    expect(db.dataVersion()).toBeGreaterThan(0);
  });
});
