/**
 * Prunes the store: runs and observations older than `retention.keep` (and the
 * alerts, notifications and silences that are over), in small
 * transactions with the event loop free between them, so probes record and the
 * API answers while a large backlog is deleted.
 */
import { alone, type Duty } from '../core/duty.ts';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { systemClock, type Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Database } from '../store/database.ts';
import { prunedTables, pruneStep, type PruneStep } from '../store/retention.ts';

export interface RetentionOptions {
  keepMs: number;
  intervalMs: number;
  batchSize: number;
  /** Without a time-series database nothing drains the outbox: old lines go too. */
  pruneOutbox: boolean;
  /** What "older than `keepMs`" counts from; default the system clock. */
  clock?: Clock;
  /** In a cluster, only the lease's holder prunes. */
  duty?: Duty;
}

export interface PruneReport {
  deleted: Record<PruneStep['table'], number>;
  batches: number;
}

export class RetentionPruner {
  readonly #db: Database;
  readonly #log: Logger;
  readonly #options: Required<RetentionOptions>;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;
  #stopped = true;

  constructor(db: Database, log: Logger, options: RetentionOptions) {
    this.#db = db;
    this.#log = log.child({ component: 'retention' });
    this.#options = { clock: systemClock, duty: alone, ...options };
  }

  /** Prunes everything older than the cutoff, one batch at a time. */
  async pruneAll(): Promise<PruneReport> {
    const cutoff = new Date(this.#options.clock.now().getTime() - this.#options.keepMs);
    const report: PruneReport = { deleted: Object.fromEntries(prunedTables.map((table) => [table, 0])) as PruneReport['deleted'], batches: 0 };
    for (;;) {
      const step = pruneStep(this.#db, cutoff, this.#options.batchSize, { pruneOutbox: this.#options.pruneOutbox });
      if (step.deleted === 0) break;
      report.deleted[step.table] += step.deleted;
      report.batches++;
      await yieldToEventLoop();
      // stop() during a scheduled prune: leave the rest for the next start.
      if (this.#stopped && this.#running !== undefined) break;
    }
    if (report.batches > 0) this.#log.info({ cutoff: cutoff.toISOString(), ...report.deleted, batches: report.batches }, 'pruned old rows');
    return report;
  }

  start(): void {
    this.#stopped = false;
    const tick = () => {
      this.#timer = undefined;
      // In a cluster, the lease's holder prunes.
      if (!this.#options.duty.active()) {
        if (!this.#stopped) this.#timer = setTimeout(tick, Math.min(60_000, this.#options.intervalMs));
        return;
      }
      this.#running = this.pruneAll()
        .catch((error: unknown) => this.#log.error({ err: error }, 'pruning failed; trying again at the next interval'))
        .finally(() => {
          this.#running = undefined;
          if (!this.#stopped) this.#timer = setTimeout(tick, this.#options.intervalMs);
        });
    };
    // First prune shortly after start, not in the middle of it.
    this.#timer = setTimeout(tick, Math.min(60_000, this.#options.intervalMs));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
