/**
 * Delivers queued notifications: each to its channel, on its own (a slow or
 * failing channel holds up no other, and no probe), retried with exponential
 * backoff and jitter until it is sent or given up; every attempt is recorded.
 */
import type { InstanceConfig } from '../config/schema.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { DeliveryError, type AlertNotification } from '../notifiers/define.ts';
import { findNotifier, type NotifierConfig } from '../notifiers/index.ts';
import type { Database } from '../store/database.ts';
import { dueNotifications, markAttemptFailed, markSent, nextNotificationAt, type NotificationRow } from '../store/alerts.ts';

export interface RetrySettings {
  minMs: number;
  maxMs: number;
  attempts: number;
  timeoutMs: number;
  /** 0..1: how much of each delay is random. */
  jitter?: number;
  random?: () => number;
}

/** Retry settings from the instance file's `alerts.retry`. */
export function retrySettingsOf(instance: InstanceConfig): RetrySettings {
  const { retry } = instance.alerts;
  return { minMs: retry.min, maxMs: retry.max, attempts: retry.attempts, timeoutMs: retry.timeout };
}

const maxInFlight = 16;
const idleCheckMs = 60_000;

export class Dispatcher {
  readonly #db: Database;
  readonly #channels: ReadonlyMap<string, NotifierConfig>;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #retry: Required<RetrySettings>;
  readonly #inFlight = new Map<number, Promise<void>>();
  readonly #shutdown = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(options: { db: Database; channels: readonly NotifierConfig[]; clock: Clock; log: Logger; retry: RetrySettings }) {
    this.#db = options.db;
    this.#channels = new Map(options.channels.map((channel) => [channel.id, channel]));
    this.#clock = options.clock;
    this.#log = options.log.child({ component: 'notifications' });
    this.#retry = { jitter: 0.2, random: Math.random, ...options.retry };
  }

  /** The delay before attempt n + 1 after n failed attempts. */
  backoffMs(failedAttempts: number): number {
    const { minMs, maxMs, jitter, random } = this.#retry;
    const exponential = Math.min(maxMs, minMs * 2 ** Math.max(0, failedAttempts - 1));
    return Math.round(exponential * (1 - jitter * random()));
  }

  start(): void {
    this.#running = true;
    this.wake();
  }

  /** Look for due deliveries now (after new ones were queued). */
  wake(): void {
    if (!this.#running) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#dispatch(), 0);
  }

  /** Start every due delivery not already in flight; resolves when those attempts are done. */
  async dispatchOnce(): Promise<void> {
    const now = this.#clock.now().getTime();
    const room = maxInFlight - this.#inFlight.size;
    if (room <= 0) return;
    const rows = dueNotifications(this.#db, now, room + this.#inFlight.size).filter((row) => !this.#inFlight.has(row.id)).slice(0, room);
    await Promise.all(
      rows.map((row) => {
        const attempt = this.#attempt(row).finally(() => this.#inFlight.delete(row.id));
        this.#inFlight.set(row.id, attempt);
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
    // Each delivery settles on its own; the next look is scheduled as soon as this round started.
    void this.dispatchOnce().finally(() => this.#schedule());
    this.#schedule();
  }

  #schedule(): void {
    if (!this.#running) return;
    // Deliveries in flight are not due again: counting them would wake this every 50 ms until they settle.
    const next = nextNotificationAt(this.#db, [...this.#inFlight.keys()]);
    const delay = next === undefined ? idleCheckMs : Math.max(50, Math.min(idleCheckMs, next - this.#clock.now().getTime()));
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#dispatch(), delay);
    this.#timer.unref();
  }

  async #attempt(row: NotificationRow): Promise<void> {
    const channel = this.#channels.get(row.channel);
    const attemptNumber = row.attempts + 1;
    const log = { notification: row.id, alert: row.alertId, channel: row.channel, event: row.event, attempt: attemptNumber };
    if (!channel) {
      markAttemptFailed(this.#db, row.id, `no notifier "${row.channel}" in the configuration any more`, undefined);
      this.#log.warn(log, 'notification dropped: its channel is no longer configured');
      return;
    }
    const notifier = findNotifier(channel.kind)!;
    const notification = { ...row.payload, delivery: row.id } as unknown as AlertNotification;
    const signal = AbortSignal.any([this.#shutdown.signal, AbortSignal.timeout(this.#retry.timeoutMs)]);
    try {
      await notifier.send(channel, notification, { signal });
      markSent(this.#db, row.id, this.#clock.now().getTime());
      this.#log.info(log, 'notification delivered');
    } catch (error) {
      // Stopping mid-attempt: it stays pending, unchanged, for the next start.
      if (this.#shutdown.signal.aborted) return;
      const message = error instanceof Error ? error.message : String(error);
      const retryable = error instanceof DeliveryError ? error.retryable : true;
      const giveUp = !retryable || attemptNumber >= this.#retry.attempts;
      const retryAt = giveUp ? undefined : this.#clock.now().getTime() + this.backoffMs(attemptNumber);
      markAttemptFailed(this.#db, row.id, message, retryAt);
      this.#log.warn({ ...log, reason: message, retryAt: retryAt === undefined ? undefined : new Date(retryAt).toISOString() }, giveUp ? 'notification failed for good' : 'notification failed; will retry');
    }
  }
}
