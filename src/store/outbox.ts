import { insertRows } from './bulk.ts';
import type { Database } from './database.ts';

/**
 * Line protocol waiting for the time-series database. Rows are written in the
 * same transaction as the results they describe and deleted only once the
 * server acknowledged them, so neither an outage nor a SIGKILL loses a point.
 */
export function enqueueLine(db: Database, line: string, at: Date): void {
  db.statement('INSERT INTO outbox (line, created_at) VALUES (?, ?)').run(line, at.getTime());
}

/** Many lines of one time, in order, in a few statements. */
export function enqueueLines(db: Database, lines: readonly string[], at: Date): void {
  insertRows(
    db,
    'outbox',
    ['line', 'created_at'],
    lines.map((line) => [line, at.getTime()]),
  );
}

export interface OutboxRow {
  id: number;
  line: string;
  createdAt: number;
}

/** The oldest lines, in the order they were recorded. */
export function takeBatch(db: Database, limit: number): OutboxRow[] {
  return (db.statement('SELECT id, line, created_at FROM outbox ORDER BY id LIMIT ?').all(limit) as { id: number; line: string; created_at: number }[]).map((row) => ({
    id: Number(row.id),
    line: row.line,
    createdAt: Number(row.created_at),
  }));
}

/**
 * The server acknowledged these rows: they leave the outbox. Rows come from
 * takeBatch (the lowest ids, in order) or a contiguous slice of it, so every row
 * with an id between the first and the last is one of them: nothing else can hold
 * such an id, since new rows always get a higher one.
 */
export function acknowledge(db: Database, rows: OutboxRow[]): void {
  if (rows.length === 0) return;
  db.statement('DELETE FROM outbox WHERE id BETWEEN ? AND ?').run(rows[0]!.id, rows.at(-1)!.id);
}

/** The server refused this line as malformed: it moves to the quarantine with the server's reason, in one transaction. */
export function quarantine(db: Database, row: OutboxRow, reason: string, at: Date): void {
  db.transaction(() => {
    db.statement('INSERT INTO outbox_quarantine (line, created_at, quarantined_at, reason) VALUES (?, ?, ?, ?)').run(row.line, row.createdAt, at.getTime(), reason.slice(0, 2_000));
    db.statement('DELETE FROM outbox WHERE id = ?').run(row.id);
  });
}

export interface OutboxStats {
  depth: number;
  /** Age of the oldest line waiting, ms; 0 when the outbox is empty. */
  oldestAgeMs: number;
  quarantined: number;
}

export function outboxStats(db: Database, now: Date): OutboxStats {
  const row = db.statement('SELECT count(*) AS n, min(created_at) AS oldest FROM outbox').get() as { n: number; oldest: number | null };
  const quarantined = (db.statement('SELECT count(*) AS n FROM outbox_quarantine').get() as { n: number }).n;
  return { depth: Number(row.n), oldestAgeMs: row.oldest === null ? 0 : Math.max(0, now.getTime() - Number(row.oldest)), quarantined: Number(quarantined) };
}

export interface QuarantinedLine {
  id: number;
  line: string;
  createdAt: number;
  quarantinedAt: number;
  reason: string;
}

/** Newest first; with `beforeId`, only lines quarantined before that one (the next page). */
export function listQuarantine(db: Database, limit: number, beforeId?: number): QuarantinedLine[] {
  const rows = db.statement('SELECT id, line, created_at, quarantined_at, reason FROM outbox_quarantine WHERE id < ? ORDER BY id DESC LIMIT ?').all(beforeId ?? Number.MAX_SAFE_INTEGER, limit);
  return (rows as Record<string, unknown>[]).map((row) => ({
    id: Number(row.id),
    line: String(row.line),
    createdAt: Number(row.created_at),
    quarantinedAt: Number(row.quarantined_at),
    reason: String(row.reason),
  }));
}
