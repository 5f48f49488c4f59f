import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.ts';
import { Runner } from '../../src/runner/runner.ts';
import { Scheduler } from '../../src/runner/scheduler.ts';
import { Database } from '../../src/store/database.ts';
import { listRuns, type StoredRun } from '../../src/store/runs.ts';
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
});
