import type { Observation } from '../core/observation.ts';
import { measurementSpec } from '../series/registry.ts';
import type { Database } from './database.ts';

/** One series: the measurement and every tag, in a stable order. */
export function seriesKey(observation: Observation): string {
  const tags = Object.entries(observation.tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${observation.measurement}|${tags.map(([key, value]) => `${key}=${value}`).join(',')}`;
}

/**
 * Inside record()'s transaction: for measurements with a `since` state, start,
 * keep or end it, and write its start time into the observation.
 */
export function applySeriesState(db: Database, observation: Observation): Observation {
  const since = measurementSpec(observation.measurement)?.since;
  if (!since) return observation;
  const state = observation.fields[since.when];
  if (typeof state !== 'boolean') return observation;
  const key = seriesKey(observation);
  const at = observation.time.getTime();
  if (!state) {
    db.statement('DELETE FROM series_state WHERE series = ?').run(key);
    const { [since.field]: _dropped, ...fields } = observation.fields;
    return { ...observation, fields };
  }
  const row = db.statement('SELECT since FROM series_state WHERE series = ?').get(key) as { since: number } | undefined;
  const start = row?.since ?? at;
  if (row) db.statement('UPDATE series_state SET updated_at = ? WHERE series = ?').run(at, key);
  else db.statement('INSERT INTO series_state (series, since, updated_at) VALUES (?, ?, ?)').run(key, start, at);
  return { ...observation, fields: { ...observation.fields, [since.field]: start } };
}
