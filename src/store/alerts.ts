/** Alert instances, their notifications (a delivery queue per channel) and silences. */
import { createHash, randomUUID } from 'node:crypto';
import type { DeliveryStatus } from '../core/alert-vocabulary.ts';
import type { FieldValue } from '../core/observation.ts';
import type { Database } from './database.ts';
import { newestFirst, type PageKey } from './runs.ts';

/** The state machine's state, as alerts/state.ts defines it; stored as JSON. */
export interface StoredMachine {
  state: string;
  [key: string]: unknown;
}

export interface AlertRow {
  id: string;
  ruleId: string;
  series: string;
  labels: Record<string, string>;
  severity: string;
  state: string;
  machine: StoredMachine;
  lastValue?: FieldValue;
  details: Record<string, string>;
  createdAt: number;
  updatedAt: number;
}

/** A series as a key: its tags, sorted. */
export function seriesKey(tags: Record<string, string>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/** The alert's id: stable for a rule and a series, short enough to type. */
export function alertId(ruleId: string, series: string): string {
  return createHash('sha256').update(`${ruleId}\n${series}`).digest('hex').slice(0, 16);
}

function toAlert(row: Record<string, unknown>): AlertRow {
  return {
    id: String(row.id),
    ruleId: String(row.rule_id),
    series: String(row.series),
    labels: JSON.parse(String(row.labels)) as Record<string, string>,
    severity: String(row.severity),
    state: String(row.state),
    machine: JSON.parse(String(row.machine)) as StoredMachine,
    ...(row.last_value === null ? {} : { lastValue: JSON.parse(String(row.last_value)) as FieldValue }),
    details: JSON.parse(String(row.details)) as Record<string, string>,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function getAlert(db: Database, id: string): AlertRow | undefined {
  const row = db.statement('SELECT * FROM alerts WHERE id = ?').get(id) as Record<string, unknown> | undefined;
  return row ? toAlert(row) : undefined;
}

export function saveAlert(db: Database, alert: AlertRow): void {
  db.statement(
    `INSERT INTO alerts (id, rule_id, series, labels, severity, state, machine, last_value, details, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET labels = excluded.labels, severity = excluded.severity, state = excluded.state, machine = excluded.machine,
       last_value = excluded.last_value, details = excluded.details, updated_at = excluded.updated_at`,
  ).run(
    alert.id,
    alert.ruleId,
    alert.series,
    JSON.stringify(alert.labels),
    alert.severity,
    alert.state,
    JSON.stringify(alert.machine),
    alert.lastValue === undefined ? null : JSON.stringify(alert.lastValue),
    JSON.stringify(alert.details),
    alert.createdAt,
    alert.updatedAt,
  );
}

export function listAlerts(db: Database, filter: { states?: readonly string[]; severity?: string; rule?: string; limit: number; after?: PageKey | undefined }): AlertRow[] {
  const states = filter.states?.length ? filter.states : undefined;
  return (newestFirst(db, 'alerts', 'updated_at', { state: states, severity: filter.severity, rule_id: filter.rule }, { limit: filter.limit, after: filter.after }) as Record<string, unknown>[]).map(
    toAlert,
  );
}

/** Instances a tick must look at: firing, or what people were told differs, or held back by flapping. */
export function alertsToReview(db: Database): AlertRow[] {
  return (
    db
      .statement(
        `SELECT * FROM alerts WHERE state = 'firing' OR ${db.dialect.jsonTrue('machine', 'flapping')} OR (state IN ('resolved', 'inactive') AND ${db.dialect.jsonText('machine', 'notified')} = 'firing')`,
      )
      .all() as Record<string, unknown>[]
  ).map(toAlert);
}

// ── notifications ──────────────────────────────────────────────────────────────

export interface NotificationRow {
  id: number;
  alertId: string;
  channel: string;
  event: string;
  payload: Record<string, unknown>;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  lastError?: string;
  createdAt: number;
  sentAt?: number;
}

function toNotification(row: Record<string, unknown>): NotificationRow {
  return {
    id: Number(row.id),
    alertId: String(row.alert_id),
    channel: String(row.channel),
    event: String(row.event),
    payload: JSON.parse(String(row.payload)) as Record<string, unknown>,
    status: String(row.status) as DeliveryStatus,
    attempts: Number(row.attempts),
    nextAttemptAt: Number(row.next_attempt_at),
    ...(row.last_error === null ? {} : { lastError: String(row.last_error) }),
    createdAt: Number(row.created_at),
    ...(row.sent_at === null ? {} : { sentAt: Number(row.sent_at) }),
  };
}

export function enqueueNotification(db: Database, notification: { alertId: string; channel: string; event: string; payload: Record<string, unknown>; at: number }): number {
  const result = db
    .statement(`INSERT INTO notifications (alert_id, channel, event, payload, status, next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', ?, ?) RETURNING id`)
    .get(notification.alertId, notification.channel, notification.event, JSON.stringify(notification.payload), notification.at, notification.at);
  return Number((result as { id: number }).id);
}

export function dueNotifications(db: Database, now: number, limit: number): NotificationRow[] {
  return (db.statement(`SELECT * FROM notifications WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`).all(now, limit) as Record<string, unknown>[]).map(
    toNotification,
  );
}

/** The earliest pending attempt, those in flight aside, to know how long to sleep. */
export function nextNotificationAt(db: Database, inFlight: readonly number[]): number | undefined {
  const row = db.statement(`SELECT min(next_attempt_at) AS at FROM notifications WHERE status = 'pending' AND id NOT IN (${db.dialect.numbersOf('?')})`).get(JSON.stringify(inFlight)) as {
    at: number | null;
  };
  return row.at === null ? undefined : Number(row.at);
}

export function markSent(db: Database, id: number, at: number): void {
  db.statement(`UPDATE notifications SET status = 'sent', attempts = attempts + 1, sent_at = ?, last_error = NULL WHERE id = ?`).run(at, id);
}

/** A failed attempt: tried again at `retryAt`, or given up (`retryAt` undefined). */
export function markAttemptFailed(db: Database, id: number, error: string, retryAt: number | undefined): void {
  if (retryAt === undefined) db.statement(`UPDATE notifications SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?`).run(error, id);
  else db.statement(`UPDATE notifications SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?`).run(error, retryAt, id);
}

export function listNotifications(db: Database, filter: { alertId?: string; status?: DeliveryStatus; limit: number; after?: PageKey | undefined }): NotificationRow[] {
  return (newestFirst(db, 'notifications', 'created_at', { alert_id: filter.alertId, status: filter.status }, { limit: filter.limit, after: filter.after }) as Record<string, unknown>[]).map(
    toNotification,
  );
}

// ── silences ───────────────────────────────────────────────────────────────────

export interface SilenceRow {
  id: string;
  /** label → value; the rule id is the label `rule`, the severity `severity`. */
  matchers: Record<string, string>;
  startsAt: number;
  endsAt: number;
  comment: string;
  createdBy: string;
  createdAt: number;
  deletedAt?: number;
  deletedBy?: string;
}

function toSilence(row: Record<string, unknown>): SilenceRow {
  return {
    id: String(row.id),
    matchers: JSON.parse(String(row.matchers)) as Record<string, string>,
    startsAt: Number(row.starts_at),
    endsAt: Number(row.ends_at),
    comment: String(row.comment),
    createdBy: String(row.created_by),
    createdAt: Number(row.created_at),
    ...(row.deleted_at === null ? {} : { deletedAt: Number(row.deleted_at), deletedBy: String(row.deleted_by) }),
  };
}

export function createSilence(db: Database, silence: Omit<SilenceRow, 'id' | 'deletedAt' | 'deletedBy'>): SilenceRow {
  const id = randomUUID();
  db.statement('INSERT INTO silences (id, matchers, starts_at, ends_at, comment, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    id,
    JSON.stringify(silence.matchers),
    silence.startsAt,
    silence.endsAt,
    silence.comment,
    silence.createdBy,
    silence.createdAt,
  );
  return { id, ...silence };
}

export function getSilence(db: Database, id: string): SilenceRow | undefined {
  const row = db.statement('SELECT * FROM silences WHERE id = ?').get(id) as Record<string, unknown> | undefined;
  return row ? toSilence(row) : undefined;
}

/** Ends a silence now; false when there is none with that id, or it already ended. */
export function deleteSilence(db: Database, id: string, by: string, at: number): boolean {
  return Number(db.statement('UPDATE silences SET deleted_at = ?, deleted_by = ? WHERE id = ? AND deleted_at IS NULL AND ends_at > ?').run(at, by, id, at).changes) > 0;
}

/** Newest first; with `activeAt`, only those in effect then (every one of them when no limit is given). */
export function listSilences(db: Database, filter: { activeAt?: number; limit?: number; after?: PageKey | undefined }): SilenceRow[] {
  const active = filter.activeAt === undefined ? {} : { where: ['deleted_at IS NULL', 'starts_at <= ?', 'ends_at > ?'], params: [filter.activeAt, filter.activeAt] };
  const rows = newestFirst(db, 'silences', 'created_at', {}, { limit: filter.limit ?? Number.MAX_SAFE_INTEGER, after: filter.after }, { ...active, idColumn: 'rowid' });
  return (rows as Record<string, unknown>[]).map(toSilence);
}

/** Where a silence sits in the newest-first order (its creation time and row). */
export function silencePageKey(db: Database, id: string): PageKey {
  const row = db.statement('SELECT created_at, rowid FROM silences WHERE id = ?').get(id) as { created_at: number; rowid: number };
  return { time: Number(row.created_at), id: Number(row.rowid) };
}
