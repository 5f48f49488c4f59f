/**
 * Writes the traffic aggregates out: every interval, each minute whose counts
 * changed since it was last written becomes a `traffic` point (in the outbox, for
 * the time-series database; a minute written again replaces its point there), and
 * the alert rules see it — both in the transaction that marks it written.
 */
import { alone, type Duty } from '../core/duty.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Observation } from '../core/observation.ts';
import { trafficOutcomes } from '../core/traffic.ts';
import { bounceClassNames } from '../protocols/mail/bounce-class.ts';
import type { Database } from '../store/database.ts';
import { recordPoint } from '../store/record.ts';
import { dirtyMinutes, markMinutesWritten, minutesSince, pruneTraffic, type TrafficMinute } from '../store/traffic.ts';

/** Minutes written per transaction (the event loop runs between them, so that a flush of many minutes does not hold up ingestion). */
const batchSize = 500;

const round = (value: number) => Math.round(value * 1e6) / 1e6;

/** A minute's aggregate as a point of the `traffic` measurement. */
export function trafficPoint(minute: TrafficMinute, campaignTag: boolean): Observation {
  const { counts } = minute;
  const attempts = counts.delivered + counts.deferred + counts.bounced + counts.expired;
  const fields: Record<string, number> = { attempts };
  for (const outcome of trafficOutcomes) fields[outcome] = counts[outcome];
  for (const name of bounceClassNames) fields[`class_${name}`] = minute.classes[name] ?? 0;
  if (attempts > 0) {
    fields.delivery_rate = round(counts.delivered / attempts);
    fields.deferral_rate = round(counts.deferred / attempts);
    fields.bounce_rate = round((counts.bounced + counts.expired) / attempts);
  }
  if (counts.delivered > 0) fields.complaint_rate = round(counts.complained / counts.delivered);
  if (minute.latencyCount > 0) fields.latency_avg_ms = round(minute.latencySum / minute.latencyCount);
  if (minute.latencyMax !== undefined) fields.latency_max_ms = minute.latencyMax;
  return {
    measurement: 'traffic',
    tags: {
      provider: minute.provider,
      ...(minute.ip ? { ip: minute.ip } : {}),
      ...(minute.pool ? { pool: minute.pool } : {}),
      ...(campaignTag && minute.campaign ? { campaign: minute.campaign } : {}),
    },
    fields,
    time: new Date(minute.minute),
  };
}

export class TrafficFlusher {
  readonly #db: Database;
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #campaignTag: boolean;
  readonly #evaluate: ((observations: readonly Observation[], options?: { provisional?: (observation: Observation) => boolean }) => void) | undefined;
  /** Points of minutes the rules saw while they were still being counted: seen once more when the minute is over. */
  readonly #unsettled = new Map<string, Observation>();
  readonly #clock: Clock;
  readonly #keepMs: number;
  #prunedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #duty: Duty;
  /** A timed flush is under way (one batch per turn of the event loop). */
  #flushing = false;

  constructor(options: {
    db: Database;
    clock: Clock;
    log: Logger;
    intervalMs: number;
    campaignTag: boolean;
    keepMs: number;
    evaluate?: (observations: readonly Observation[], options?: { provisional?: (observation: Observation) => boolean }) => void;
    /** In a cluster, only the lease's holder writes the minutes out and shows them to the rules; every instance counts. */
    duty?: Duty;
  }) {
    this.#duty = options.duty ?? alone;
    this.#db = options.db;
    this.#clock = options.clock;
    this.#keepMs = options.keepMs;
    this.#log = options.log.child({ component: 'traffic' });
    this.#intervalMs = options.intervalMs;
    this.#campaignTag = options.campaignTag;
    this.#evaluate = options.evaluate;
  }

  /** Write every changed minute now; returns how many points were written. */
  flush(): number {
    if (!this.#duty.active()) return 0;
    let written = 0;
    for (;;) {
      const count = this.#flushBatch();
      written += count;
      if (count < batchSize) return written;
    }
  }

  /** Write up to batchSize changed minutes, in one transaction; returns how many. */
  #flushBatch(): number {
    return this.#db.transaction(() => {
      this.#duty.fence();
      const minutes = dirtyMinutes(this.#db, batchSize);
      const points = minutes.map((minute) => trafficPoint(minute, this.#campaignTag));
      for (const point of points) recordPoint(this.#db, point);
      // The rules see each minute as it stands now; what they change commits with the points. A minute
      // not over yet is provisional (below a rule's minimum it changes nothing), and seen again once over.
      const now = this.#clock.now().getTime();
      const provisional = (point: Observation) => point.time.getTime() + 60_000 > now;
      for (const point of points) {
        const key = JSON.stringify([point.time.getTime(), point.tags]);
        if (provisional(point)) this.#unsettled.set(key, point);
        else this.#unsettled.delete(key);
      }
      if (points.length > 0) this.#evaluate?.(points, { provisional });
      markMinutesWritten(this.#db, minutes);
      return minutes.length;
    });
  }

  /**
   * This instance begins to lead the cluster: the minutes not over yet may have been shown to the
   * rules by the leader before it, as still being counted; they are shown again here once over.
   * Returns how many minutes were taken on.
   */
  adopt(): number {
    const now = this.#clock.now().getTime();
    let adopted = 0;
    for (const minute of minutesSince(this.#db, now - 60_000)) {
      const point = trafficPoint(minute, this.#campaignTag);
      const key = JSON.stringify([point.time.getTime(), point.tags]);
      if (this.#unsettled.has(key)) continue;
      this.#unsettled.set(key, point);
      adopted++;
    }
    return adopted;
  }

  /** The minutes the rules saw while still being counted and that are over now: seen once more, as final. Returns how many. */
  settle(): number {
    const now = this.#clock.now().getTime();
    const over = [...this.#unsettled.entries()].filter(([, point]) => point.time.getTime() + 60_000 <= now);
    if (over.length === 0) return 0;
    for (const [key] of over) this.#unsettled.delete(key);
    if (this.#evaluate) {
      const points = over.map(([, point]) => point);
      this.#db.transaction(() => this.#evaluate!(points, { provisional: () => false }));
    }
    return over.length;
  }

  /** The timed flush: a batch, then the next one once the event loop has run (requests waiting on a commit go first); then the prune. */
  #tick(): void {
    if (this.#flushing || !this.#duty.active()) return;
    this.#flushing = true;
    const step = () => {
      // Stopped meanwhile: stop() writes what is left, before the store closes.
      if (this.#timer === undefined) {
        this.#flushing = false;
        return;
      }
      try {
        if (this.#flushBatch() === batchSize) {
          setImmediate(step);
          return;
        }
        this.settle();
        this.prune();
      } catch (error) {
        this.#log.error({ err: error }, 'traffic flush failed; trying again at the next interval');
      }
      this.#flushing = false;
    };
    step();
  }

  /** Minutes (once written) and reasons older than the retention period go; at most once an hour. Returns the rows deleted. */
  prune(): number {
    const now = this.#clock.now().getTime();
    if (now - this.#prunedAt < 3_600_000) return 0;
    this.#prunedAt = now;
    let deleted = 0;
    for (let step = pruneTraffic(this.#db, now - this.#keepMs, batchSize); step > 0; step = pruneTraffic(this.#db, now - this.#keepMs, batchSize)) deleted += step;
    if (deleted > 0) this.#log.info({ deleted }, 'pruned old traffic');
    return deleted;
  }

  start(): void {
    this.#timer ??= setInterval(() => this.#tick(), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    // What was counted before the stop is written before the store closes.
    try {
      this.flush();
    } catch (error) {
      this.#log.error({ err: error }, 'traffic flush failed at stop');
    }
  }
}
