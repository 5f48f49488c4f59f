/**
 * One instance of a cluster: several `mailscope run` on one PostgreSQL store.
 *
 * Every instance answers the API, the console, /v1/policy and the Postfix policy
 * service. The work done once (the scheduler's runs, notifications, control
 * pushes, releases, the outbox and traffic flushes, retention, tailed sources)
 * is done by the holder of one lease, `leader` (leases.ts): its epoch is the
 * fencing token of that work (core/duty.ts). One lease rather than one per loop:
 * the loops hand work to each other through the store and in memory (a run's
 * rules queue notifications and make controls; the control service wakes the
 * pusher and the releaser), so they stay together on one instance.
 *
 * The cluster's own talk with the database (the lease, the heartbeat, LISTEN, the
 * look at the controls' version) is asynchronous, on a small pool of its own, so it
 * never waits behind the store's statements, nor the store behind it; and a database
 * that stops answering never holds this instance's event loop through it.
 *
 * Control changes reach every instance's memory at once: a trigger NOTIFYs
 * `mailscope_controls` with every commit that changes them (postgres-migrations.ts),
 * and each instance LISTENs; in case a notification is missed (the listening
 * connection dropped), each also looks at the controls' version every second.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { ClusterStatus, Duty } from '../core/duty.ts';
import { MailscopeError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Database } from '../store/database.ts';
import { holdsLease, type Lease, LeaseManager } from './leases.ts';

export const leaderLease = 'leader';

export interface ClusterOptions {
  url: string;
  /** The store on PostgreSQL, for the fenced writes (inside its transactions). */
  db: Database;
  log: Logger;
  version: string;
  /** How long the database keeps the lease after each renewal: a dead leader is replaced within this. */
  leaseTtlMs: number;
  /** How often this instance says it is alive (and tries for the lease when it does not hold it). */
  heartbeatMs: number;
  /** How often the controls' version is looked at, beside LISTEN. */
  controlsCheckMs?: number;
  /** The controls changed in the store (another instance, the CLI): read them again. */
  onControlsChanged: () => void;
}

export interface InstanceRow {
  id: string;
  host: string;
  pid: number;
  version: string;
  api: string;
  startedAt: string;
  heartbeatAt: string;
  /** Milliseconds since the heartbeat, by the database's clock. */
  heartbeatAgeMs: number;
  stoppedAt?: string;
  leases: string[];
}

/** Unique per process: a restarted process is a new holder. */
function instanceId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

export class Cluster implements Duty {
  readonly id = instanceId();
  readonly #options: ClusterOptions & { controlsCheckMs: number };
  readonly #log: Logger;
  readonly #pool: pg.Pool;
  readonly #leases: LeaseManager;
  readonly #listeners = new Set<(leader: boolean) => void>();
  #lease: Lease | undefined;
  #listen: pg.Client | undefined;
  #timers: NodeJS.Timeout[] = [];
  #version: number | undefined;
  #stopped = false;
  #acquiring = false;

  constructor(options: ClusterOptions) {
    this.#options = { controlsCheckMs: 1_000, ...options };
    this.#log = options.log.child({ component: 'cluster', instance: this.id });
    this.#pool = new pg.Pool({ connectionString: options.url, max: 3, connectionTimeoutMillis: Math.max(1_000, Math.floor(options.leaseTtlMs / 3)), application_name: 'mailscope-cluster' });
    // An idle client whose connection drops emits 'error' on the pool: the next query reconnects.
    this.#pool.on('error', (error) => this.#log.debug({ err: error }, 'cluster connection dropped'));
    this.#leases = new LeaseManager(this.#pool, { logger: this.#log });
  }

  /** Says this instance is here (and where its API answers), tries for the lease once (a lone instance leads from its first moment), and keeps at it. */
  async start(api: string): Promise<void> {
    await this.#pool.query(
      `INSERT INTO instances (id, host, pid, version, api, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $5, clock_timestamp(), clock_timestamp())
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = clock_timestamp(), stopped_at = NULL`,
      [this.id, hostname(), process.pid, this.#options.version, api],
    );
    // Instances gone for a day are forgotten.
    await this.#pool.query(`DELETE FROM instances WHERE heartbeat_at < clock_timestamp() - interval '1 day'`);
    await this.#tryLead();
    await this.#startListening();
    this.#every(this.#options.heartbeatMs, () => this.#heartbeat());
    this.#every(this.#options.controlsCheckMs, () => this.#checkControls());
  }

  /** Called with true when this instance begins to lead, false when it stops. */
  onLeadership(listener: (leader: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  // ── Duty ──

  active(): boolean {
    return this.#lease?.valid() === true;
  }

  get epoch(): number {
    return this.#lease?.valid() ? this.#lease.epoch : 0;
  }

  /** First in a transaction of the store that records a side effect: LEASE_LOST unless this instance still leads. */
  fence(): void {
    const lease = this.#lease;
    if (!lease?.valid()) throw new MailscopeError('LEASE_LOST', `this instance no longer holds the ${leaderLease} lease`);
    // The lease's row stays locked FOR SHARE until the transaction ends: no takeover in between.
    const held = this.#options.db.statement(`SELECT 1 AS held WHERE ${holdsLease('?', '?')}`).get(leaderLease, lease.epoch);
    if (!held) {
      // Another instance holds it now: stop at once (active() false), not at the next renewal.
      lease.abandon();
      throw new MailscopeError('LEASE_LOST', `the ${leaderLease} lease passed to another instance (epoch ${lease.epoch} is over)`, { details: { lease: leaderLease, epoch: lease.epoch } });
    }
  }

  status(): ClusterStatus {
    const lease = this.#lease;
    const leading = lease?.valid() === true;
    return { instance: this.id, leader: leading, leases: leading && lease ? [{ name: lease.name, epoch: lease.epoch, expiresAt: lease.expiresAt.toISOString() }] : [] };
  }

  /** Gives the lease up (another instance takes over at once), says so, and closes the cluster's connections. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const timer of this.#timers) clearInterval(timer);
    const lease = this.#lease;
    this.#lease = undefined;
    if (lease?.valid()) this.#emit(false);
    await lease?.release().catch((error: unknown) => this.#log.warn({ err: error }, 'could not release the lease; it expires on its own'));
    await this.#pool.query('UPDATE instances SET stopped_at = clock_timestamp() WHERE id = $1', [this.id]).catch(() => {});
    const listen = this.#listen;
    this.#listen = undefined;
    await listen?.end().catch(() => {});
    await this.#pool.end().catch(() => {});
  }

  #every(ms: number, fn: () => Promise<void>): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy || this.#stopped) return;
      busy = true;
      void fn()
        .catch((error: unknown) => this.#log.debug({ err: error }, 'cluster check failed'))
        .finally(() => {
          busy = false;
        });
    }, ms);
    timer.unref();
    this.#timers.push(timer);
  }

  async #heartbeat(): Promise<void> {
    await this.#pool.query('UPDATE instances SET heartbeat_at = clock_timestamp() WHERE id = $1', [this.id]);
    if (!this.#lease?.valid()) await this.#tryLead();
  }

  async #tryLead(): Promise<void> {
    if (this.#acquiring || this.#stopped) return;
    this.#acquiring = true;
    try {
      const lease = await this.#leases.acquire(leaderLease, { holder: this.id, ttlMs: this.#options.leaseTtlMs });
      if (!lease || this.#stopped) {
        await lease?.release();
        return;
      }
      this.#lease = lease;
      this.#log.info({ lease: leaderLease, epoch: lease.epoch }, 'this instance leads the cluster');
      lease.onLost((reason) => {
        if (this.#lease !== lease) return;
        this.#lease = undefined;
        // active() turned false at validUntil, whenever this (a timer) runs: say when that was.
        const stoppedActingAt = new Date(Date.now() - Math.max(0, performance.now() - lease.validUntil)).toISOString();
        this.#log.warn({ lease: leaderLease, epoch: lease.epoch, reason, stoppedActingAt }, 'this instance no longer leads the cluster');
        this.#emit(false);
      });
      this.#emit(true);
    } catch (error) {
      this.#log.warn({ err: error }, 'could not ask for the lease');
    } finally {
      this.#acquiring = false;
    }
  }

  #emit(leader: boolean): void {
    for (const listener of this.#listeners) {
      try {
        listener(leader);
      } catch (error) {
        this.#log.error({ err: error, leader }, 'leadership listener failed');
      }
    }
  }

  async #startListening(): Promise<void> {
    if (this.#stopped) return;
    const client = new pg.Client({ connectionString: this.#options.url, application_name: 'mailscope-listen', connectionTimeoutMillis: 5_000 });
    const again = () => {
      if (this.#listen !== client) return;
      this.#listen = undefined;
      client.end().catch(() => {});
      // The version check every second covers the gap; listen again shortly.
      setTimeout(() => void this.#startListening().catch(() => {}), 1_000).unref();
    };
    client.on('error', again);
    client.on('end', again);
    client.on('notification', () => this.#changed());
    this.#listen = client;
    try {
      await client.connect();
      await client.query('LISTEN mailscope_controls');
    } catch (error) {
      this.#log.debug({ err: error }, 'cannot LISTEN for control changes yet');
      again();
    }
  }

  async #checkControls(): Promise<void> {
    const { rows } = await this.#pool.query<{ version: number | string }>('SELECT version FROM store_version');
    const version = Number(rows[0]?.version ?? 0);
    if (this.#version !== undefined && version !== this.#version) this.#changed();
    this.#version = version;
  }

  #changed(): void {
    try {
      this.#options.onControlsChanged();
    } catch (error) {
      this.#log.warn({ err: error }, 'could not read the changed controls');
    }
  }
}

/** The instances of the cluster the database knows (for `mailscope status` and GET /v1/cluster). */
export async function listInstances(pool: Pick<pg.Pool, 'query'>): Promise<InstanceRow[]> {
  const { rows } = await pool.query<{
    id: string;
    host: string;
    pid: string | number;
    version: string;
    api: string;
    started_at: Date;
    heartbeat_at: Date;
    age_ms: string | number;
    stopped_at: Date | null;
    leases: string[] | null;
  }>(
    `SELECT i.*, (extract(epoch FROM clock_timestamp() - i.heartbeat_at) * 1000)::bigint AS age_ms,
            (SELECT array_agg(l.name ORDER BY l.name) FROM leases l WHERE l.holder = i.id AND l.expires_at > clock_timestamp()) AS leases
     FROM instances i ORDER BY i.stopped_at IS NOT NULL, i.heartbeat_at DESC`,
  );
  return rows.map((row) => ({
    id: row.id,
    host: row.host,
    pid: Number(row.pid),
    version: row.version,
    api: row.api,
    startedAt: row.started_at.toISOString(),
    heartbeatAt: row.heartbeat_at.toISOString(),
    heartbeatAgeMs: Number(row.age_ms),
    ...(row.stopped_at ? { stoppedAt: row.stopped_at.toISOString() } : {}),
    leases: row.leases ?? [],
  }));
}
