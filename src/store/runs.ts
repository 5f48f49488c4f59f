import type { FieldValue, Observation } from '../core/observation.ts';
import { insertRows } from './bulk.ts';
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
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    )
    .get(
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
  return Number((result as { id: number }).id);
}

/** A run's observations, in order, in a few statements. */
export function insertObservations(db: Database, runId: number, probeId: string, observations: readonly Observation[]): void {
  insertRows(
    db,
    'observations',
    ['run_id', 'probe_id', 'measurement', 'time', 'tags', 'fields'],
    observations.map((observation) => [runId, probeId, observation.measurement, observation.time.getTime(), JSON.stringify(observation.tags), JSON.stringify(observation.fields)]),
  );
}

/** Where a page of a newest-first list ends: the last row's time and id (the next page starts after it). */
export interface PageKey {
  time: number;
  id: number | string;
}

export interface TimeWindow {
  since?: Date | undefined;
  until?: Date | undefined;
  limit: number;
  /** Only rows after this one in the order (older, or as old with a smaller id). */
  after?: PageKey | undefined;
}

/**
 * Rows of a table matching the given columns (undefined: any; a list: any of) within a time window,
 * newest first (ties by id, highest first), after the page key when one is given.
 */
export function newestFirst(
  db: Database,
  table: string,
  timeColumn: string,
  equals: Record<string, string | readonly string[] | undefined>,
  window: TimeWindow,
  extra: { where?: string[]; params?: (string | number)[]; idColumn?: string } = {},
): unknown[] {
  const idColumn = extra.idColumn ?? 'id';
  const where: string[] = [...(extra.where ?? [])];
  const params: (string | number)[] = [...(extra.params ?? [])];
  for (const [column, value] of Object.entries(equals)) {
    if (value === undefined) continue;
    if (typeof value === 'string') where.push(`${column} = ?`);
    else where.push(`${column} IN (${value.map(() => '?').join(', ')})`);
    params.push(...[value].flat());
  }
  if (window.since) {
    where.push(`${timeColumn} >= ?`);
    params.push(window.since.getTime());
  }
  if (window.until) {
    where.push(`${timeColumn} < ?`);
    params.push(window.until.getTime());
  }
  if (window.after) {
    where.push(`(${timeColumn} < ? OR (${timeColumn} = ? AND ${idColumn} < ?))`);
    params.push(window.after.time, window.after.time, window.after.id);
  }
  const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  const columns = idColumn === 'id' ? '*' : `*, ${idColumn} AS page_id`;
  return db.statement(`SELECT ${columns} FROM ${table} ${filter} ORDER BY ${timeColumn} DESC, ${idColumn} DESC LIMIT ?`).all(...params, window.limit);
}

export function listRuns(db: Database, query: TimeWindow & { probe?: string | undefined }): StoredRun[] {
  return (newestFirst(db, 'probe_runs', 'started_at', { probe_id: query.probe }, query) as RunRow[]).map(toRun);
}

export function getRun(db: Database, id: number): StoredRun | undefined {
  const row = db.statement('SELECT * FROM probe_runs WHERE id = ?').get(id) as RunRow | undefined;
  return row ? toRun(row) : undefined;
}

export function lastRunOf(db: Database, probeId: string): StoredRun | undefined {
  const row = db.statement('SELECT * FROM probe_runs WHERE probe_id = ? ORDER BY started_at DESC, id DESC LIMIT 1').get(probeId) as RunRow | undefined;
  return row ? toRun(row) : undefined;
}

export function observationsOfRun(db: Database, runId: number): StoredObservation[] {
  return (db.statement('SELECT * FROM observations WHERE run_id = ? ORDER BY id').all(runId) as unknown as ObservationRow[]).map(toObservation);
}

/** Newest first. */
export function listObservations(db: Database, query: TimeWindow & { probe?: string | undefined; measurement?: string | undefined }): StoredObservation[] {
  return (newestFirst(db, 'observations', 'time', { measurement: query.measurement, probe_id: query.probe }, query) as ObservationRow[]).map(toObservation);
}

/**
 * One series' history for a person looking into it (the console's drill-downs): observations of
 * a measurement whose tag `tag` is `value`, in a window, newest first. The measurement's index
 * bounds the window; the tag is read from each row in it.
 */
export function observationsTagged(db: Database, query: { measurement: string; tag: string; value: string; since: number; until: number; limit: number }): StoredObservation[] {
  if (!/^[a-z_][a-z0-9_]*$/.test(query.tag)) throw new Error(`not a tag name: ${query.tag}`);
  const rows = db
    .statement(`SELECT * FROM observations WHERE measurement = ? AND time >= ? AND time < ? AND ${db.dialect.jsonText('tags', query.tag)} = ? ORDER BY time DESC, id DESC LIMIT ?`)
    .all(query.measurement, query.since, query.until, query.value, query.limit) as unknown as ObservationRow[];
  return rows.map(toObservation);
}
