import type { FieldValue, Observation } from '../core/observation.ts';
import type { Database } from './database.ts';

export const runTriggers = ['schedule', 'api', 'cli'] as const;
export type RunTrigger = (typeof runTriggers)[number];

/** What one run of a probe produced, before it is recorded. */
export interface RunResult {
  probeId: string;
  kind: string;
  trigger: RunTrigger;
  startedAt: Date;
  finishedAt: Date;
  durationMs: number;
  success: boolean;
  error?: { code: string; message: string };
  observations: Observation[];
}

export interface StoredRun {
  id: number;
  probe: string;
  kind: string;
  trigger: RunTrigger;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  success: boolean;
  error: { code: string; message: string } | null;
  observationCount: number;
}

export interface StoredObservation {
  id: number;
  runId: number;
  probe: string;
  measurement: string;
  time: string;
  tags: Record<string, string>;
  fields: Record<string, FieldValue>;
}

interface RunRow {
  id: number;
  probe_id: string;
  kind: string;
  trigger: RunTrigger;
  started_at: number;
  finished_at: number;
  duration_ms: number;
  success: number;
  error_code: string | null;
  error_message: string | null;
  observation_count: number;
}

interface ObservationRow {
  id: number;
  run_id: number;
  probe_id: string;
  measurement: string;
  time: number;
  tags: string;
  fields: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

function toRun(row: RunRow): StoredRun {
  return {
    id: row.id,
    probe: row.probe_id,
    kind: row.kind,
    trigger: row.trigger,
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
    durationMs: row.duration_ms,
    success: row.success === 1,
    error: row.error_code === null ? null : { code: row.error_code, message: row.error_message ?? '' },
    observationCount: row.observation_count,
  };
}

function toObservation(row: ObservationRow): StoredObservation {
  return {
    id: row.id,
    runId: row.run_id,
    probe: row.probe_id,
    measurement: row.measurement,
    time: iso(row.time),
    tags: JSON.parse(row.tags) as Record<string, string>,
    fields: JSON.parse(row.fields) as Record<string, FieldValue>,
  };
}

/** Inside a transaction (see record()): the run row, then its observations. */
export function insertRun(db: Database, run: RunResult, observationCount: number): number {
  const result = db
    .statement(
      `INSERT INTO probe_runs (probe_id, kind, trigger, started_at, finished_at, duration_ms, success, error_code, error_message, observation_count)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      run.probeId,
      run.kind,
      run.trigger,
      run.startedAt.getTime(),
      run.finishedAt.getTime(),
      run.durationMs,
      run.success ? 1 : 0,
      run.error?.code ?? null,
      run.error?.message ?? null,
      observationCount,
    );
  return Number(result.lastInsertRowid);
}

export function insertObservation(db: Database, runId: number, probeId: string, observation: Observation): void {
  db.statement('INSERT INTO observations (run_id, probe_id, measurement, time, tags, fields) VALUES (?, ?, ?, ?, ?, ?)').run(
    runId,
    probeId,
    observation.measurement,
    observation.time.getTime(),
    JSON.stringify(observation.tags),
    JSON.stringify(observation.fields),
  );
}

export interface TimeWindow {
  since?: Date | undefined;
  until?: Date | undefined;
  limit: number;
}

function windowClauses(column: string, window: TimeWindow, where: string[], params: (string | number)[]): void {
  if (window.since) {
    where.push(`${column} >= ?`);
    params.push(window.since.getTime());
  }
  if (window.until) {
    where.push(`${column} < ?`);
    params.push(window.until.getTime());
  }
}

/** Newest first. */
export function listRuns(db: Database, query: TimeWindow & { probe?: string | undefined }): StoredRun[] {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (query.probe !== undefined) {
    where.push('probe_id = ?');
    params.push(query.probe);
  }
  windowClauses('started_at', query, where, params);
  const sql = `SELECT * FROM probe_runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC, id DESC LIMIT ?`;
  return (db.db.prepare(sql).all(...params, query.limit) as unknown as RunRow[]).map(toRun);
}

export function getRun(db: Database, id: number): StoredRun | undefined {
  const row = db.statement('SELECT * FROM probe_runs WHERE id = ?').get(id) as RunRow | undefined;
  return row ? toRun(row) : undefined;
}

export function lastRunOf(db: Database, probeId: string): StoredRun | undefined {
  const row = db.statement('SELECT * FROM probe_runs WHERE probe_id = ? ORDER BY started_at DESC, id DESC LIMIT 1').get(probeId) as
    | RunRow
    | undefined;
  return row ? toRun(row) : undefined;
}

export function observationsOfRun(db: Database, runId: number): StoredObservation[] {
  return (db.statement('SELECT * FROM observations WHERE run_id = ? ORDER BY id').all(runId) as unknown as ObservationRow[]).map(
    toObservation,
  );
}

/** Newest first. */
export function listObservations(
  db: Database,
  query: TimeWindow & { probe?: string | undefined; measurement?: string | undefined },
): StoredObservation[] {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (query.measurement !== undefined) {
    where.push('measurement = ?');
    params.push(query.measurement);
  }
  if (query.probe !== undefined) {
    where.push('probe_id = ?');
    params.push(query.probe);
  }
  windowClauses('time', query, where, params);
  const sql = `SELECT * FROM observations ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY time DESC, id DESC LIMIT ?`;
  return (db.db.prepare(sql).all(...params, query.limit) as unknown as ObservationRow[]).map(toObservation);
}
