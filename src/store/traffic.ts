/**
 * The platform's traffic, aggregated: counts per minute and slice (provider,
 * sending IP, pool, campaign), what the receivers said per hour (each distinct
 * reply with its count), and where each tailing source got to. Events are not
 * kept one by one: a minute's counts are added to, never rewritten from events.
 */
import type { TrafficOutcome } from '../core/traffic.ts';
import type { Database } from './database.ts';

/** One slice of traffic in one minute: what a batch adds to it. */
export interface TrafficBucket {
  /** Start of the minute, ms since the epoch. */
  minute: number;
  provider: string;
  /** '' when the source did not say. */
  ip: string;
  pool: string;
  campaign: string;
  counts: Record<TrafficOutcome, number>;
  /** Bounce class → attempts. */
  classes: Record<string, number>;
  latencySum: number;
  latencyCount: number;
  latencyMax?: number | undefined;
}

/** A stored minute: its counts so far. */
export interface TrafficMinute extends TrafficBucket {
  dirty: boolean;
}

export function emptyCounts(): Record<TrafficOutcome, number> {
  return { delivered: 0, deferred: 0, bounced: 0, expired: 0, complained: 0 };
}

function toMinute(row: Record<string, unknown>): TrafficMinute {
  return {
    minute: Number(row.minute),
    provider: String(row.provider),
    ip: String(row.ip),
    pool: String(row.pool),
    campaign: String(row.campaign),
    counts: { delivered: Number(row.delivered), deferred: Number(row.deferred), bounced: Number(row.bounced), expired: Number(row.expired), complained: Number(row.complained) },
    classes: JSON.parse(String(row.classes)) as Record<string, number>,
    latencySum: Number(row.latency_sum),
    latencyCount: Number(row.latency_count),
    ...(row.latency_max === null ? {} : { latencyMax: Number(row.latency_max) }),
    dirty: Number(row.dirty) === 1,
  };
}

const latencyMaxUpdate =
  'latency_max = CASE WHEN traffic_minutes.latency_max IS NULL OR excluded.latency_max > traffic_minutes.latency_max THEN coalesce(excluded.latency_max, traffic_minutes.latency_max) ELSE traffic_minutes.latency_max END';

/** Add a batch's buckets to the minutes they fall in (marking them dirty). Inside the caller's transaction. */
export function addTraffic(db: Database, buckets: Iterable<TrafficBucket>): void {
  const columns = 'minute, provider, ip, pool, campaign, delivered, deferred, bounced, expired, complained, classes, latency_sum, latency_count, latency_max, dirty';
  const counts = `delivered = traffic_minutes.delivered + excluded.delivered, deferred = traffic_minutes.deferred + excluded.deferred, bounced = traffic_minutes.bounced + excluded.bounced,
       expired = traffic_minutes.expired + excluded.expired, complained = traffic_minutes.complained + excluded.complained,
       latency_sum = traffic_minutes.latency_sum + excluded.latency_sum, latency_count = traffic_minutes.latency_count + excluded.latency_count, ${latencyMaxUpdate}, dirty = 1`;
  // Most buckets are deliveries only (no bounce class): one statement, the stored classes left as they are.
  const add = db.statement(
    `INSERT INTO traffic_minutes (${columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', ?, ?, ?, 1)
     ON CONFLICT (minute, provider, ip, pool, campaign) DO UPDATE SET ${counts}`,
  );
  const select = db.statement('SELECT classes FROM traffic_minutes WHERE minute = ? AND provider = ? AND ip = ? AND pool = ? AND campaign = ?');
  const merge = db.statement(
    `INSERT INTO traffic_minutes (${columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
     ON CONFLICT (minute, provider, ip, pool, campaign) DO UPDATE SET ${counts}, classes = excluded.classes`,
  );
  for (const bucket of buckets) {
    const { minute, provider, ip, pool, campaign, counts: n } = bucket;
    const latencyMax = bucket.latencyMax ?? null;
    let hasClasses = false;
    for (const _ in bucket.classes) {
      hasClasses = true;
      break;
    }
    if (!hasClasses) {
      add.run(minute, provider, ip, pool, campaign, n.delivered, n.deferred, n.bounced, n.expired, n.complained, bucket.latencySum, bucket.latencyCount, latencyMax);
      continue;
    }
    const existing = select.get(minute, provider, ip, pool, campaign) as { classes: string } | undefined;
    const classes: Record<string, number> = existing ? (JSON.parse(existing.classes) as Record<string, number>) : {};
    for (const [name, count] of Object.entries(bucket.classes)) classes[name] = (classes[name] ?? 0) + count;
    merge.run(minute, provider, ip, pool, campaign, n.delivered, n.deferred, n.bounced, n.expired, n.complained, JSON.stringify(classes), bucket.latencySum, bucket.latencyCount, latencyMax);
  }
}

/** Minutes changed since their point was last written, oldest first. */
export function dirtyMinutes(db: Database, limit: number): TrafficMinute[] {
  return (db.statement('SELECT * FROM traffic_minutes WHERE dirty = 1 ORDER BY minute LIMIT ?').all(limit) as Record<string, unknown>[]).map(toMinute);
}

/** Minutes that began after `since` (those not over yet), written or not. */
export function minutesSince(db: Database, since: number): TrafficMinute[] {
  return (db.statement('SELECT * FROM traffic_minutes WHERE minute > ? ORDER BY minute').all(since) as Record<string, unknown>[]).map(toMinute);
}

export function markMinutesWritten(db: Database, minutes: readonly TrafficMinute[]): void {
  const clean = db.statement('UPDATE traffic_minutes SET dirty = 0 WHERE minute = ? AND provider = ? AND ip = ? AND pool = ? AND campaign = ?');
  for (const minute of minutes) clean.run(minute.minute, minute.provider, minute.ip, minute.pool, minute.campaign);
}

// ── what the receivers said ────────────────────────────────────────────────────

export interface TrafficReason {
  /** Start of the hour, ms since the epoch. */
  hour: number;
  provider: string;
  class: string;
  /** The reply with its variable parts masked: what the count is of. */
  reason: string;
  count: number;
  lastSeen: number;
  /** One reply as received (an excerpt). */
  example: string;
}

/**
 * Add what a batch heard; keep at most `keep` distinct reasons per hour,
 * provider and class (the least recently seen go, when a new one comes). Inside the caller's transaction.
 */
export function addReasons(db: Database, reasons: Iterable<TrafficReason>, keep: number): void {
  const upsert = db.statement(
    `INSERT INTO traffic_reasons (hour, provider, class, reason, count, last_seen, example) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (hour, provider, class, reason) DO UPDATE SET count = traffic_reasons.count + excluded.count,
       last_seen = CASE WHEN excluded.last_seen > traffic_reasons.last_seen THEN excluded.last_seen ELSE traffic_reasons.last_seen END, example = excluded.example
     RETURNING count`,
  );
  const trim = db.statement(
    `DELETE FROM traffic_reasons WHERE hour = ? AND provider = ? AND class = ? AND reason NOT IN
       (SELECT reason FROM traffic_reasons WHERE hour = ? AND provider = ? AND class = ? ORDER BY last_seen DESC, count DESC LIMIT ?)`,
  );
  const touched = new Map<string, TrafficReason>();
  for (const reason of reasons) {
    const row = upsert.get(reason.hour, reason.provider, reason.class, reason.reason, reason.count, reason.lastSeen, reason.example) as { count: number };
    // Only a reason new to its group (its count is this batch's alone) can take the group past `keep`.
    if (Number(row.count) === reason.count) touched.set(JSON.stringify([reason.hour, reason.provider, reason.class]), reason);
  }
  for (const reason of touched.values()) trim.run(reason.hour, reason.provider, reason.class, reason.hour, reason.provider, reason.class, keep);
}

// ── where tailing sources got to ───────────────────────────────────────────────

export function getCheckpoint(db: Database, source: string): string | undefined {
  const row = db.statement('SELECT checkpoint FROM source_checkpoints WHERE source = ?').get(source) as { checkpoint: string } | undefined;
  return row?.checkpoint;
}

export function saveCheckpoint(db: Database, source: string, checkpoint: string, at: number): void {
  db.statement(
    'INSERT INTO source_checkpoints (source, checkpoint, updated_at) VALUES (?, ?, ?) ON CONFLICT (source) DO UPDATE SET checkpoint = excluded.checkpoint, updated_at = excluded.updated_at',
  ).run(source, checkpoint, at);
}

// ── reading it back ────────────────────────────────────────────────────────────

export const trafficGroupings = ['provider', 'ip', 'pool'] as const;
export type TrafficGrouping = (typeof trafficGroupings)[number];

export interface TrafficFilter {
  since: number;
  until: number;
  provider?: string | undefined;
  ip?: string | undefined;
  pool?: string | undefined;
}

export interface TrafficTotals {
  /** The group's value ('' where the source did not say). */
  key: string;
  counts: Record<TrafficOutcome, number>;
  classes: Record<string, number>;
  latencySum: number;
  latencyCount: number;
  latencyMax?: number;
}

function where(filter: TrafficFilter, timeColumn: string): { sql: string; params: (string | number)[] } {
  const clauses = [`${timeColumn} >= ?`, `${timeColumn} < ?`];
  const params: (string | number)[] = [filter.since, filter.until];
  for (const key of ['provider', 'ip', 'pool'] as const) {
    const value = filter[key];
    if (value === undefined) continue;
    clauses.push(`${key} = ?`);
    params.push(value);
  }
  return { sql: clauses.join(' AND '), params };
}

/** Counts over a window, grouped by provider, IP or pool; biggest first. */
export function trafficTotals(db: Database, filter: TrafficFilter, by: TrafficGrouping): TrafficTotals[] {
  const { sql, params } = where(filter, 'minute');
  const rows = db.statement(`SELECT * FROM traffic_minutes WHERE ${sql}`).all(...params) as Record<string, unknown>[];
  const groups = new Map<string, TrafficTotals>();
  for (const minute of rows.map(toMinute)) {
    const key = minute[by];
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { key, counts: emptyCounts(), classes: {}, latencySum: 0, latencyCount: 0 }));
    for (const outcome of Object.keys(group.counts) as TrafficOutcome[]) group.counts[outcome] += minute.counts[outcome];
    for (const [name, count] of Object.entries(minute.classes)) group.classes[name] = (group.classes[name] ?? 0) + count;
    group.latencySum += minute.latencySum;
    group.latencyCount += minute.latencyCount;
    if (minute.latencyMax !== undefined) group.latencyMax = Math.max(group.latencyMax ?? 0, minute.latencyMax);
  }
  const size = (totals: TrafficTotals) => Object.values(totals.counts).reduce((sum, count) => sum + count, 0);
  return [...groups.values()].sort((a, b) => size(b) - size(a) || (a.key < b.key ? -1 : 1));
}

/** What the receivers said most over a window (hours overlapping it), most often first. */
export function topReasons(db: Database, filter: TrafficFilter, limit: number): Omit<TrafficReason, 'hour'>[] {
  const hourly = { ...filter, since: Math.floor(filter.since / 3_600_000) * 3_600_000 };
  const clauses = ['hour >= ?', 'hour < ?'];
  const params: (string | number)[] = [hourly.since, hourly.until];
  if (filter.provider !== undefined) {
    clauses.push('provider = ?');
    params.push(filter.provider);
  }
  return (
    db
      .statement(
        `SELECT provider, class, reason, sum(count) AS count, max(last_seen) AS last_seen, max(example) AS example FROM traffic_reasons WHERE ${clauses.join(' AND ')}
         GROUP BY provider, class, reason ORDER BY count DESC, last_seen DESC LIMIT ?`,
      )
      .all(...params, limit) as Record<string, unknown>[]
  ).map((row) => ({ provider: String(row.provider), class: String(row.class), reason: String(row.reason), count: Number(row.count), lastSeen: Number(row.last_seen), example: String(row.example) }));
}

/** Minutes already written out and reasons older than the cutoff go, at most `limit` of each (retention). Returns how many rows were deleted. */
export function pruneTraffic(db: Database, cutoff: number, limit: number): number {
  return db.transaction(() => {
    const minutes = Number(db.statement('DELETE FROM traffic_minutes WHERE rowid IN (SELECT rowid FROM traffic_minutes WHERE minute < ? AND dirty = 0 LIMIT ?)').run(cutoff, limit).changes);
    const reasons = Number(db.statement('DELETE FROM traffic_reasons WHERE rowid IN (SELECT rowid FROM traffic_reasons WHERE hour < ? LIMIT ?)').run(cutoff, limit).changes);
    return minutes + reasons;
  });
}

/** Slices of traffic as a control's scope names them (the keys the aggregates are kept by). */
export interface TrafficSlice {
  provider?: string | undefined;
  ip?: string | undefined;
  pool?: string | undefined;
  campaign?: string | undefined;
}

/** Attempts per minute in the slice over [since, until): what it was sending. */
export function sendRate(db: Database, slice: TrafficSlice, since: number, until: number): number {
  const clauses = ['minute >= ?', 'minute < ?'];
  const params: (string | number)[] = [since, until];
  for (const key of ['provider', 'ip', 'pool', 'campaign'] as const) {
    const value = slice[key];
    if (value === undefined) continue;
    clauses.push(`${key} = ?`);
    params.push(value);
  }
  const row = db.statement(`SELECT coalesce(sum(delivered + deferred + bounced + expired), 0) AS attempts FROM traffic_minutes WHERE ${clauses.join(' AND ')}`).get(...params) as { attempts: number };
  return Number(row.attempts) / Math.max(1, (until - since) / 60_000);
}

/** Delivered and complained counts over a window for a provider (and IP, when given): the complaint rate's denominator. */
export function deliveredSince(db: Database, filter: { provider: string; ip?: string | undefined; since: number }): { delivered: number; complained: number } {
  const clauses = ['minute >= ?', 'provider = ?'];
  const params: (string | number)[] = [filter.since, filter.provider];
  if (filter.ip !== undefined) {
    clauses.push('ip = ?');
    params.push(filter.ip);
  }
  const row = db.statement(`SELECT coalesce(sum(delivered), 0) AS delivered, coalesce(sum(complained), 0) AS complained FROM traffic_minutes WHERE ${clauses.join(' AND ')}`).get(...params) as {
    delivered: number;
    complained: number;
  };
  return { delivered: Number(row.delivered), complained: Number(row.complained) };
}
