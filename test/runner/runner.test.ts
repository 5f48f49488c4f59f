import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.ts';
import type { Duty } from '../../src/core/duty.ts';
import type { Observation } from '../../src/core/observation.ts';
import { Runner } from '../../src/runner/runner.ts';
import { Database } from '../../src/store/database.ts';
import { takeBatch } from '../../src/store/outbox.ts';
import { listObservations, listRuns } from '../../src/store/runs.ts';
import { testDuty } from '../helpers/duty.ts';
import { captureLog } from '../helpers/log.ts';
import { unitServices } from '../helpers/services.ts';
import { definition, sleep, testKind, upObservation } from '../helpers/probes.ts';
import { tempDir } from '../helpers/temp.ts';

function setup(options: { duty?: Duty; onRecord?: (observations: readonly Observation[]) => void } = {}) {
  const db = Database.open(tempDir());
  let release: (() => void) | undefined;
  const kinds = {
    gate: testKind('gate', (_d, ctx) => new Promise((resolve) => (release = () => resolve([upObservation(ctx)])))),
    quick: testKind('quick', async (_d, ctx) => [upObservation(ctx)]),
    stuck: testKind('stuck', () => new Promise(() => {})),
  };
  const runner = new Runner({ db, clock: systemClock, log: captureLog().log, services: unitServices(), findKind: (kind) => kinds[kind as keyof typeof kinds], ...options });
  return { db, runner, release: () => release?.() };
}

describe('Runner', () => {
  it('runs one probe at a time: a second run of the same probe is PROBE_BUSY, others go ahead', async () => {
    const { db, runner, release } = setup();
    const first = runner.run(definition('a', 'gate'), 'schedule');
    expect(runner.isRunning('a')).toBe(true);
    await expect(runner.run(definition('a', 'gate'), 'api')).rejects.toMatchObject({ code: 'PROBE_BUSY', message: 'probe "a" is already running' });
    const other = await runner.run(definition('b', 'quick'), 'api');
    expect(other.success).toBe(true);
    await sleep(10);
    release();
    const done = await first;
    expect(done.success).toBe(true);
    expect(runner.isRunning('a')).toBe(false);
    expect(listRuns(db, { limit: 10 }).map((run) => [run.probe, run.trigger, run.success])).toEqual(
      expect.arrayContaining([
        ['a', 'schedule', true],
        ['b', 'api', true],
      ]),
    );
    expect(listRuns(db, { limit: 10 })).toHaveLength(2);
    db.close();
  });

  it('stop() aborts runs in progress, records them, and refuses new ones', async () => {
    const { db, runner } = setup();
    const pending = runner.run(definition('s', 'stuck', { timeout: 60_000 }), 'schedule');
    await sleep(20);
    await runner.stop();
    const done = await pending;
    expect(done.error?.code).toBe('PROBE_ABORTED');
    expect(runner.inFlightCount).toBe(0);
    expect(listRuns(db, { probe: 's', limit: 10 })).toMatchObject([{ success: false, error: { code: 'PROBE_ABORTED' } }]);
    await expect(runner.run(definition('q', 'quick'), 'api')).rejects.toMatchObject({ code: 'PROBE_ABORTED' });
    db.close();
  });

  it('records a skipped overlapping run as PROBE_OVERLAP', () => {
    const { db, runner } = setup();
    runner.recordOverlap(definition('o', 'quick'));
    expect(listRuns(db, { limit: 10 })).toMatchObject([
      { probe: 'o', trigger: 'schedule', success: false, durationMs: 0, error: { code: 'PROBE_OVERLAP', message: 'skipped: the previous run of this probe was still in progress' } },
    ]);
    db.close();
  });

  it('rejects a kind it does not know', async () => {
    const { db, runner } = setup();
    await expect(runner.run(definition('x', 'martian'), 'api')).rejects.toMatchObject({ code: 'PROBE_NOT_FOUND' });
    db.close();
  });

  it('a scheduled run whose fence finds the lease lost records nothing (no run, no observation, no outbox line, no rules) and rejects with LEASE_LOST', async () => {
    const duty = testDuty({ leading: true, epoch: 2, lost: true });
    const seen: (readonly Observation[])[] = [];
    const { db, runner } = setup({ duty, onRecord: (observations) => seen.push(observations) });
    await expect(runner.run(definition('s', 'quick'), 'schedule')).rejects.toMatchObject({ code: 'LEASE_LOST', message: 'the leader lease passed to another instance (epoch 2 is over)' });
    expect(duty.fences).toBe(1);
    expect(runner.isRunning('s')).toBe(false);
    expect(listRuns(db, { limit: 10 })).toEqual([]);
    expect(listObservations(db, { limit: 10 })).toEqual([]);
    expect(takeBatch(db, 10)).toEqual([]);
    expect(seen).toEqual([]);
    // A skipped overlapping run is a scheduled run too.
    expect(() => runner.recordOverlap(definition('s', 'quick'))).toThrow(expect.objectContaining({ code: 'LEASE_LOST' }));
    expect(listRuns(db, { limit: 10 })).toEqual([]);
    // Holding the lease again: the next tick is recorded.
    duty.lost = false;
    const done = await runner.run(definition('s', 'quick'), 'schedule');
    expect(done.success).toBe(true);
    expect(listRuns(db, { limit: 10 }).map((run) => [run.probe, run.trigger, run.success])).toEqual([['s', 'schedule', true]]);
    expect(seen).toHaveLength(1);
    db.close();
  });

  it('a run asked for through the API is recorded by the instance that ran it, whether or not it holds the lease', async () => {
    const duty = testDuty({ leading: false, lost: true });
    const seen: (readonly Observation[])[] = [];
    const { db, runner } = setup({ duty, onRecord: (observations) => seen.push(observations) });
    const done = await runner.run(definition('a', 'quick'), 'api');
    expect(done.success).toBe(true);
    expect(duty.fences).toBe(0);
    expect(listRuns(db, { limit: 10 }).map((run) => [run.probe, run.trigger, run.success])).toEqual([['a', 'api', true]]);
    expect(takeBatch(db, 10).map((row) => row.line.split(',')[0])).toEqual(['reachability', 'probe_run']);
    expect(seen).toHaveLength(1);
    db.close();
  });
});
