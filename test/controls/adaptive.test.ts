/**
 * Adaptive throttling over a real store and a clock that stands still: a rule on
 * the traffic series throttles a provider for an IP at half what it was sending;
 * while its alert fires the rate halves each step down to the floor; once it
 * resolves the rate steps back up and the throttle lifts at what it was sending.
 * Every step is audited and pushed.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { AlertEngine } from '../../src/alerts/engine.ts';
import { RuleSchema } from '../../src/alerts/rules.ts';
import { controlActions } from '../../src/controls/rule-actions.ts';
import { ControlService } from '../../src/controls/service.ts';
import { ManualClock } from '../../src/core/clock.ts';
import type { Observation } from '../../src/core/observation.ts';
import { getControl, listAudit, listControls, pushesOf } from '../../src/store/controls.ts';
import { Database } from '../../src/store/database.ts';
import { addTraffic, emptyCounts } from '../../src/store/traffic.ts';
import { captureLog } from '../helpers/log.ts';
import { tempDir } from '../helpers/temp.ts';

const ruleWith = (action: Record<string, unknown> = {}) =>
  RuleSchema.parse({
    id: 'gmail-deferring',
    condition: 'traffic.deferral_rate > 0.3',
    where: { provider: 'gmail' },
    severity: 'warning',
    action: { control: 'throttle', scope: { provider: '{provider}', ip: '{ip}' }, adaptive: { every: '1m', down: 0.5, up: 1.5, floor: 50 }, ...action },
  });

function setup(action: Record<string, unknown> = {}) {
  const rule = ruleWith(action);
  const db = Database.open(tempDir());
  onTestFinished(() => db.close());
  const clock = new ManualClock('2026-12-06T10:00:00Z');
  const captured = captureLog();
  const log = captured.log;
  const controls = new ControlService({ db, clock, log, settings: { failMode: 'open', providers: new Map() }, platforms: [{ id: 'kumo', unsupported: () => undefined }] });
  const alerts = new AlertEngine({
    db,
    rules: [rule],
    clock,
    log,
    settings: { intervalMs: 30_000, renotifyMs: 3_600_000, flap: { windowMs: 60_000, maxTransitions: 100 } },
    actions: controlActions(controls),
  });
  // What the IP was sending to gmail over the last minutes: 600 a minute.
  const now = clock.now().getTime();
  db.transaction(() =>
    addTraffic(
      db,
      [1, 2, 3].map((ago) => ({
        minute: now - ago * 60_000,
        provider: 'gmail',
        ip: '192.0.2.10',
        pool: '',
        campaign: '',
        counts: { ...emptyCounts(), delivered: 500, deferred: 100 },
        classes: {},
        latencySum: 0,
        latencyCount: 0,
      })),
    ),
  );
  const observe = (deferralRate: number) => {
    const point: Observation = { measurement: 'traffic', tags: { provider: 'gmail', ip: '192.0.2.10' }, fields: { attempts: 100, deferral_rate: deferralRate }, time: clock.now() };
    db.transaction(() => alerts.evaluate([point]));
    controls.tick();
  };
  const step = () => {
    clock.advance(60_000);
    controls.tick();
  };
  const rate = () => controls.active[0]?.ratePerMinute;
  /** What went wrong, logged: a rule's action that failed among it. */
  const errors = () => captured.entries().filter((entry) => Number(entry.level ?? 0) >= 50 || entry.level === 'error');
  return { db, clock, controls, observe, step, rate, errors };
}

describe('adaptive throttling', () => {
  it('starts at half the observed send rate, halves to the floor while the alert fires, steps up after, and lifts at the observed rate', () => {
    const { db, controls, observe, step, rate } = setup();
    observe(0.6);
    expect(controls.active).toHaveLength(1);
    const control = controls.active[0]!;
    // 600 attempts a minute over the last step's time (a minute): the ceiling; it starts one step down.
    expect(control).toMatchObject({ action: 'throttle', scope: { ip: '192.0.2.10', provider: 'gmail' }, ratePerMinute: 300, adaptive: { ceiling: 600, floor: 50 } });
    const down: (number | undefined)[] = [];
    for (let i = 0; i < 4; i++) {
      observe(0.6);
      step();
      down.push(rate());
    }
    expect(down).toEqual([150, 75, 50, 50]);
    observe(0.05);
    const up: (number | undefined)[] = [];
    for (let i = 0; i < 8 && controls.active.length > 0; i++) {
      step();
      up.push(rate());
    }
    expect(up).toEqual([75, 113, 170, 255, 383, 575, undefined]);
    const lifted = getControl(db, control.id)!;
    expect(lifted.liftReason).toBe(`the traffic recovered: the rate stepped back up to ${control.adaptive!.ceiling}/min`);
    const steps = listAudit(db, { subject: control.id, limit: 50 })
      .reverse()
      .map((entry) => `${entry.action} ${JSON.stringify(entry.details.ratePerMinute ?? '')}`);
    expect(steps).toEqual([
      'control.created 300',
      'control.updated {"from":300,"to":150}',
      'control.updated {"from":150,"to":75}',
      'control.updated {"from":75,"to":50}',
      'control.recovering ""',
      'control.updated {"from":50,"to":75}',
      'control.updated {"from":75,"to":113}',
      'control.updated {"from":113,"to":170}',
      'control.updated {"from":170,"to":255}',
      'control.updated {"from":255,"to":383}',
      'control.updated {"from":383,"to":575}',
      'control.lifted ""',
    ]);
    // The first apply, one per change of rate (9), and the lift.
    expect(pushesOf(db, control.id).map((push) => push.operation)).toEqual([...Array.from({ length: 10 }, () => 'apply'), 'lift']);
  });

  it('without traffic to measure, its ceiling is the floor: it starts there and lifts at the first step after the alert resolves', () => {
    const { db, controls, observe, step } = setup();
    db.statement('DELETE FROM traffic_minutes').run();
    observe(0.6);
    expect(controls.active[0]).toMatchObject({ ratePerMinute: 50, adaptive: { ceiling: 50 } });
    observe(0.05);
    step();
    expect(controls.active).toEqual([]);
    expect(listControls(db, { limit: 5 })[0]?.liftReason).toMatch(/stepped back up to 50\/min/);
  });

  it('firing again while it recovers steps it down again from where it got to', () => {
    const { db, controls, observe, step, rate, errors } = setup();
    observe(0.6);
    observe(0.05);
    step();
    expect(rate()).toBe(450);
    observe(0.6);
    // The same throttle, its rate as it was: joined, not made again, and nothing failed.
    expect(controls.active).toHaveLength(1);
    expect(rate()).toBe(450);
    step();
    expect(rate()).toBe(225);
    expect(errors()).toEqual([]);
    expect(listControls(db, { limit: 5 })).toHaveLength(1);
  });

  it("a rule's adaptive throttle on a scope another rule already throttles keeps the tighter rate and does not fail", () => {
    const { db, controls, observe, errors } = setup();
    controls.create({ action: 'throttle', scope: { provider: 'gmail', ip: '192.0.2.10' }, ratePerMinute: 40, reason: 'warming', source: 'rule:warm-up', actor: 'rule:warm-up' });
    observe(0.6);
    expect(errors()).toEqual([]);
    expect(controls.active).toEqual([expect.objectContaining({ ratePerMinute: 40 })]);
    expect(listControls(db, { limit: 5 })).toHaveLength(1);
  });

  it('kept for a person at its ceiling, it steps down again when its alert fires again', () => {
    const { clock, controls, observe, step, rate, errors } = setup({ liftAfter: 'manual' });
    observe(0.6);
    observe(0.05);
    for (let i = 0; i < 8; i++) step();
    expect(rate()).toBe(600);
    expect(controls.active[0]?.adaptive?.nextStepAt).toBe(Number.MAX_SAFE_INTEGER);
    observe(0.6);
    expect(controls.active[0]?.adaptive?.nextStepAt).toBe(clock.now().getTime() + 60_000);
    step();
    expect(rate()).toBe(300);
    expect(errors()).toEqual([]);
  });

  it('a person who takes the throttle over stops it adapting', () => {
    const { controls, observe, step, rate } = setup();
    observe(0.6);
    const before = rate();
    controls.create({ action: 'throttle', scope: { provider: 'gmail', ip: '192.0.2.10' }, ratePerMinute: 120, reason: 'I will watch it', source: 'token:ops', actor: 'ops' });
    expect(controls.active[0]?.adaptive).toBeUndefined();
    observe(0.6);
    step();
    step();
    expect(before).toBe(300);
    expect(rate()).toBe(120);
  });
});
