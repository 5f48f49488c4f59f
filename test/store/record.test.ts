import { describe, expect, it } from 'vitest';
import type { Observation } from '../../src/core/observation.ts';
import { Database } from '../../src/store/database.ts';
import { outboxStats } from '../../src/store/outbox.ts';
import { record } from '../../src/store/record.ts';
import { listObservations, listRuns, type RunResult } from '../../src/store/runs.ts';
import { tempDir } from '../helpers/temp.ts';

const startedAt = new Date('2026-11-23T10:00:00.000Z');
const finishedAt = new Date('2026-11-23T10:00:00.250Z');

function run(observations: Observation[], overrides: Partial<RunResult> = {}): RunResult {
  return { probeId: 'smtp-up', kind: 'tcp', trigger: 'schedule', startedAt, finishedAt, durationMs: 250, success: true, observations, ...overrides };
}

const up: Observation = {
  measurement: 'reachability',
  tags: { target: '127.0.0.1:25', protocol: 'tcp' },
  fields: { status: 'up', up: true, duration_ms: 3.5 },
  time: finishedAt,
};

function count(db: Database, table: string): number {
  return Number((db.statement(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n);
}

describe('record()', () => {
  it('writes the run, its observations tagged with the probe, probe_run, and one outbox line each', () => {
    const db = Database.open(tempDir());
    const recorded = record(db, run([up, { ...up, tags: { target: '127.0.0.1:587', protocol: 'tcp' } }]));
    expect(recorded.success).toBe(true);
    expect(listRuns(db, { limit: 10 })).toEqual([
      {
        id: recorded.runId,
        probe: 'smtp-up',
        kind: 'tcp',
        trigger: 'schedule',
        startedAt: '2026-11-23T10:00:00.000Z',
        finishedAt: '2026-11-23T10:00:00.250Z',
        durationMs: 250,
        success: true,
        error: null,
        observationCount: 2,
      },
    ]);
    const observations = listObservations(db, { limit: 10 });
    expect(observations.map((o) => [o.measurement, o.tags])).toEqual([
      ['reachability', { target: '127.0.0.1:587', protocol: 'tcp', probe: 'smtp-up' }],
      ['reachability', { target: '127.0.0.1:25', protocol: 'tcp', probe: 'smtp-up' }],
      ['probe_run', { probe: 'smtp-up', kind: 'tcp' }],
    ]);
    expect(observations[2]?.fields).toEqual({ success: true, duration_ms: 250, observations: 2 });
    const lines = (db.statement('SELECT line FROM outbox ORDER BY id').all() as { line: string }[]).map((row) => row.line);
    expect(lines).toEqual([
      'reachability,probe=smtp-up,protocol=tcp,target=127.0.0.1:25 duration_ms=3.5,status="up",up=T 1795428000250000000',
      'reachability,probe=smtp-up,protocol=tcp,target=127.0.0.1:587 duration_ms=3.5,status="up",up=T 1795428000250000000',
      'probe_run,kind=tcp,probe=smtp-up duration_ms=250,observations=2i,success=T 1795428000000000000',
    ]);
    db.close();
  });

  it('records a failed run with its code and message, and probe_run with the code', () => {
    const db = Database.open(tempDir());
    record(db, run([], { success: false, error: { code: 'PROBE_TIMEOUT', message: 'no result within 1000 ms' } }));
    expect(listRuns(db, { limit: 1 })[0]).toMatchObject({ success: false, error: { code: 'PROBE_TIMEOUT', message: 'no result within 1000 ms' } });
    expect(listObservations(db, { limit: 10 })).toMatchObject([{ measurement: 'probe_run', fields: { success: false, observations: 0, error_code: 'PROBE_TIMEOUT' } }]);
    db.close();
  });

  it('fails the run with SERIES_INVALID and keeps none of its observations when one does not match the registry', () => {
    const db = Database.open(tempDir());
    const bad: Observation = { ...up, fields: { status: 'up', latency: 3 } };
    const recorded = record(db, run([up, bad]));
    expect(recorded.success).toBe(false);
    expect(recorded.error).toEqual({
      code: 'SERIES_INVALID',
      message: 'observations do not match the series registry: reachability: unknown field "latency"',
    });
    expect(listRuns(db, { limit: 1 })[0]).toMatchObject({ success: false, observationCount: 0, error: { code: 'SERIES_INVALID' } });
    expect(listObservations(db, { limit: 10 }).map((o) => o.measurement)).toEqual(['probe_run']);
    expect(outboxStats(db, new Date()).depth).toBe(1);
    db.close();
  });

  it('writes all or nothing: a failure inside the transaction leaves no run, observation or outbox row', () => {
    const db = Database.open(tempDir());
    // Make the third outbox insert fail, after the run and its observations were written.
    if (db.kind === 'sqlite') {
      db.engine.exec(`CREATE TRIGGER fail_third_outbox BEFORE INSERT ON outbox
                WHEN (SELECT count(*) FROM outbox) >= 2 BEGIN SELECT RAISE(ABORT, 'disk says no'); END`);
    } else {
      db.engine.exec(`CREATE FUNCTION fail_third_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN IF (SELECT count(*) FROM outbox) >= 2 THEN RAISE EXCEPTION 'disk says no'; END IF; RETURN NEW; END $$;
                CREATE TRIGGER fail_third_outbox BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION fail_third_outbox()`);
    }
    expect(() => record(db, run([up, { ...up, tags: { target: '127.0.0.1:587', protocol: 'tcp' } }]))).toThrow('disk says no');
    expect([count(db, 'probe_runs'), count(db, 'observations'), count(db, 'outbox')]).toEqual([0, 0, 0]);
    db.close();
  });
});
