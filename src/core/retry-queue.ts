/**
 * Works through a queue kept in the store (notifications to channels, controls
 * pushed to platforms): each item on its own, so a slow or failing peer holds up
 * no other, retried with exponential backoff and jitter until it succeeds or is
 * given up; every attempt is recorded by the caller's `settle`.
 */
import { backoffMs } from './backoff.ts';
import type { Clock } from './clock.ts';
import { DeliveryError } from './delivery.ts';
import { isMailscopeError } from './errors.ts';
import { alone, type Duty } from './duty.ts';
import type { Logger } from './logger.ts';
import { redactSecrets } from './redact.ts';

export interface RetrySettings {
  minMs: number;
  maxMs: number;
  attempts: number;
  timeoutMs: number;
  /** 0..1: how much of each delay is random. */
  jitter?: number;
  random?: () => number;
}

export interface QueueItem {
  id: number;
  attempts: number;
}

export interface QueueStore<Item extends QueueItem> {
  /** Items due at `now`, oldest first, at most `limit`. */
  due(now: number, limit: number): Item[];
  /** When the next item not in flight is due; undefined when none waits. */
  nextAt(inFlight: readonly number[]): number | undefined;
}

export interface QueueWorker<Item extends QueueItem> {
  /** One attempt; throw (a DeliveryError says whether retrying can help) when it failed. */
  attempt(item: Item, signal: AbortSignal): Promise<void>;
  /** The attempt failed: retry at `retryAt`, or give up when undefined. Record it. */
  failed(item: Item, message: string, retryAt: number | undefined): void;
  /** What to log with each attempt. */
  describe(item: Item): Record<string, unknown>;
}

const maxInFlight = 16;
const idleCheckMs = 60_000;
const followerCheckMs = 1_000;

export class RetryQueue<Item extends QueueItem> {
  readonly #store: QueueStore<Item>;
  readonly #worker: QueueWorker<Item>;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #what: string;
  readonly #retry: Required<RetrySettings>;
  readonly #inFlight = new Map<number, Promise<void>>();
  readonly #shutdown = new AbortController();
  readonly #duty: Duty;
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(options: { what: string; store: QueueStore<Item>; worker: QueueWorker<Item>; clock: Clock; log: Logger; retry: RetrySettings; duty?: Duty }) {
    this.#duty = options.duty ?? alone;
    this.#what = options.what;
    this.#store = options.store;
    this.#worker = options.worker;
    this.#clock = options.clock;
    this.#log = options.log;
    this.#retry = { jitter: 0.2, random: Math.random, ...options.retry };
  }

  /** The delay before attempt n + 1 after n failed attempts. */
  backoffMs(failedAttempts: number): number {
    return Math.round(backoffMs(failedAttempts, this.#retry));
  }

  start(): void {
    this.#running = true;
    this.wake();
  }

  /** Look for due items now (after new ones were queued). */
  wake(): void {
    if (!this.#running) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#dispatch(), 0);
  }

  /** Start every due item not already in flight; resolves when those attempts are done. */
  async dispatchOnce(): Promise<void> {
    // Another instance of the cluster delivers while it holds the lease.
    if (!this.#duty.active()) return;
    const now = this.#clock.now().getTime();
    const room = maxInFlight - this.#inFlight.size;
    if (room <= 0) return;
    const items = this.#store
      .due(now, room + this.#inFlight.size)
      .filter((item) => !this.#inFlight.has(item.id))
      .slice(0, room);
    await Promise.all(
      items.map((item) => {
        const attempt = this.#attempt(item).finally(() => this.#inFlight.delete(item.id));
        this.#inFlight.set(item.id, attempt);
        return attempt;
      }),
    );
  }

  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#shutdown.abort();
    await Promise.allSettled(this.#inFlight.values());
  }

  #dispatch(): void {
    if (!this.#running) return;
    // Each item settles on its own; the next look is scheduled as soon as this round started.
    void this.dispatchOnce()
      .catch((error: unknown) => this.#unreadable(error))
      .finally(() => this.#schedule());
    this.#schedule();
  }

  /** The store did not answer (PostgreSQL away, a statement past its timeout): said, and the next look tries again; never a crash of the process. */
  #unreadable(error: unknown): void {
    this.#log.error({ err: error }, `${this.#what} queue could not be read; trying again`);
  }

  #schedule(): void {
    if (!this.#running) return;
    // Items in flight are not due again: counting them would wake this every 50 ms until they settle.
    // Not this instance's to deliver: look again in a second, without asking the store.
    let next: number | undefined;
    try {
      next = this.#duty.active() ? this.#store.nextAt([...this.#inFlight.keys()]) : this.#clock.now().getTime() + followerCheckMs;
    } catch (error) {
      this.#unreadable(error);
      next = this.#clock.now().getTime() + followerCheckMs;
    }
    const delay = next === undefined ? idleCheckMs : Math.max(50, Math.min(idleCheckMs, next - this.#clock.now().getTime()));
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#dispatch(), delay);
    this.#timer.unref();
  }

  async #attempt(item: Item): Promise<void> {
    const attemptNumber = item.attempts + 1;
    const log = { ...this.#worker.describe(item), attempt: attemptNumber };
    const signal = AbortSignal.any([this.#shutdown.signal, AbortSignal.timeout(this.#retry.timeoutMs)]);
    // The lease passed to another instance since this item was taken: it stays pending, for that one.
    if (!this.#duty.active()) return;
    try {
      await this.#worker.attempt(item, signal);
      this.#log.info(log, `${this.#what} delivered`);
    } catch (error) {
      // Stopping mid-attempt: it stays pending, unchanged, for the next start.
      if (this.#shutdown.signal.aborted) return;
      // Done, but the lease passed to another instance before it was recorded: that one will see it pending.
      if (isMailscopeError(error) && error.code === 'LEASE_LOST') {
        this.#log.warn({ ...log, reason: error.message }, `${this.#what} not recorded: this instance lost the cluster's lease`);
        return;
      }
      // Stored and shown to viewers: peer text in it is an excerpt already (core/delivery.ts); no secret either way.
      const message = redactSecrets(error instanceof Error ? error.message : String(error));
      const retryable = error instanceof DeliveryError ? error.retryable : true;
      const giveUp = !retryable || attemptNumber >= this.#retry.attempts;
      const retryAt = giveUp ? undefined : this.#clock.now().getTime() + this.backoffMs(attemptNumber);
      try {
        this.#worker.failed(item, message, retryAt);
      } catch (recording) {
        this.#log.error({ ...log, err: recording }, `${this.#what} attempt could not be recorded`);
        return;
      }
      this.#log.warn(
        { ...log, reason: message, retryAt: retryAt === undefined ? undefined : new Date(retryAt).toISOString() },
        giveUp ? `${this.#what} failed for good` : `${this.#what} failed; will retry`,
      );
    }
  }
}
