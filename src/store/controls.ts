/** Controls (pauses and throttles), the audit log, pushes to platforms and held messages. */
import type { ControlAction, PushOperation, PushStatus } from '../core/control-vocabulary.ts';
import type { Scope, Traffic } from '../core/scope.ts';
import type { Database } from './database.ts';
import { newestFirst, type PageKey } from './runs.ts';

export interface ControlRow {
  id: string;
  action: ControlAction;
  scope: Scope;
  ratePerMinute?: number;
  reason: string;
  /** `rule:<id>` or `token:<name>`. */
  source: string;
  ruleId?: string;
  alertId?: string;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  expiresAt?: number;
  /** The alert resolved: lifted at this time unless it fires again first. */
  liftAt?: number;
  /** From a rule whose controls stay until a person resumes them. */
  keepUntilResumed: boolean;
  liftedAt?: number;
  liftedBy?: string;
  liftReason?: string;
  /** A throttle whose rate follows the traffic (a rule's adaptive action). */
  adaptive?: AdaptiveState;
}

/** How an adaptive throttle steps: down while its alert fires, up once it resolves, lifted back at its ceiling. */
export interface AdaptiveState {
  everyMs: number;
  down: number;
  up: number;
  floor: number;
  /** The scope's send rate when it began (messages per minute): where it lifts. */
  ceiling: number;
  nextStepAt: number;
}

const optionalNumber = (value: unknown) => (value === null || value === undefined ? undefined : Number(value));

function toControl(row: Record<string, unknown>): ControlRow {
  const control: ControlRow = {
    id: String(row.id),
    action: String(row.action) as ControlAction,
    scope: JSON.parse(String(row.scope)) as Scope,
    reason: String(row.reason),
    source: String(row.source),
    createdBy: String(row.created_by),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    keepUntilResumed: Number(row.keep_until_resumed) === 1,
  };
  const rate = optionalNumber(row.rate_per_minute);
  if (rate !== undefined) control.ratePerMinute = rate;
  if (row.rule_id !== null) control.ruleId = String(row.rule_id);
  if (row.alert_id !== null) control.alertId = String(row.alert_id);
  const expiresAt = optionalNumber(row.expires_at);
  if (expiresAt !== undefined) control.expiresAt = expiresAt;
  const liftAt = optionalNumber(row.lift_at);
  if (liftAt !== undefined) control.liftAt = liftAt;
  if (row.adaptive !== null && row.adaptive !== undefined) control.adaptive = JSON.parse(String(row.adaptive)) as AdaptiveState;
  const liftedAt = optionalNumber(row.lifted_at);
  if (liftedAt !== undefined) {
    control.liftedAt = liftedAt;
    control.liftedBy = String(row.lifted_by);
    if (row.lift_reason !== null) control.liftReason = String(row.lift_reason);
  }
  return control;
}

export function insertControl(db: Database, control: ControlRow): void {
  db.statement(
    `INSERT INTO controls (id, action, scope, rate_per_minute, reason, source, rule_id, alert_id, created_by, created_at, updated_at, expires_at, lift_at, keep_until_resumed, adaptive)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    control.id,
    control.action,
    JSON.stringify(control.scope),
    control.ratePerMinute ?? null,
    control.reason,
    control.source,
    control.ruleId ?? null,
    control.alertId ?? null,
    control.createdBy,
    control.createdAt,
    control.updatedAt,
    control.expiresAt ?? null,
    control.liftAt ?? null,
    control.keepUntilResumed ? 1 : 0,
    control.adaptive ? JSON.stringify(control.adaptive) : null,
  );
}

/** The mutable parts of an active control: its rate, reason, expiry, pending lift, who holds it (source, kept until resumed), and how it adapts. */
export function updateControl(db: Database, control: ControlRow): void {
  db.statement('UPDATE controls SET rate_per_minute = ?, reason = ?, expires_at = ?, lift_at = ?, alert_id = ?, source = ?, keep_until_resumed = ?, adaptive = ?, updated_at = ? WHERE id = ?').run(
    control.ratePerMinute ?? null,
    control.reason,
    control.expiresAt ?? null,
    control.liftAt ?? null,
    control.alertId ?? null,
    control.source,
    control.keepUntilResumed ? 1 : 0,
    control.adaptive ? JSON.stringify(control.adaptive) : null,
    control.updatedAt,
    control.id,
  );
}

export function markLifted(db: Database, id: string, by: string, reason: string, at: number): boolean {
  return Number(db.statement('UPDATE controls SET lifted_at = ?, lifted_by = ?, lift_reason = ?, updated_at = ? WHERE id = ? AND lifted_at IS NULL').run(at, by, reason, at, id).changes) > 0;
}

export function getControl(db: Database, id: string): ControlRow | undefined {
  const row = db.statement('SELECT * FROM controls WHERE id = ?').get(id) as Record<string, unknown> | undefined;
  return row ? toControl(row) : undefined;
}

/** Every control not lifted (an expired one is lifted by the service as soon as it sees it). */
export function activeControls(db: Database): ControlRow[] {
  return (db.statement('SELECT * FROM controls WHERE lifted_at IS NULL ORDER BY created_at, rowid').all() as Record<string, unknown>[]).map(toControl);
}

/** An alert stands behind a control: the control stays while any of its alerts fires. */
export function linkAlert(db: Database, controlId: string, alertId: string, at: number): void {
  db.statement('INSERT OR IGNORE INTO control_alerts (control_id, alert_id, linked_at) VALUES (?, ?, ?)').run(controlId, alertId, at);
}

/** The active controls an alert stands behind. */
export function activeControlsOfAlert(db: Database, alertId: string): ControlRow[] {
  return (
    db
      .statement(
        'SELECT controls.* FROM control_alerts JOIN controls ON controls.id = control_alerts.control_id WHERE control_alerts.alert_id = ? AND controls.lifted_at IS NULL ORDER BY controls.created_at, controls.rowid',
      )
      .all(alertId) as Record<string, unknown>[]
  ).map(toControl);
}

/** The alerts behind a control that still fire, other than one. */
export function firingAlertsOf(db: Database, controlId: string, except: string): string[] {
  return (
    db
      .statement(
        "SELECT alerts.id FROM control_alerts JOIN alerts ON alerts.id = control_alerts.alert_id WHERE control_alerts.control_id = ? AND alerts.id != ? AND alerts.state = 'firing' ORDER BY alerts.id",
      )
      .all(controlId, except) as { id: string }[]
  ).map((row) => row.id);
}

/** Every alert linked to a control, oldest first. */
export function alertsOfControl(db: Database, controlId: string): string[] {
  return (db.statement('SELECT alert_id FROM control_alerts WHERE control_id = ? ORDER BY linked_at, alert_id').all(controlId) as { alert_id: string }[]).map((row) => row.alert_id);
}

export function findActiveControl(db: Database, action: ControlAction, scope: Scope): ControlRow | undefined {
  const row = db.statement('SELECT * FROM controls WHERE lifted_at IS NULL AND action = ? AND scope = ?').get(action, JSON.stringify(scope)) as Record<string, unknown> | undefined;
  return row ? toControl(row) : undefined;
}

export function listControls(db: Database, filter: { active?: boolean; source?: string; limit: number; after?: PageKey | undefined }): ControlRow[] {
  const where: string[] = [];
  if (filter.active !== undefined) where.push(filter.active ? 'lifted_at IS NULL' : 'lifted_at IS NOT NULL');
  const rows = newestFirst(db, 'controls', 'created_at', { source: filter.source }, { limit: filter.limit, after: filter.after }, { where, idColumn: 'rowid' });
  return (rows as Record<string, unknown>[]).map(toControl);
}

/** Where a control sits in the newest-first order (its creation time and row). */
export function controlPageKey(db: Database, id: string): PageKey {
  const row = db.statement('SELECT created_at, rowid FROM controls WHERE id = ?').get(id) as { created_at: number; rowid: number };
  return { time: Number(row.created_at), id: Number(row.rowid) };
}

// ── audit log ──────────────────────────────────────────────────────────────────

export interface AuditRow {
  id: number;
  at: number;
  actor: string;
  action: string;
  subject: string;
  details: Record<string, unknown>;
}

/** Append-only: who did what to which control, and why. */
export function audit(db: Database, entry: Omit<AuditRow, 'id'>): void {
  db.statement('INSERT INTO audit_log (at, actor, action, subject, details) VALUES (?, ?, ?, ?, ?)').run(entry.at, entry.actor, entry.action, entry.subject, JSON.stringify(entry.details));
}

export function listAudit(db: Database, filter: { subject?: string; actor?: string; limit: number; after?: PageKey | undefined }): AuditRow[] {
  return (newestFirst(db, 'audit_log', 'at', { subject: filter.subject, actor: filter.actor }, { limit: filter.limit, after: filter.after }) as Record<string, unknown>[]).map((row) => ({
    id: Number(row.id),
    at: Number(row.at),
    actor: String(row.actor),
    action: String(row.action),
    subject: String(row.subject),
    details: JSON.parse(String(row.details)) as Record<string, unknown>,
  }));
}

// ── pushes to platforms ────────────────────────────────────────────────────────

export interface PushRow {
  id: number;
  controlId: string;
  platform: string;
  operation: PushOperation;
  status: PushStatus;
  attempts: number;
  nextAttemptAt: number;
  lastError?: string;
  ref?: string;
  createdAt: number;
  doneAt?: number;
}

function toPush(row: Record<string, unknown>): PushRow {
  return {
    id: Number(row.id),
    controlId: String(row.control_id),
    platform: String(row.platform),
    operation: String(row.operation) as PushRow['operation'],
    status: String(row.status) as PushStatus,
    attempts: Number(row.attempts),
    nextAttemptAt: Number(row.next_attempt_at),
    ...(row.last_error === null ? {} : { lastError: String(row.last_error) }),
    ...(row.ref === null ? {} : { ref: String(row.ref) }),
    createdAt: Number(row.created_at),
    ...(row.done_at === null ? {} : { doneAt: Number(row.done_at) }),
  };
}

/** Queue a push; `skipped` with the reason when the platform cannot apply this control. */
export function enqueuePush(db: Database, push: { controlId: string; platform: string; operation: PushRow['operation']; at: number; due?: number; skipped?: string; ref?: string }): number {
  const result = db
    .statement('INSERT INTO control_pushes (control_id, platform, operation, status, next_attempt_at, last_error, ref, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id')
    .get(push.controlId, push.platform, push.operation, push.skipped ? 'skipped' : 'pending', push.due ?? push.at, push.skipped ?? null, push.ref ?? null, push.at);
  return Number((result as { id: number }).id);
}

export function nextPushAt(db: Database, inFlight: readonly number[]): number | undefined {
  const row = db.statement(`SELECT min(next_attempt_at) AS at FROM control_pushes WHERE status = 'pending' AND id NOT IN (${db.dialect.numbersOf('?')})`).get(JSON.stringify(inFlight)) as {
    at: number | null;
  };
  return row.at === null ? undefined : Number(row.at);
}

export function markPushDone(db: Database, id: number, at: number, ref: string | undefined): void {
  db.statement(`UPDATE control_pushes SET status = 'done', attempts = attempts + 1, done_at = ?, last_error = NULL, ref = coalesce(?, ref) WHERE id = ?`).run(at, ref ?? null, id);
}

/** A failed attempt: retried at `retryAt`, or given up (failed) without one. */
export function markPushFailed(db: Database, id: number, error: string, retryAt: number | undefined): void {
  if (retryAt === undefined) db.statement(`UPDATE control_pushes SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?`).run(error, id);
  else db.statement(`UPDATE control_pushes SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?`).run(error, retryAt, id);
}

export function pushesOf(db: Database, controlId: string): PushRow[] {
  return (db.statement('SELECT * FROM control_pushes WHERE control_id = ? ORDER BY id').all(controlId) as Record<string, unknown>[]).map(toPush);
}

// ── held messages ──────────────────────────────────────────────────────────────

export interface HeldMessage {
  platform: string;
  queueId: string;
  controlId: string;
  traffic: Traffic;
  heldAt: number;
  releasedAt?: number;
  releaseError?: string;
}

function toHeld(row: Record<string, unknown>): HeldMessage {
  return {
    platform: String(row.platform),
    queueId: String(row.queue_id),
    controlId: String(row.control_id),
    traffic: JSON.parse(String(row.traffic)) as Traffic,
    heldAt: Number(row.held_at),
    ...(row.released_at === null ? {} : { releasedAt: Number(row.released_at) }),
    ...(row.release_error === null ? {} : { releaseError: String(row.release_error) }),
  };
}

export function recordHeld(db: Database, held: Omit<HeldMessage, 'releasedAt' | 'releaseError'>): void {
  db.statement('INSERT INTO held_messages (platform, queue_id, control_id, traffic, held_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (platform, queue_id) DO NOTHING').run(
    held.platform,
    held.queueId,
    held.controlId,
    JSON.stringify(held.traffic),
    held.heldAt,
  );
}

export function heldBy(db: Database, controlId: string): HeldMessage[] {
  return (db.statement('SELECT * FROM held_messages WHERE control_id = ? AND released_at IS NULL ORDER BY held_at').all(controlId) as Record<string, unknown>[]).map(toHeld);
}

export function heldCount(db: Database, controlId: string): { held: number; released: number; releaseError?: string } {
  const row = db
    .statement(
      `SELECT count(*) FILTER (WHERE released_at IS NULL) AS held, count(released_at) AS released,
         (SELECT release_error FROM held_messages WHERE control_id = ? AND released_at IS NULL AND release_error IS NOT NULL ORDER BY held_at DESC LIMIT 1) AS error
       FROM held_messages WHERE control_id = ?`,
    )
    .get(controlId, controlId) as { held: number; released: number; error: string | null };
  return { held: Number(row.held), released: Number(row.released), ...(row.error !== null ? { releaseError: row.error } : {}) };
}

/** Held and released message counts of every control that has any (the heartbeat's points). */
export function heldCounts(db: Database): Map<string, { held: number; released: number }> {
  const rows = db.statement('SELECT control_id, count(*) FILTER (WHERE released_at IS NULL) AS held, count(released_at) AS released FROM held_messages GROUP BY control_id').all() as {
    control_id: string;
    held: number;
    released: number;
  }[];
  return new Map(rows.map((row) => [String(row.control_id), { held: Number(row.held), released: Number(row.released) }]));
}

/** The controls a push to some platform was given up for. */
export function controlsWithFailedPushes(db: Database): Set<string> {
  return new Set((db.statement("SELECT DISTINCT control_id FROM control_pushes WHERE status = 'failed'").all() as { control_id: string }[]).map((row) => String(row.control_id)));
}

/** Messages still held for controls that were lifted: to release (or to hand to another pause that still covers them). */
export function heldForLifted(db: Database, platform: string): HeldMessage[] {
  return (
    db
      .statement('SELECT h.* FROM held_messages h JOIN controls c ON c.id = h.control_id WHERE h.platform = ? AND h.released_at IS NULL AND c.lifted_at IS NOT NULL ORDER BY h.held_at')
      .all(platform) as Record<string, unknown>[]
  ).map(toHeld);
}

/** Still held, now by another control (a second pause covers it). */
export function reassignHeld(db: Database, platform: string, queueId: string, controlId: string): void {
  db.statement('UPDATE held_messages SET control_id = ? WHERE platform = ? AND queue_id = ?').run(controlId, platform, queueId);
}

/** Released (or found out of the hold queue: `note` says so); or, with `error`, still held and retried. */
export function markReleased(db: Database, platform: string, queueId: string, at: number, outcome: { error?: string; note?: string } = {}): void {
  if (outcome.error === undefined) db.statement('UPDATE held_messages SET released_at = ?, release_error = ? WHERE platform = ? AND queue_id = ?').run(at, outcome.note ?? null, platform, queueId);
  else db.statement('UPDATE held_messages SET release_error = ? WHERE platform = ? AND queue_id = ?').run(outcome.error, platform, queueId);
}

/** Pushes due now whose earlier pushes (same control, same platform) are settled: a lift never overtakes its apply. */
export function duePushesInOrder(db: Database, now: number, limit: number): PushRow[] {
  return (
    db
      .statement(
        `SELECT * FROM control_pushes p WHERE p.status = 'pending' AND p.next_attempt_at <= ?
           AND NOT EXISTS (SELECT 1 FROM control_pushes e WHERE e.control_id = p.control_id AND e.platform = p.platform AND e.id < p.id AND e.status = 'pending')
         ORDER BY p.next_attempt_at, p.id LIMIT ?`,
      )
      .all(now, limit) as Record<string, unknown>[]
  ).map(toPush);
}

/** Another control with the same scope has a lift waiting at this platform: an apply must not race it. */
export function pendingLiftOfSameScope(db: Database, platform: string, control: { id: string; scope: Scope }): string | undefined {
  const row = db
    .statement(`SELECT c.id FROM control_pushes p JOIN controls c ON c.id = p.control_id WHERE p.platform = ? AND p.operation = 'lift' AND p.status = 'pending' AND c.scope = ? AND c.id != ? LIMIT 1`)
    .get(platform, JSON.stringify(control.scope), control.id) as { id: string } | undefined;
  return row?.id;
}

/** A push that has nothing to do (a lift of something never applied), with the reason. */
export function markPushSkipped(db: Database, id: number, reason: string, at: number): void {
  db.statement(`UPDATE control_pushes SET status = 'skipped', last_error = ?, done_at = ? WHERE id = ?`).run(reason, at, id);
}
