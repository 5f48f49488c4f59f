/**
 * A rule's action as send control, over a real store with a clock that stands
 * still: the rule is checked at load, its alert makes the control from its tags,
 * several alerts can stand behind one control, a person's control stays theirs,
 * and an action that cannot be taken neither stops the alert nor leaves writes.
 */
import { assert, describe, expect, it, onTestFinished } from 'vitest';
import { AlertEngine } from '../../src/alerts/engine.ts';
import { actionScope, RuleSchema } from '../../src/alerts/rules.ts';
import { controlActions } from '../../src/controls/rule-actions.ts';
import { ControlService } from '../../src/controls/service.ts';
import { ManualClock } from '../../src/core/clock.ts';
import type { Observation } from '../../src/core/observation.ts';
import { createSilence, listAlerts, listNotifications } from '../../src/store/alerts.ts';
import { alertsOfControl, listAudit, listControls } from '../../src/store/controls.ts';
import { Database } from '../../src/store/database.ts';
import { captureLog } from '../helpers/log.ts';
import { tempDir } from '../helpers/temp.ts';

const problems = (rule: Record<string, unknown>) =>
  RuleSchema.safeParse({ id: 'r', condition: 'blacklist.listed == true', ...rule }).error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`) ?? [];

describe('rule actions: checked at load', () => {
  it('a pause on the listed IP, a throttle on a fixed pool, and the cool-down as a duration or "manual"', () => {
    const pause = RuleSchema.parse({ id: 'r', condition: 'blacklist.listed == true', action: { control: 'pause', scope: { ip: '{target}' } } });
    expect(pause.action).toEqual({ control: 'pause', scope: { ip: '{target}' }, liftAfter: 15 * 60_000 });
    const throttle = RuleSchema.parse({
      id: 'r',
      condition: 'placement_provider.inbox_rate < 0.8',
      action: { control: 'throttle', rate: 60, scope: { pool: 'shared', provider: '{provider}' }, liftAfter: 'manual' },
    });
    expect(throttle.action).toEqual({ control: 'throttle', rate: 60, scope: { pool: 'shared', provider: '{provider}' }, liftAfter: 'manual' });
  });

  it.each([
    [
      { action: { control: 'pause', scope: { ipaddress: '{target}' } } },
      'action.scope.ipaddress: unknown scope key "ipaddress" (expected one of: ip, pool, from_domain, rcpt_domain, provider, campaign, tenant)',
    ],
    [{ action: { control: 'pause', scope: { ip: '{addr}' } } }, 'action.scope.ip: {addr}: blacklist has no tag "addr" (tags: probe, target, target_kind, list, range)'],
    [{ action: { control: 'pause', scope: { ip: '192.0.2.300' } } }, 'action.scope.ip: "192.0.2.300" is not an IP address or CIDR range'],
    [{ action: { control: 'pause', scope: {} } }, 'action.scope: a scope needs at least one of: ip, pool, from_domain, rcpt_domain, provider, campaign, tenant'],
    [{ action: { control: 'throttle', scope: { ip: '{target}' } } }, 'action.rate: a throttle needs a rate: messages per minute'],
    [{ action: { control: 'pause', rate: 10, scope: { ip: '{target}' } } }, 'action.rate: a pause has no rate (use control: throttle)'],
    [{ action: { control: 'throttle', rate: -1, scope: { ip: '{target}' } } }, 'action.rate: Too small: expected number to be >=0'],
    [{ action: { control: 'stop', scope: { ip: '{target}' } } }, 'action.control: Invalid option: expected one of "pause"|"throttle"'],
    [{ action: { control: 'pause', scope: { ip: '{target}' }, liftAfter: 'soon' } }, 'action.liftAfter: "soon" is neither "manual" nor a duration (500ms, 30s, 5m, 1h, 7d)'],
    [{ action: { control: 'pause', scope: { ip: '{target}' }, until: '1h' } }, 'action: Unrecognized key: "until"'],
  ])('%j → %s', (rule, expected) => {
    expect(problems(rule)).toEqual([expected]);
  });

  it("the scope from the alert's tags: placeholders filled in, the value checked", () => {
    const action = RuleSchema.parse({ id: 'r', condition: 'blacklist.listed == true', action: { control: 'pause', scope: { ip: '{target}', pool: 'p-{probe}' } } }).action!;
    expect(actionScope(action, { target: '192.0.2.7', probe: 'pool' })).toEqual({ ip: '192.0.2.7', pool: 'p-pool' });
    expect(actionScope(action, { target: 'mail.example.com', probe: 'pool' })).toBe('ip: "mail.example.com" is not an IP address or CIDR range');
    expect(actionScope(action, { probe: 'pool' })).toBe('ip: the alert has no "target" tag');
  });
});

const listed = (target: string, list: string, isListed: boolean, at: Date): Observation => ({
  measurement: 'blacklist',
  tags: { probe: 'pool', target, target_kind: target.includes('.') && /^\d/.test(target) ? 'ip' : 'domain', list },
  fields: { status: isListed ? 'listed' : 'not_listed', listed: isListed },
  time: at,
});

function setup(action: Record<string, unknown>, ruleExtra: Record<string, unknown> = {}) {
  const db = Database.open(tempDir());
  onTestFinished(() => db.close());
  const clock = new ManualClock('2026-11-24T10:00:00Z');
  const logs = captureLog();
  const controls = new ControlService({ db, clock, log: logs.log, settings: { failMode: 'open', providers: new Map() } });
  const rule = RuleSchema.parse({ id: 'ip-listed', condition: 'blacklist.listed == true', notify: ['chat'], summary: '{target} listed on {list}', action, ...ruleExtra });
  const engine = new AlertEngine({
    db,
    rules: [rule],
    clock,
    log: logs.log,
    settings: { intervalMs: 30_000, renotifyMs: 3_600_000, flap: { maxTransitions: 100, windowMs: 3_600_000 } },
    actions: controlActions(controls),
  });
  const run = async (...observations: Observation[]) => {
    db.transaction(() => engine.evaluate(observations));
    // Memory follows once the transaction committed.
    await Promise.resolve();
  };
  return { db, clock, controls, run, logs };
}

describe('rule actions: the alert makes, keeps and lifts the control', () => {
  it('one IP on two lists: one control, two alerts behind it; lifted after the cool-down once both resolved; firing again cancels the lift', async () => {
    const { db, clock, controls, run } = setup({ control: 'pause', scope: { ip: '{target}' }, liftAfter: '10m' });
    await run(listed('192.0.2.7', 'zen', true, clock.now()), listed('192.0.2.7', 'bl', true, clock.now()), listed('192.0.2.8', 'zen', false, clock.now()));
    expect(controls.decide({ ip: '192.0.2.7' })).toMatchObject({ action: 'pause', controls: [{ source: 'rule:ip-listed', reason: 'ip-listed: 192.0.2.7 listed on zen', ruleId: 'ip-listed' }] });
    expect(controls.decide({ ip: '192.0.2.8' }).action).toBe('allow');
    const [control] = controls.active;
    expect(alertsOfControl(db, control!.id)).toHaveLength(2);

    clock.advance(60_000);
    await run(listed('192.0.2.7', 'zen', false, clock.now()), listed('192.0.2.7', 'bl', true, clock.now()));
    expect(controls.active[0]?.liftAt).toBeUndefined();
    clock.advance(60_000);
    await run(listed('192.0.2.7', 'zen', false, clock.now()), listed('192.0.2.7', 'bl', false, clock.now()));
    expect(controls.active[0]?.liftAt).toBe(clock.now().getTime() + 600_000);

    // Listed again during the cool-down: the lift is off.
    clock.advance(300_000);
    await run(listed('192.0.2.7', 'zen', true, clock.now()));
    expect(controls.active[0]?.liftAt).toBeUndefined();
    clock.advance(60_000);
    await run(listed('192.0.2.7', 'zen', false, clock.now()));
    clock.advance(599_999);
    controls.tick();
    expect(controls.decide({ ip: '192.0.2.7' }).action).toBe('pause');
    clock.advance(1);
    controls.tick();
    expect(controls.decide({ ip: '192.0.2.7' }).action).toBe('allow');
    expect(listControls(db, { limit: 10 })).toHaveLength(1);
    expect(
      listAudit(db, { subject: control!.id, limit: 20 })
        .map((entry) => `${entry.action} ${entry.actor}`)
        .reverse(),
    ).toEqual(['control.created rule:ip-listed', 'control.lift-scheduled rule:ip-listed', 'control.updated rule:ip-listed', 'control.lift-scheduled rule:ip-listed', 'control.lifted rule:ip-listed']);
  });

  it('"manual": kept after the alert resolves, until a person lifts it; a lifted control is not made again while the alert still fires', async () => {
    const { db, clock, controls, run } = setup({ control: 'throttle', rate: 30, scope: { ip: '{target}', pool: 'shared' }, liftAfter: 'manual' });
    await run(listed('192.0.2.7', 'zen', true, clock.now()));
    expect(controls.decide({ ip: '192.0.2.7', pool: 'shared' })).toMatchObject({ action: 'throttle', ratePerMinute: 30 });
    const id = controls.active[0]!.id;
    controls.lift(id, 'ops', 'checked: a false positive');
    clock.advance(60_000);
    await run(listed('192.0.2.7', 'zen', true, clock.now()));
    expect(controls.active).toEqual([]);
    // Delisted, then listed again: a new firing, a new control, kept after it resolves.
    await run(listed('192.0.2.7', 'zen', false, clock.now()));
    await run(listed('192.0.2.7', 'zen', true, clock.now()));
    await run(listed('192.0.2.7', 'zen', false, clock.now()));
    clock.advance(86_400_000);
    controls.tick();
    expect(controls.active).toHaveLength(1);
    expect(controls.active[0]!.id).not.toBe(id);
    expect(listAudit(db, { subject: controls.active[0]!.id, limit: 10 }).map((entry) => entry.action)).toEqual(['control.kept', 'control.created']);
  });

  it("a person's control on the same scope stays theirs: the rule neither changes nor lifts it", async () => {
    const { clock, controls, run } = setup({ control: 'pause', scope: { ip: '{target}' }, liftAfter: '1m' });
    const mine = controls.create({ action: 'pause', scope: { ip: '192.0.2.7' }, reason: 'investigating', source: 'token:ops', actor: 'ops' }).control;
    await run(listed('192.0.2.7', 'zen', true, clock.now()));
    await run(listed('192.0.2.7', 'zen', false, clock.now()));
    clock.advance(3_600_000);
    controls.tick();
    expect(controls.active).toEqual([expect.objectContaining({ id: mine.id, source: 'token:ops', reason: 'investigating' })]);
    expect(controls.active[0]!.liftAt).toBeUndefined();
  });

  it("a person's control that expired (the timer not yet by) does not stand in the rule's way", async () => {
    const { clock, controls, run } = setup({ control: 'pause', scope: { ip: '{target}' } });
    const mine = controls.create({ action: 'pause', scope: { ip: '192.0.2.7' }, reason: 'until lunch', source: 'token:ops', actor: 'ops', expiresAt: clock.now().getTime() + 60_000 }).control;
    clock.advance(61_000);
    await run(listed('192.0.2.7', 'zen', true, clock.now()));
    expect(controls.active).toEqual([expect.objectContaining({ source: 'rule:ip-listed' })]);
    expect(controls.active[0]!.id).not.toBe(mine.id);
    expect(controls.decide({ ip: '192.0.2.7' }).action).toBe('pause');
  });

  it('a person pausing a scope a rule already paused takes the control over: the cool-down no longer lifts it', async () => {
    const { db, clock, controls, run } = setup({ control: 'pause', scope: { ip: '{target}' }, liftAfter: '5m' });
    await run(listed('192.0.2.7', 'zen', true, clock.now()));
    await run(listed('192.0.2.7', 'zen', false, clock.now()));
    expect(controls.active[0]!.liftAt).toBeDefined();
    const joined = controls.create({ action: 'pause', scope: { ip: '192.0.2.7' }, reason: 'keep it until we know why', source: 'token:ops', actor: 'ops' });
    expect(joined).toMatchObject({ created: false, control: { source: 'token:ops', keepUntilResumed: true } });
    expect(joined.control.liftAt).toBeUndefined();
    clock.advance(3_600_000);
    controls.tick();
    expect(controls.decide({ ip: '192.0.2.7' }).action).toBe('pause');
    expect(listAudit(db, { subject: joined.control.id, limit: 1 })[0]).toMatchObject({
      action: 'control.updated',
      actor: 'ops',
      details: { source: { from: 'rule:ip-listed', to: 'token:ops' }, liftCancelled: true, keepUntilResumed: true },
    });
    // Listed and delisted again: the rule leaves the person's control alone.
    await run(listed('192.0.2.7', 'zen', true, clock.now()));
    await run(listed('192.0.2.7', 'zen', false, clock.now()));
    clock.advance(3_600_000);
    controls.tick();
    expect(controls.active.map((control) => control.id)).toEqual([joined.control.id]);
  });

  it('two rules throttling one scope: the tighter rate stays, and "manual" if either asks for it', async () => {
    const db = Database.open(tempDir());
    onTestFinished(() => db.close());
    const clock = new ManualClock('2026-11-24T10:00:00Z');
    const controls = new ControlService({ db, clock, log: captureLog().log, settings: { failMode: 'open', providers: new Map() } });
    const rule = (id: string, condition: string, rate: number, liftAfter: string) => RuleSchema.parse({ id, condition, action: { control: 'throttle', rate, scope: { ip: '{target}' }, liftAfter } });
    const engine = new AlertEngine({
      db,
      rules: [rule('listed-zen', 'blacklist.listed == true', 30, 'manual'), rule('listed-count', 'blacklist_target.listed_count >= 1', 120, '1m')],
      clock,
      log: captureLog().log,
      settings: { intervalMs: 30_000, renotifyMs: 3_600_000, flap: { maxTransitions: 100, windowMs: 3_600_000 } },
      actions: controlActions(controls),
    });
    const target = (count: number): Observation => ({
      measurement: 'blacklist_target',
      tags: { probe: 'pool', target: '192.0.2.7', target_kind: 'ip' },
      fields: { lists_checked: 1, listed_count: count, error_count: 0, listed_on: count ? 'zen' : '' },
      time: clock.now(),
    });
    db.transaction(() => engine.evaluate([listed('192.0.2.7', 'zen', true, clock.now())]));
    db.transaction(() => engine.evaluate([target(1)]));
    await Promise.resolve();
    expect(controls.decide({ ip: '192.0.2.7' })).toMatchObject({ action: 'throttle', ratePerMinute: 30 });
    expect(controls.active[0]!.keepUntilResumed).toBe(true);
    db.transaction(() => engine.evaluate([listed('192.0.2.7', 'zen', false, clock.now()), target(0)]));
    clock.advance(3_600_000);
    controls.tick();
    expect(controls.decide({ ip: '192.0.2.7' })).toMatchObject({ action: 'throttle', ratePerMinute: 30 });
  });

  it('an action that cannot be taken (a domain where an IP goes) is logged with the reason; the alert still fires and notifies', async () => {
    const { db, clock, controls, run, logs } = setup({ control: 'pause', scope: { ip: '{target}' } });
    await run(listed('mail.example.com', 'dbl', true, clock.now()));
    expect(controls.active).toEqual([]);
    expect(listAlerts(db, { limit: 10 }).map((alert) => alert.state)).toEqual(['firing']);
    expect(listNotifications(db, { limit: 10 }).map((row) => row.event)).toEqual(['firing']);
    expect(logs.entries().find((entry) => entry.msg === "the rule's action failed")).toMatchObject({
      level: 'error',
      rule: 'ip-listed',
      event: 'fired',
      err: { code: 'ACTION_FAILED', message: expect.stringMatching(/^rule ip-listed: no control for alert [0-9a-f]{16}: ip: "mail.example.com" is not an IP address or CIDR range$/) },
    });
  });

  it('an action that fails after writing leaves none of its writes (a savepoint), and the run is recorded', async () => {
    const db = Database.open(tempDir());
    onTestFinished(() => db.close());
    const clock = new ManualClock('2026-11-24T10:00:00Z');
    const controls = new ControlService({ db, clock, log: captureLog().log, settings: { failMode: 'open', providers: new Map() } });
    const rule = RuleSchema.parse({ id: 'ip-listed', condition: 'blacklist.listed == true', action: { control: 'pause', scope: { ip: '{target}' } } });
    const actions = controlActions(controls);
    const failing = {
      ...actions,
      fired: (...args: Parameters<typeof actions.fired>) => {
        actions.fired(...args);
        return assert.fail('the platform fell over');
      },
    };
    const engine = new AlertEngine({
      db,
      rules: [rule],
      clock,
      log: captureLog().log,
      settings: { intervalMs: 30_000, renotifyMs: 3_600_000, flap: { maxTransitions: 100, windowMs: 3_600_000 } },
      actions: failing,
    });
    db.transaction(() => engine.evaluate([listed('192.0.2.7', 'zen', true, clock.now())]));
    expect(listControls(db, { limit: 10 })).toEqual([]);
    expect(listAudit(db, { limit: 10 })).toEqual([]);
    expect(listAlerts(db, { limit: 10 }).map((alert) => alert.state)).toEqual(['firing']);
  });

  it('a silence mutes the notification, not the action', async () => {
    const { db, clock, controls, run } = setup({ control: 'pause', scope: { ip: '{target}' } });
    createSilence(db, {
      matchers: { rule: 'ip-listed' },
      startsAt: clock.now().getTime(),
      endsAt: clock.now().getTime() + 3_600_000,
      comment: 'maintenance',
      createdBy: 'ops',
      createdAt: clock.now().getTime(),
    });
    await run(listed('192.0.2.7', 'zen', true, clock.now()));
    expect(listNotifications(db, { limit: 10 })).toEqual([]);
    expect(controls.decide({ ip: '192.0.2.7' }).action).toBe('pause');
  });
});
