import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { MailscopeError } from '../../src/core/errors.ts';
import { assertCurrent, ensureLeaseTable, holdsLease, type Lease, LeaseManager, type LossReason } from '../../src/ha/leases.ts';
import { freshDatabase, type TestDatabase } from '../helpers/postgres.ts';

/** A table of side effects the lease guards: a write lands only with the current epoch. */
async function withSideEffects(db: TestDatabase) {
  const admin = db.pool();
  await ensureLeaseTable(admin);
  await admin.query('CREATE TABLE pushes (id SERIAL PRIMARY KEY, epoch BIGINT NOT NULL)');
  /** The fenced write, as an instance holding `epoch` makes it: the number of rows written. */
  const push = async (epoch: number) => (await admin.query({ text: `INSERT INTO pushes (epoch) SELECT $2 WHERE ${holdsLease('$1', '$2')}`, values: ['pusher', epoch] })).rowCount;
  return { admin, push };
}

/** Tries to acquire every `everyMs` until it gets the lease; with when (performance.now()) it did. */
async function acquireWhenFree(manager: LeaseManager, name: string, options: { holder: string; ttlMs: number }, limitMs: number, everyMs = 50): Promise<{ lease: Lease; at: number }> {
  const deadline = performance.now() + limitMs;
  while (performance.now() < deadline) {
    const lease = await manager.acquire(name, options);
    if (lease) return { lease, at: performance.now() };
    await sleep(everyMs);
  }
  throw new Error(`${options.holder} did not get ${name} within ${limitMs} ms`);
}

const lost = (lease: Lease) => new Promise<{ reason: LossReason; at: number }>((resolve) => lease.onLost((reason) => resolve({ reason, at: performance.now() })));

describe('leases with fencing tokens, on PostgreSQL', () => {
  it('creates its table once, even when several instances start at once', async () => {
    const db = await freshDatabase();
    const pools = Array.from({ length: 5 }, () => db.pool({ max: 1 }));
    await Promise.all(pools.map((pool) => ensureLeaseTable(pool)));
    await ensureLeaseTable(pools[0]!);
    const { rows } = await pools[0]!.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'leases'`);
    expect(rows[0].n).toBe(1);
  });

  it('is held by one instance at a time; its holder renews it and keeps its epoch', async () => {
    const db = await freshDatabase();
    await ensureLeaseTable(db.pool());
    const a = new LeaseManager(db.pool());
    const b = new LeaseManager(db.pool());
    const lease = await a.acquire('scheduler', { holder: 'a', ttlMs: 1_200 });
    expect(lease?.epoch).toBe(1);
    expect(lease?.valid()).toBe(true);
    expect(await b.acquire('scheduler', { holder: 'b', ttlMs: 1_200 })).toBeUndefined();
    const firstExpiry = lease!.expiresAt;

    // Twice the ttl: only renewals (every 400 ms) keep it.
    await sleep(2_500);
    expect(lease!.valid()).toBe(true);
    expect(lease!.expiresAt.getTime()).toBeGreaterThan(firstExpiry.getTime());
    expect(await b.acquire('scheduler', { holder: 'b', ttlMs: 1_200 })).toBeUndefined();
    expect(await b.list()).toEqual([{ name: 'scheduler', holder: 'a', epoch: 1, expiresAt: expect.any(Date), live: true }]);
    // The same holder asking again while it holds the lease renews it: same epoch.
    const again = await a.acquire('scheduler', { holder: 'a', ttlMs: 1_200 });
    expect(again?.epoch).toBe(1);
    const loss = lost(lease!);
    await again!.release();
    expect(again!.valid()).toBe(false);
    // The first Lease of that tenure learns it is over at its next renewal.
    expect((await loss).reason).toBe('taken');
    expect(lease!.valid()).toBe(false);
  });

  it('goes to another instance only after it expired, with the next epoch; the stale holder’s fenced writes are refused', async () => {
    const db = await freshDatabase();
    const { push } = await withSideEffects(db);
    const crashing = db.pool();
    const a = new LeaseManager(crashing);
    const b = new LeaseManager(db.pool());
    const ttlMs = 1_000;
    const acquiredAt = performance.now();
    const old = await a.acquire('pusher', { holder: 'a', ttlMs });
    expect(old?.epoch).toBe(1);
    expect(await push(1)).toBe(1);
    // The instance dies as far as the database can tell: its pool is gone, renewals fail.
    await crashing.end();

    const takeover = await acquireWhenFree(b, 'pusher', { holder: 'b', ttlMs }, 10_000);
    expect(takeover.lease.epoch).toBe(2);
    expect(takeover.at - acquiredAt).toBeGreaterThanOrEqual(ttlMs - 50);
    expect(old!.valid()).toBe(false);

    // The old holder, had it survived, writes with epoch 1: nothing lands; the new holder's write does.
    expect(await push(1)).toBe(0);
    expect(await push(2)).toBe(1);
    const { rows } = await db.pool().query('SELECT epoch FROM pushes ORDER BY id');
    expect(rows.map((row) => Number(row.epoch))).toEqual([1, 2]);
    await takeover.lease.release();
  });

  it('checks a tenure first in a transaction, and holds off a takeover until that transaction ends', async () => {
    const db = await freshDatabase();
    const { admin } = await withSideEffects(db);
    const a = new LeaseManager(db.pool());
    const b = new LeaseManager(db.pool());
    const lease = (await a.acquire('pusher', { holder: 'a', ttlMs: 600 }))!;
    const client = await admin.connect();
    try {
      await client.query('BEGIN');
      await assertCurrent(client, 'pusher', lease.epoch);
      await expect(assertCurrent(client, 'pusher', lease.epoch + 1)).rejects.toMatchObject({ code: 'LEASE_LOST' });
    } finally {
      await client.query('ROLLBACK');
    }

    await client.query('BEGIN');
    await assertCurrent(client, 'pusher', lease.epoch);
    // The transaction holds the lease row: the holder's own renewals wait too, and the lease lapses at the database.
    await lost(lease);
    await sleep(300);
    expect((await b.list())[0]?.live).toBe(false);
    let takenAt: number | undefined;
    const takeover = b.acquire('pusher', { holder: 'b', ttlMs: 600 }).then((taken) => {
      takenAt = performance.now();
      return taken;
    });
    await sleep(300);
    expect(takenAt).toBeUndefined();
    // What the transaction records was checked under the old tenure, and commits before the new one begins.
    await client.query('INSERT INTO pushes (epoch) VALUES ($1)', [lease.epoch]);
    await client.query('COMMIT');
    client.release();
    expect((await takeover)?.epoch).toBe(2);
    await expect(assertCurrent(admin, 'pusher', 1)).rejects.toBeInstanceOf(MailscopeError);
    await assertCurrent(admin, 'pusher', 2);
  });

  it('goes to another at once when released; its holder taking it again begins a new epoch', async () => {
    const db = await freshDatabase();
    await ensureLeaseTable(db.pool());
    const a = new LeaseManager(db.pool());
    const b = new LeaseManager(db.pool());
    const first = (await a.acquire('flusher', { holder: 'a', ttlMs: 30_000 }))!;
    await first.release();
    expect(first.valid()).toBe(false);
    const second = await b.acquire('flusher', { holder: 'b', ttlMs: 30_000 });
    expect(second?.epoch).toBe(2);
    await second!.release();
    const third = await a.acquire('flusher', { holder: 'a', ttlMs: 30_000 });
    expect(third?.epoch).toBe(3);
    // Releasing an old tenure again changes nothing.
    expect(await a.release('flusher', 'a', 1)).toBe(false);
    expect(third!.valid()).toBe(true);
    await third!.release();
  });

  it('says it was taken as soon as a renewal finds another tenure', async () => {
    const db = await freshDatabase();
    const admin = db.pool();
    await ensureLeaseTable(admin);
    const lease = (await new LeaseManager(db.pool()).acquire('retention', { holder: 'a', ttlMs: 3_000 }))!;
    const loss = lost(lease);
    const before = performance.now();
    // Whatever moved it (an operator, a bug), the row is no longer this tenure.
    await admin.query(`UPDATE leases SET holder = 'b', epoch = epoch + 1 WHERE name = 'retention'`);
    const { reason, at } = await loss;
    expect(reason).toBe('taken');
    // At the next renewal (every second), long before the lease would have lapsed.
    expect(at - before).toBeLessThan(2_000);
    expect(lease.valid()).toBe(false);
  });

  it('refuses timings under which a holder could lapse between two renewals', async () => {
    const db = await freshDatabase();
    const manager = new LeaseManager(db.pool());
    await expect(manager.acquire('x', { holder: 'a', ttlMs: 1_000, renewEveryMs: 800, marginMs: 300 })).rejects.toBeInstanceOf(RangeError);
    await expect(manager.acquire('x', { holder: 'a', ttlMs: 0.5 })).rejects.toBeInstanceOf(RangeError);
  });

  // Refused: the database's host is down (connections fail at once). Stalled: packets are lost (queries hang).
  it.each(['refused', 'stalled'] as const)('partitioned from the database (%s), the holder stops acting before its lease expires there; the other takes over only after', async (mode) => {
    const db = await freshDatabase();
    await ensureLeaseTable(db.pool());
    const { pool, proxy } = await db.proxiedPool();
    const a = new LeaseManager(pool);
    const observer = db.pool();
    const b = new LeaseManager(db.pool());
    const ttlMs = 3_000;
    const lease = (await a.acquire('scheduler', { holder: 'a', ttlMs, marginMs: 1_000, renewEveryMs: 500 }))!;
    // Renewals get through the proxy while it is up.
    await sleep(1_200);
    expect(lease.valid()).toBe(true);

    // What the database says when A gives up: is A's lease still unexpired there?
    const stillLiveAtServer = new Promise<boolean>((resolve, reject) =>
      lease.onLost(() => {
        observer.query(`SELECT expires_at > clock_timestamp() AS live FROM leases WHERE name = 'scheduler'`).then(({ rows }) => resolve(rows[0].live as boolean), reject);
      }),
    );
    const loss = lost(lease);
    const cutAt = performance.now();
    if (mode === 'refused') await proxy.down();
    else proxy.stall();

    const takeover = await acquireWhenFree(b, 'scheduler', { holder: 'b', ttlMs }, 15_000);
    const { reason, at: lostAt } = await loss;
    expect(reason).toBe('expired');
    expect(await stillLiveAtServer).toBe(true);
    // A stopped before B started, and within a ttl of the cut.
    expect(lostAt).toBeLessThan(takeover.at);
    expect(lostAt - cutAt).toBeLessThan(ttlMs);
    expect(takeover.lease.epoch).toBe(lease.epoch + 1);
    // By the database's clock, B's tenure began no earlier than A's last known expiry.
    expect(takeover.lease.expiresAt.getTime() - ttlMs).toBeGreaterThanOrEqual(lease.expiresAt.getTime());
    expect(lease.valid()).toBe(false);
    await takeover.lease.release();
  });

  it('goes to exactly one of ten instances asking at once, epoch after epoch', async () => {
    const db = await freshDatabase();
    await ensureLeaseTable(db.pool());
    const managers = Array.from({ length: 10 }, () => new LeaseManager(db.pool({ max: 1 })));
    // Warm the pools, so the ten statements really race.
    await Promise.all(managers.map((manager) => manager.list()));
    const winners: string[] = [];
    for (let round = 1; round <= 5; round++) {
      const leases = await Promise.all(managers.map((manager, n) => manager.acquire('notifier', { holder: `instance-${n}`, ttlMs: 30_000 })));
      const won = leases.filter((lease) => lease !== undefined);
      expect(won).toHaveLength(1);
      expect(won[0]!.epoch).toBe(round);
      winners.push(won[0]!.holder);
      await won[0]!.release();
    }
    expect(winners).toHaveLength(5);
  });
});
