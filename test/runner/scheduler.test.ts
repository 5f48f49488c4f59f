import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.ts';
import { Runner } from '../../src/runner/runner.ts';
import { Scheduler } from '../../src/runner/scheduler.ts';
import { Database } from '../../src/store/database.ts';
import { listRuns, type StoredRun } from '../../src/store/runs.ts';
import { testDuty } from '../helpers/duty.ts';
import { captureLog } from '../helpers/log.ts';
import { unitServices } from '../helpers/services.ts';
import { definition, sleep, testKind, upObservation, waitFor } from '../helpers/probes.ts';
import { tempDir } from '../helpers/temp.ts';

describe('Scheduler (real node-cron, one tick a second)', () => {
  it('keeps going while probes throw, hang past their timeout and overlap themselves, and records each outcome', async () => {
    const db = Database.open(tempDir());
    const kinds = {
      ok: testKind('ok', async (_d, ctx) => [upObservation(ctx)]),
      thrower: testKind('thrower', async () => {
        throw new RangeError('boom');
      }),
      // Runs 1.5 s on a 1 s schedule: every other tick finds it still running.
      hanger: testKind('hanger', () => new Promise(() => {})),
    };
    const runner = new Runner({ db, clock: systemClock, log: captureLog().log, services: unitServices(), findKind: (kind) => kinds[kind as keyof typeof kinds] });
    const scheduler = new Scheduler({
      runner,
      log: captureLog().log,
      definitions: [definition('ok', 'ok'), definition('thrower', 'thrower'), definition('hanger', 'hanger', { timeout: 1_500 }), definition('off', 'ok', { enabled: false })],
    });
    scheduler.start();
    expect(scheduler.running).toBe(true);
    expect(scheduler.nextRun('ok')).toBeInstanceOf(Date);
    expect(scheduler.nextRun('off')).toBeNull();

    const runsOf = (probe: string): StoredRun[] => listRuns(db, { probe, limit: 100 });
    const codes = (probe: string) => runsOf(probe).map((run) => run.error?.code ?? 'OK');
    await waitFor(
      () => codes('hanger').includes('PROBE_TIMEOUT') && codes('hanger').includes('PROBE_OVERLAP') && runsOf('ok').length >= 3,
      'a timeout and an overlap of the hanging probe, and three good runs',
      15_000,
    );
    await scheduler.stop();
    expect(scheduler.running).toBe(false);

    expect(runsOf('ok').length).toBeGreaterThanOrEqual(3);
    expect(new Set(codes('ok'))).toEqual(new Set(['OK']));
    expect(runsOf('thrower').length).toBeGreaterThanOrEqual(3);
    expect(runsOf('thrower')[0]?.error).toEqual({ code: 'PROBE_CRASHED', message: 'the probe failed unexpectedly: boom' });
    expect(codes('hanger')).toEqual(expect.arrayContaining(['PROBE_TIMEOUT', 'PROBE_OVERLAP']));
    expect(runsOf('off')).toEqual([]);

    // Nothing runs after stop().
    const total = listRuns(db, { limit: 1000 }).length;
    await sleep(1_300);
    expect(listRuns(db, { limit: 1000 }).length).toBe(total);
    db.close();
  });

  it('records a scheduled tick that finds an API-started run still going as an overlap', async () => {
    const db = Database.open(tempDir());
    let release: (() => void) | undefined;
    const kinds = { gate: testKind('gate', (_d, ctx) => new Promise((resolve) => (release = () => resolve([upObservation(ctx)])))) };
    const runner = new Runner({ db, clock: systemClock, log: captureLog().log, services: unitServices(), findKind: (kind) => kinds[kind as keyof typeof kinds] });
    const gate = definition('gate', 'gate', { timeout: 10_000 });
    const manual = runner.run(gate, 'api');
    const scheduler = new Scheduler({ runner, log: captureLog().log, definitions: [gate] });
    scheduler.start();
    await waitFor(() => listRuns(db, { probe: 'gate', limit: 10 }).some((run) => run.error?.code === 'PROBE_OVERLAP'), 'an overlap', 5_000);
    release?.();
    await manual;
    await scheduler.stop();
    const triggers = listRuns(db, { probe: 'gate', limit: 100 }).map((run) => `${run.trigger}:${run.error?.code ?? 'OK'}`);
    expect(triggers).toContain('api:OK');
    expect(triggers).toContain('schedule:PROBE_OVERLAP');
    db.close();
  });

  it('runs nothing, and records no overlap, while this instance does not lead the cluster; runs the schedule once it does', async () => {
    const db = Database.open(tempDir());
    const duty = testDuty({ leading: false, epoch: 3 });
    let started = 0;
    let release: (() => void) | undefined;
    const kinds = {
      ok: testKind('ok', async (_d, ctx) => {
        started += 1;
        return [upObservation(ctx)];
      }),
      gate: testKind('gate', (_d, ctx) => new Promise((resolve) => (release = () => resolve([upObservation(ctx)])))),
    };
    const runner = new Runner({ db, clock: systemClock, log: captureLog().log, services: unitServices(), findKind: (kind) => kinds[kind as keyof typeof kinds], duty });
    const gate = definition('gate', 'gate', { timeout: 10_000 });
    // A run asked for through the API, still going at every tick.
    const manual = runner.run(gate, 'api');
    const scheduler = new Scheduler({ runner, log: captureLog().log, definitions: [definition('ok', 'ok'), gate], duty });
    scheduler.start();
    // Two ticks and more.
    await sleep(2_300);
    expect(started).toBe(0);
    expect(listRuns(db, { limit: 100 })).toEqual([]);
    release?.();
    await manual;
    expect(listRuns(db, { limit: 100 }).map((run) => `${run.probe} ${run.trigger}:${run.error?.code ?? 'OK'}`)).toEqual(['gate api:OK']);

    duty.leading = true;
    await waitFor(() => listRuns(db, { probe: 'ok', limit: 100 }).length >= 1, 'a scheduled run once leading', 5_000);
    await scheduler.stop();
    expect(started).toBeGreaterThanOrEqual(1);
    expect(listRuns(db, { probe: 'ok', limit: 100 }).every((run) => run.trigger === 'schedule' && run.success)).toBe(true);
    db.close();
  });

  it('keeps scheduling when a run finds the lease lost as it is recorded: nothing of it is kept, and the runs after it are', async () => {
    const db = Database.open(tempDir());
    const duty = testDuty({ leading: true, epoch: 3, lost: true });
    const kinds = { ok: testKind('ok', async (_d, ctx) => [upObservation(ctx)]) };
    const log = captureLog();
    const runner = new Runner({ db, clock: systemClock, log: log.log, services: unitServices(), findKind: (kind) => kinds[kind as keyof typeof kinds], duty });
    const scheduler = new Scheduler({ runner, log: log.log, definitions: [definition('ok', 'ok')], duty });
    scheduler.start();
    await waitFor(() => duty.fences >= 1, 'a run fenced', 5_000);
    expect(listRuns(db, { limit: 100 })).toEqual([]);
    duty.lost = false;
    await waitFor(() => listRuns(db, { probe: 'ok', limit: 100 }).length >= 1, 'a run recorded', 5_000);
    await scheduler.stop();
    expect(scheduler.running).toBe(false);
    expect(listRuns(db, { probe: 'ok', limit: 100 }).every((run) => run.trigger === 'schedule' && run.success)).toBe(true);
    // A warning, not an error: the lease passing on is what happens in a handover.
    const refused = log.entries().find((entry) => entry.component === 'scheduler' && entry.probe === 'ok' && entry.msg === 'run not recorded: this instance no longer leads the cluster');
    expect(refused).toMatchObject({ level: 'warn', reason: expect.stringMatching(/lease/) });
    expect(log.entries().filter((entry) => entry.level === 'error')).toEqual([]);
    db.close();
  });
});
