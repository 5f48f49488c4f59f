/**
 * Leases with fencing tokens on PostgreSQL: which instance does a piece of work
 * (the scheduler, the flusher, the notifications) when several share one database.
 *
 * A lease is a row (name, holder, epoch, expires_at). Taking it is one
 * compare-and-swap statement: it succeeds when the row is free, expired, or
 * already this holder's. The epoch is the fencing token: it grows whenever a new
 * tenure begins (another holder, or the same holder after its lease expired or
 * was released) and stays while the holder renews. Rows are never deleted, so an
 * epoch is never handed out twice for a name. Expiry is judged by the database's
 * clock (now()), so the instances' clocks do not matter; an instance judges its
 * own validity by its monotonic clock from when it *sent* the renewal, less a
 * margin, so a partitioned instance stops acting before the database lets
 * another take over. A write that must not come from a stale holder is fenced:
 * `holdsLease()` in its WHERE, or `assertCurrent()` first in its transaction.
 *
 * Why not PostgreSQL advisory locks alone: they belong to a session. When the
 * connection drops the server frees the lock at once, while the client may not
 * notice until its next query and acts on meanwhile; and they carry no epoch,
 * so nothing downstream can refuse a stale holder's write. Why not pg-boss: it
 * is a job queue (its own schema, jobs polled and completed), not leader leases
 * for the loops Mailscope already runs, and it offers no fencing token either.
 */
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { MailscopeError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';

/** A pool, or one client of it inside a transaction. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;
}

/** Creates the leases table unless it exists; safe when several instances start at once. */
export async function ensureLeaseTable(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // CREATE TABLE IF NOT EXISTS alone can still collide in the catalog when two instances run it at once.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('mailscope.leases'))`);
    await client.query(`CREATE TABLE IF NOT EXISTS leases (
      name TEXT PRIMARY KEY,
      holder TEXT NOT NULL,
      epoch BIGINT NOT NULL,
      expires_at TIMESTAMPTZ NOT NULL
    )`);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/**
 * A condition for the WHERE of a write that only the current holder of a lease
 * may make: `UPDATE … WHERE id = $1 AND ${holdsLease('$2', '$3')}` with the
 * lease's name and epoch. It locks the lease row FOR SHARE, so a takeover waits
 * until the write commits, and a write racing a takeover that committed first
 * matches nothing (0 rows). The lock also holds off the holder's own renewals:
 * keep such transactions short, well under the renewal interval.
 */
export function holdsLease(nameParameter: string, epochParameter: string): string {
  return `EXISTS (SELECT 1 FROM leases WHERE name = ${nameParameter} AND epoch = ${epochParameter} AND expires_at > clock_timestamp() FOR SHARE)`;
}

/**
 * Throws LEASE_LOST unless `epoch` is the current, unexpired tenure of the lease
 * `name`. Call it first in the transaction that records a side effect: the lease
 * row stays locked FOR SHARE until that transaction ends, so no other instance
 * can take the lease over in between.
 */
export async function assertCurrent(db: Queryable, name: string, epoch: number): Promise<void> {
  const result = await db.query({ text: `SELECT 1 WHERE ${holdsLease('$1', '$2')}`, values: [name, epoch] });
  if (result.rowCount === 0) throw new MailscopeError('LEASE_LOST', `the lease ${name} is no longer held with epoch ${epoch}`, { details: { lease: name, epoch } });
}

export interface AcquireOptions {
  /** Who asks: unique per process (host, pid and a random part), never shared between instances. */
  holder: string;
  /** How long the database keeps the lease after each renewal. */
  ttlMs: number;
  /** How long before the lease could expire at the database this instance stops acting on it; default ttl/4. */
  marginMs?: number;
  /** How often the lease is renewed; default ttl/3. */
  renewEveryMs?: number;
}

export interface LeaseRow {
  name: string;
  holder: string;
  epoch: number;
  /** Null once released (the row's expiry is -infinity). */
  expiresAt: Date | null;
  /** Unexpired by the database's clock. */
  live: boolean;
}

/** `expired`: no renewal got through in time (by the local clock). `taken`: a renewal found the tenure over (another holds the lease, or it was released). */
export type LossReason = 'expired' | 'taken';

export interface LeaseManagerOptions {
  /** Milliseconds on a clock that never jumps; performance.now() unless a test says otherwise. */
  monotonic?: () => number;
  logger?: Logger;
}

/*
 * A new expiry counts from now(), when the statement began (no earlier than the
 * instance sent it, from which it counts its own validity). Whether a row has
 * expired is judged by clock_timestamp(), when the row is read: a statement that
 * waited for the row's lock (a fenced transaction held it) judges by the time it
 * got it — so a renewal stuck behind that lock cannot revive a lapsed tenure, and
 * a takeover stuck behind it does not fail for a lease that lapsed meanwhile.
 */
const acquireSql = `INSERT INTO leases AS l (name, holder, epoch, expires_at)
  VALUES ($1, $2, 1, now() + $3::int * interval '1 millisecond')
  ON CONFLICT (name) DO UPDATE SET
    holder = excluded.holder,
    epoch = CASE WHEN l.holder = excluded.holder AND l.expires_at >= clock_timestamp() THEN l.epoch ELSE l.epoch + 1 END,
    expires_at = excluded.expires_at
  WHERE l.expires_at < clock_timestamp() OR l.holder = excluded.holder
  RETURNING epoch, expires_at`;

const renewSql = `UPDATE leases SET expires_at = now() + $4::int * interval '1 millisecond'
  WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at >= clock_timestamp()
  RETURNING expires_at`;

// Expired rather than deleted: the next tenure's epoch is still one more than this one's.
const releaseSql = `UPDATE leases SET expires_at = '-infinity' WHERE name = $1 AND holder = $2 AND epoch = $3`;

export class LeaseManager {
  readonly #pool: pg.Pool;
  readonly #monotonic: () => number;
  readonly #logger: Logger | undefined;

  constructor(pool: pg.Pool, options: LeaseManagerOptions = {}) {
    this.#pool = pool;
    this.#monotonic = options.monotonic ?? (() => performance.now());
    this.#logger = options.logger;
  }

  /**
   * Takes the lease `name` for `holder` when it is free, expired or already
   * theirs, in one statement; undefined when another holds it. The lease returned
   * renews itself until released or lost.
   */
  async acquire(name: string, options: AcquireOptions): Promise<Lease | undefined> {
    const timing = leaseTiming(options);
    const sentAt = this.#monotonic();
    const result = await this.#pool.query<{ epoch: string; expires_at: Date }>({ text: acquireSql, values: [name, options.holder, options.ttlMs] });
    const row = result.rows[0];
    if (!row) return undefined;
    return new Lease(this, { name, holder: options.holder, epoch: Number(row.epoch), expiresAt: row.expires_at, validUntil: sentAt + timing.validFor, ...timing });
  }

  /** Extends an unexpired tenure by `ttlMs` from the database's now; the new expiry, or undefined when the tenure is over. */
  async renew(name: string, holder: string, epoch: number, ttlMs: number, options: { timeoutMs?: number } = {}): Promise<Date | undefined> {
    // pg honours query_timeout per query (the client gives up and the pool drops the connection); its types know it only per client.
    const query: pg.QueryConfig & { query_timeout?: number } = { text: renewSql, values: [name, holder, epoch, ttlMs], query_timeout: options.timeoutMs };
    const result = await this.#pool.query<{ expires_at: Date }>(query);
    return result.rows[0]?.expires_at;
  }

  /** Ends a tenure at once, so another can take the lease; false when it was not (or no longer) this tenure. */
  async release(name: string, holder: string, epoch: number): Promise<boolean> {
    const result = await this.#pool.query({ text: releaseSql, values: [name, holder, epoch] });
    return result.rowCount === 1;
  }

  /** Every lease, held or not, by name. */
  async list(): Promise<LeaseRow[]> {
    const result = await this.#pool.query<{ name: string; holder: string; epoch: string; expires_at: Date; live: boolean }>(
      'SELECT name, holder, epoch, expires_at, expires_at >= now() AS live FROM leases ORDER BY name',
    );
    // A released lease expires at -infinity, which reaches JavaScript as a number, not a Date.
    return result.rows.map((row) => ({ name: row.name, holder: row.holder, epoch: Number(row.epoch), expiresAt: row.expires_at instanceof Date ? row.expires_at : null, live: row.live }));
  }

  /** @internal the Lease's clock and log. */
  get monotonic(): () => number {
    return this.#monotonic;
  }

  /** @internal */
  get logger(): Logger | undefined {
    return this.#logger;
  }
}

interface LeaseTiming {
  ttlMs: number;
  renewEveryMs: number;
  /** How long after a renewal was sent this instance may act: ttl − margin. */
  validFor: number;
}

function leaseTiming(options: AcquireOptions): LeaseTiming {
  const { ttlMs } = options;
  if (!Number.isInteger(ttlMs) || ttlMs < 3) throw new RangeError(`ttlMs must be a whole number of milliseconds (3 or more), not ${ttlMs}`);
  const renewEveryMs = options.renewEveryMs ?? Math.floor(ttlMs / 3);
  const marginMs = options.marginMs ?? Math.floor(ttlMs / 4);
  // A holder whose renewals all succeed must never lapse between two of them.
  if (renewEveryMs <= 0 || marginMs < 0 || renewEveryMs + marginMs >= ttlMs) {
    throw new RangeError(`renewEveryMs (${renewEveryMs}) + marginMs (${marginMs}) must be less than ttlMs (${ttlMs}), both positive`);
  }
  return { ttlMs, renewEveryMs, validFor: ttlMs - marginMs };
}

/**
 * One tenure of a lease: renews itself every renewEveryMs and is valid until
 * validFor after the last successful renewal was *sent*, by the local monotonic
 * clock — whether or not the database answers. Lost (once, for good) when that
 * time passes or a renewal finds another tenure; then take it again with
 * `acquire`, which begins a new epoch.
 */
export class Lease {
  readonly name: string;
  readonly holder: string;
  /** The fencing token: carry it on every side effect the lease guards. */
  readonly epoch: number;
  #expiresAt: Date;
  #validUntil: number;
  #state: 'held' | 'lost' | 'released' = 'held';
  #lostReason: LossReason = 'expired';
  readonly #manager: LeaseManager;
  readonly #timing: LeaseTiming;
  readonly #listeners = new Set<(reason: LossReason) => void>();
  #renewTimer: NodeJS.Timeout;
  #lossTimer: NodeJS.Timeout | undefined;

  constructor(manager: LeaseManager, tenure: { name: string; holder: string; epoch: number; expiresAt: Date; validUntil: number } & LeaseTiming) {
    this.#manager = manager;
    this.name = tenure.name;
    this.holder = tenure.holder;
    this.epoch = tenure.epoch;
    this.#expiresAt = tenure.expiresAt;
    this.#validUntil = tenure.validUntil;
    this.#timing = { ttlMs: tenure.ttlMs, renewEveryMs: tenure.renewEveryMs, validFor: tenure.validFor };
    this.#renewTimer = setInterval(() => void this.#renew(), this.#timing.renewEveryMs).unref();
    this.#armLossTimer();
  }

  /** Until when (the manager's monotonic clock) this instance may act on the lease, as things stand. */
  get validUntil(): number {
    return this.#validUntil;
  }

  /** True while this instance may act on the lease. */
  valid(): boolean {
    return this.#state === 'held' && this.#manager.monotonic() < this.#validUntil;
  }

  /** When the database would let the lease go unless renewed (the database's clock): for display, never for deciding. */
  get expiresAt(): Date {
    return this.#expiresAt;
  }

  /** Called once when the lease is lost (not when released); at once if it already was. Returns a function that unsubscribes. */
  onLost(listener: (reason: LossReason) => void): () => void {
    if (this.#state === 'lost') queueMicrotask(() => listener(this.#lostReason));
    else this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * The database says the tenure is over (a fenced write found another epoch): lost now, as a
   * renewal would find, so the holder stops at once instead of at the next renewal.
   */
  abandon(): void {
    if (this.#state === 'held') this.#lose('taken');
  }

  /** Stops renewing and ends the tenure at the database so another can take over at once. */
  async release(): Promise<void> {
    if (this.#state !== 'held') return;
    this.#stop('released');
    await this.#manager.release(this.name, this.holder, this.epoch);
  }

  async #renew(): Promise<void> {
    const sentAt = this.#manager.monotonic();
    try {
      // A renewal that has not answered by the next one is abandoned (its connection is dropped by the pool).
      const expiresAt = await this.#manager.renew(this.name, this.holder, this.epoch, this.#timing.ttlMs, { timeoutMs: this.#timing.renewEveryMs });
      if (this.#state !== 'held') return;
      if (!expiresAt) return this.#lose('taken');
      this.#validUntil = Math.max(this.#validUntil, sentAt + this.#timing.validFor);
      this.#expiresAt = expiresAt;
      this.#armLossTimer();
    } catch (error) {
      // Not lost yet: the loss timer decides, by the local clock; the next renewal may get through.
      this.#manager.logger?.warn({ lease: this.name, epoch: this.epoch, err: error }, 'lease renewal failed');
    }
  }

  #armLossTimer(): void {
    clearTimeout(this.#lossTimer);
    const wait = Math.max(0, this.#validUntil - this.#manager.monotonic());
    this.#lossTimer = setTimeout(() => {
      if (this.#state === 'held' && !this.valid()) this.#lose('expired');
      else if (this.#state === 'held') this.#armLossTimer();
    }, wait).unref();
  }

  #lose(reason: LossReason): void {
    this.#lostReason = reason;
    this.#stop('lost');
    this.#manager.logger?.warn({ lease: this.name, epoch: this.epoch, reason }, 'lease lost');
    for (const listener of this.#listeners) listener(reason);
    this.#listeners.clear();
  }

  #stop(state: 'lost' | 'released'): void {
    this.#state = state;
    clearInterval(this.#renewTimer);
    clearTimeout(this.#lossTimer);
  }
}
