import type { Observation } from '../core/observation.ts';
import { measurementSpec } from '../measurements/index.ts';
import { forKeys, insertRows, selectForKeys } from './bulk.ts';
import type { Database } from './database.ts';

/** One series: the measurement and every tag, in a stable order. */
export function seriesKey(observation: Observation): string {
  const tags = Object.entries(observation.tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${observation.measurement}|${tags.map(([key, value]) => `${key}=${value}`).join(',')}`;
}

/**
 * Inside record()'s transaction, for measurements with a `changes` spec: remember
 * the series' digest and value, and return the change observation when the digest
 * differs from the one remembered. The first sighting is not a change.
 */
export function detectChange(db: Database, observation: Observation): Observation | undefined {
  const changes = measurementSpec(observation.measurement)?.changes;
  if (!changes) return undefined;
  const digest = observation.fields[changes.digest];
  const value = observation.fields[changes.value];
  if (typeof digest !== 'string' || typeof value !== 'string') return undefined;
  const key = seriesKey(observation);
  const at = observation.time.getTime();
  const row = db.statement('SELECT digest, value FROM series_digest WHERE series = ?').get(key) as { digest: string; value: string } | undefined;
  if (row?.digest === digest) {
    db.statement('UPDATE series_digest SET updated_at = ? WHERE series = ?').run(at, key);
    return undefined;
  }
  db.statement(
    'INSERT INTO series_digest (series, digest, value, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (series) DO UPDATE SET digest = excluded.digest, value = excluded.value, updated_at = excluded.updated_at',
  ).run(key, digest, value, at);
  if (!row) return undefined;
  return {
    measurement: changes.into,
    tags: observation.tags,
    fields: {
      [`old_${changes.value}`]: row.value,
      [`new_${changes.value}`]: value,
      [`old_${changes.digest}`]: row.digest,
      [`new_${changes.digest}`]: digest,
    },
    time: observation.time,
  };
}

/**
 * Inside record()'s transaction: for measurements with a `since` state (a listing's
 * first sighting), start, keep or end it, and write its start time into each
 * observation. A run's observations in a few statements rather than two or three
 * each; observations of a series seen twice in one call go one at a time, in order.
 */
export function applySeriesStates(db: Database, observations: readonly Observation[]): Observation[] {
  const keyed = observations.map((observation) => {
    const since = measurementSpec(observation.measurement)?.since;
    const state = since ? observation.fields[since.when] : undefined;
    return typeof state === 'boolean' && since ? { observation, since, state, key: seriesKey(observation), at: observation.time.getTime() } : undefined;
  });
  const tracked = keyed.filter((entry) => entry !== undefined);
  if (new Set(tracked.map((entry) => entry.key)).size !== tracked.length) return observations.map((observation) => applySeriesStates(db, [observation])[0]!);
  const ended = tracked.filter((entry) => !entry.state).map((entry) => entry.key);
  forKeys(db, ended, (keys) => `DELETE FROM series_state WHERE series IN (${keys})`);
  const on = tracked.filter((entry) => entry.state);
  const known = new Map(
    selectForKeys(
      db,
      on.map((entry) => entry.key),
      (keys) => `SELECT series, since FROM series_state WHERE series IN (${keys})`,
    ).map((row) => [String(row.series), Number(row.since)]),
  );
  // Kept: a new updated_at, the same for every series of one time (a run's observations share theirs).
  for (const [at, entries] of Map.groupBy(
    on.filter((entry) => known.has(entry.key)),
    (entry) => entry.at,
  ))
    forKeys(
      db,
      entries.map((entry) => entry.key),
      (keys) => `UPDATE series_state SET updated_at = ? WHERE series IN (${keys})`,
      [at],
    );
  insertRows(
    db,
    'series_state',
    ['series', 'since', 'updated_at'],
    on.filter((entry) => !known.has(entry.key)).map((entry) => [entry.key, entry.at, entry.at]),
  );
  return keyed.map((entry, index) => {
    const observation = observations[index]!;
    if (!entry) return observation;
    if (!entry.state) {
      const { [entry.since.field]: _dropped, ...fields } = observation.fields;
      return { ...observation, fields };
    }
    return { ...observation, fields: { ...observation.fields, [entry.since.field]: known.get(entry.key) ?? entry.at } };
  });
}
