import type { Observation } from '../core/observation.ts';
import { observationProblems, toLineProtocol } from '../measurements/index.ts';
import type { Database } from './database.ts';
import { enqueueLine, enqueueLines } from './outbox.ts';
import { insertObservations, insertRun, type RunResult } from './runs.ts';
import { applySeriesStates, detectChange } from './series-state.ts';

export interface Recorded {
  runId: number;
  success: boolean;
  error?: { code: string; message: string };
  observations: Observation[];
}

const maxProblemsInMessage = 5;

/**
 * Write a run, its observations and their outbox lines in ONE transaction. Each
 * observation is checked against the series registry first: one that does not
 * match is a bug in the probe, so the run is recorded as failed (SERIES_INVALID)
 * and none of its observations are kept. Every run also yields `probe_run`.
 * Series with a `since` state (a listing's first sighting) are updated in the
 * same transaction, and series with change detection add their change
 * observations (a DNS record that differs from the last run's). `within` runs in
 * the same transaction with everything recorded (the alert rules).
 */
export function record(db: Database, run: RunResult, within?: (observations: readonly Observation[]) => void): Recorded {
  const tagged = run.observations.map((observation) => ({
    ...observation,
    tags: { ...observation.tags, probe: run.probeId },
  }));
  const problems = tagged.flatMap(observationProblems);
  let outcome: Pick<RunResult, 'success' | 'error'> = run;
  let kept = tagged;
  if (problems.length > 0) {
    const shown = problems.slice(0, maxProblemsInMessage).join('; ');
    const more = problems.length > maxProblemsInMessage ? ` (and ${problems.length - maxProblemsInMessage} more)` : '';
    outcome = { success: false, error: { code: 'SERIES_INVALID', message: `observations do not match the series registry: ${shown}${more}` } };
    kept = [];
  }
  const probeRun: Observation = {
    measurement: 'probe_run',
    tags: { probe: run.probeId, kind: run.kind },
    fields: {
      success: outcome.success,
      duration_ms: run.durationMs,
      observations: kept.length,
      ...(outcome.error ? { error_code: outcome.error.code } : {}),
    },
    time: run.startedAt,
  };
  let all = [...kept, probeRun];
  const runId = db.transaction(() => {
    const changes = all.map((observation) => detectChange(db, observation));
    const stated = applySeriesStates(db, all);
    all = stated.flatMap((observation, index) => {
      const change = changes[index];
      return change ? [observation, change] : [observation];
    });
    const id = insertRun(db, { ...run, ...outcome }, kept.length);
    // A few statements for the lot (bulk.ts): on PostgreSQL each statement is a round trip.
    insertObservations(db, id, run.probeId, all);
    enqueueLines(
      db,
      all.map((observation) => toLineProtocol(observation)),
      run.finishedAt,
    );
    // Whatever follows from these observations (alert states, notifications) commits with them, or not at all.
    within?.(all);
    return id;
  });
  return { runId, success: outcome.success, ...(outcome.error ? { error: outcome.error } : {}), observations: all };
}

/**
 * A point Mailscope writes about itself (an alert's state), not from a probe run:
 * checked against the series registry like any observation, then queued for the
 * time-series database. Call inside the transaction that changes what it describes.
 */
export function recordPoint(db: Database, observation: Observation): void {
  const problems = observationProblems(observation);
  if (problems.length > 0) throw new Error(`point does not match the series registry: ${problems.join('; ')}`);
  enqueueLine(db, toLineProtocol(observation), observation.time);
}

/** recordPoint for many points of one time, in a few statements. */
export function recordPoints(db: Database, observations: readonly Observation[], at: Date): void {
  const problems = observations.flatMap(observationProblems);
  if (problems.length > 0) throw new Error(`points do not match the series registry: ${problems.slice(0, 5).join('; ')}`);
  enqueueLines(
    db,
    observations.map((observation) => toLineProtocol(observation)),
    at,
  );
}
