/**
 * Drains the outbox into the time-series database. Rows leave the outbox only
 * after the server acknowledged them, so an outage or a SIGKILL loses nothing (a
 * row acknowledged but not yet deleted is written again, and InfluxDB overwrites
 * a point with the same series and timestamp: it ends up there exactly once).
 * A batch the server refuses as malformed is split until the bad lines are found;
 * those go to the quarantine with the server's reason and the rest is delivered.
 * Failed writes back off exponentially with jitter, honouring Retry-After.
 */
import { alone, type Duty } from '../core/duty.ts';
import { backoffMs } from '../core/backoff.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { redactSecrets } from '../core/redact.ts';
import { WriteFailure, type LineWriter } from '../series/influx-writer.ts';
import type { Database } from '../store/database.ts';
import { acknowledge, outboxStats, quarantine, takeBatch, type OutboxRow, type OutboxStats } from '../store/outbox.ts';

export interface FlusherOptions {
  batchSize: number;
  /** Batches written at once (each acknowledged on its own). */
  concurrency?: number;
  /** Pause when the outbox is empty. */
  intervalMs: number;
  minRetryMs?: number;
  maxRetryMs: number;
  /** 0..1: each delay is scaled by a random factor in [1 - jitter, 1]. */
  jitter?: number;
  /** Times of day (last flush, last error, next retry, the oldest point's age); default the system clock. The waits themselves are timers. */
  clock?: Clock;
  random?: () => number;
  /** In a cluster, only the lease's holder flushes (points written twice would only overwrite themselves, but once is enough). */
  duty?: Duty;
}

export interface FlusherStatus extends OutboxStats {
  target: string;
  delivered: number;
  lastFlushAt?: string;
  lastError?: { at: string; message: string; status?: number };
  consecutiveFailures: number;
  /** When the next attempt is due, while backing off. */
  retryAt?: string;
}

type Outcome = { ok: true; delivered: number; quarantined: number } | { ok: false; failure: WriteFailure; delivered: number; quarantined: number };

export class OutboxFlusher {
  readonly #db: Database;
  readonly #writer: LineWriter;
  readonly #log: Logger;
  readonly #options: Required<FlusherOptions>;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;
  #wake: (() => void) | undefined;
  #delivered = 0;
  #failures = 0;
  #lastFlushAt: Date | undefined;
  #lastError: FlusherStatus['lastError'];
  #retryAt: Date | undefined;

  constructor(db: Database, writer: LineWriter, log: Logger, options: FlusherOptions) {
    this.#db = db;
    this.#writer = writer;
    this.#log = log.child({ component: 'outbox', target: writer.target });
    this.#options = { minRetryMs: 1_000, jitter: 0.5, concurrency: 4, clock: systemClock, random: Math.random, duty: alone, ...options };
  }

  status(): FlusherStatus {
    const status: FlusherStatus = { ...outboxStats(this.#db, this.#options.clock.now()), target: this.#writer.target, delivered: this.#delivered, consecutiveFailures: this.#failures };
    if (this.#lastFlushAt) status.lastFlushAt = this.#lastFlushAt.toISOString();
    if (this.#lastError) status.lastError = this.#lastError;
    if (this.#retryAt) status.retryAt = this.#retryAt.toISOString();
    return status;
  }

  /** The delay before attempt n+1 after n consecutive failures. */
  backoffMs(failures: number, retryAfterMs?: number): number {
    const { minRetryMs, maxRetryMs, jitter, random } = this.#options;
    const jittered = backoffMs(failures, { minMs: minRetryMs, maxMs: maxRetryMs, jitter, random });
    return Math.min(maxRetryMs, Math.max(jittered, retryAfterMs ?? 0));
  }

  /** Writes up to `concurrency` batches at once (splitting a refused one to isolate malformed lines); never throws. */
  async flushOnce(): Promise<Outcome> {
    const { batchSize, concurrency } = this.#options;
    const rows = takeBatch(this.#db, batchSize * concurrency);
    const batches: OutboxRow[][] = [];
    for (let i = 0; i < rows.length; i += batchSize) batches.push(rows.slice(i, i + batchSize));
    const outcomes = await Promise.all(batches.map((batch) => this.#deliver(batch)));
    const delivered = outcomes.reduce((sum, outcome) => sum + outcome.delivered, 0);
    const quarantined = outcomes.reduce((sum, outcome) => sum + outcome.quarantined, 0);
    if (delivered > 0 || quarantined > 0) this.#lastFlushAt = this.#options.clock.now();
    const failed = outcomes.find((outcome) => !outcome.ok);
    return failed && !failed.ok ? { ok: false, failure: failed.failure, delivered, quarantined } : { ok: true, delivered, quarantined };
  }

  async #deliver(rows: OutboxRow[]): Promise<Outcome> {
    if (rows.length === 0) return { ok: true, delivered: 0, quarantined: 0 };
    try {
      await this.#writer.write(rows.map((row) => row.line));
      acknowledge(this.#db, rows);
      this.#delivered += rows.length;
      return { ok: true, delivered: rows.length, quarantined: 0 };
    } catch (error) {
      const failure = error instanceof WriteFailure ? error : new WriteFailure('retry', redactSecrets(String((error as Error).message)));
      if (failure.kind === 'retry') return { ok: false, failure, delivered: 0, quarantined: 0 };
      if (rows.length === 1) {
        quarantine(this.#db, rows[0]!, failure.message, this.#options.clock.now());
        this.#log.warn({ reason: failure.message, line: rows[0]!.line.slice(0, 300) }, 'line refused by the server: quarantined');
        return { ok: true, delivered: 0, quarantined: 1 };
      }
      const half = Math.ceil(rows.length / 2);
      const first = await this.#deliver(rows.slice(0, half));
      if (!first.ok) return first;
      const second = await this.#deliver(rows.slice(half));
      return { ...second, delivered: first.delivered + second.delivered, quarantined: first.quarantined + second.quarantined };
    }
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#running = this.#loop();
  }

  /** Stops after the write in flight (if any); what is not acknowledged stays in the outbox. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#wake?.();
    await this.#running;
  }

  async #sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(resolve, ms);
    });
    this.#wake = undefined;
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      if (!this.#options.duty.active()) {
        await this.#sleep(1_000);
        continue;
      }
      let outcome: Outcome;
      try {
        outcome = await this.flushOnce();
      } catch (error) {
        // The store itself failed: log and try again later; the rows are still there.
        outcome = { ok: false, failure: new WriteFailure('retry', `store: ${(error as Error).message}`), delivered: 0, quarantined: 0 };
      }
      if (this.#stopped) break;
      if (outcome.ok) {
        if (this.#failures > 0) this.#log.info({ after: this.#failures }, 'time-series server reachable again; delivering the backlog');
        this.#failures = 0;
        this.#retryAt = undefined;
        // Full batches: more is waiting, go on at once.
        if (outcome.delivered + outcome.quarantined >= this.#options.batchSize * this.#options.concurrency) continue;
        await this.#sleep(this.#options.intervalMs);
        continue;
      }
      this.#failures++;
      const delay = this.backoffMs(this.#failures, outcome.failure.retryAfterMs);
      const now = this.#options.clock.now();
      this.#retryAt = new Date(now.getTime() + delay);
      this.#lastError = { at: now.toISOString(), message: outcome.failure.message, ...(outcome.failure.status !== undefined ? { status: outcome.failure.status } : {}) };
      (this.#failures === 1 ? this.#log.warn.bind(this.#log) : this.#log.debug.bind(this.#log))(
        { reason: outcome.failure.message, retryInMs: Math.round(delay), failures: this.#failures },
        'time-series write failed; the points wait in the outbox',
      );
      await this.#sleep(delay);
    }
  }
}
