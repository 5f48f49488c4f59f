/**
 * Controls over a real store with a clock that stands still: scopes and their
 * matching, idempotent creation, decisions (pause over throttle, the tightest
 * rate, unknown keys and the fail mode), throttle rates, expiry, the cool-down
 * after an alert, the audit log, pushes per platform, restarts and a second
 * process writing to the same store.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { ControlService, type ControlSettings, controlPoint, controlPoints, type PushTarget } from '../../src/controls/service.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { matchScope, scopeSchema } from '../../src/core/scope.ts';
import { getControl, listAudit, markPushFailed, markReleased, pushesOf, recordHeld } from '../../src/store/controls.ts';
import { takeBatch } from '../../src/store/outbox.ts';
import { Database } from '../../src/store/database.ts';
import { captureLog } from '../helpers/log.ts';
import { tempDir } from '../helpers/temp.ts';

const providers = new Map([
  ['gmail.com', 'gmail'],
  ['googlemail.com', 'gmail'],
  ['outlook.com', 'outlook'],
]);

function setup(options: { failMode?: ControlSettings['failMode']; platforms?: PushTarget[]; dir?: string } = {}) {
  const dir = options.dir ?? tempDir();
  const db = Database.open(dir);
  onTestFinished(() => db.close());
  const clock = new ManualClock('2026-11-24T10:00:00Z');
  const service = new ControlService({ db, clock, log: captureLog().log, settings: { failMode: options.failMode ?? 'open', providers }, platforms: options.platforms ?? [] });
  return { dir, db, clock, service };
}

const person = { source: 'token:ops', actor: 'ops' };

describe('scopes', () => {
  it('known keys only, valid values, normalized; bad input says which key and why', () => {
    expect(scopeSchema.parse({ rcpt_domain: 'GMail.com.', ip: '192.0.2.1' })).toEqual({ ip: '192.0.2.1', rcpt_domain: 'gmail.com' });
    expect(scopeSchema.parse({ ip: '2001:DB8::0:1' })).toEqual({ ip: '2001:db8::1' });
    const problems = (input: unknown) => scopeSchema.safeParse(input).error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    expect(problems({ ipaddress: '192.0.2.1' })).toEqual(['ipaddress: unknown scope key "ipaddress" (expected one of: ip, pool, from_domain, rcpt_domain, provider, campaign, tenant)']);
    expect(problems({})).toEqual([': a scope needs at least one of: ip, pool, from_domain, rcpt_domain, provider, campaign, tenant']);
    expect(problems({ ip: '192.0.2.300' })).toEqual(['ip: "192.0.2.300" is not an IP address or CIDR range']);
    expect(problems({ rcpt_domain: 'not a domain' })).toEqual(['rcpt_domain: "not a domain" is not a domain name']);
    expect(problems({ pool: '' })).toEqual(['pool: must not be empty']);
  });

  it.each([
    [{ ip: '192.0.2.1' }, { ip: '192.0.2.1', rcpt_domain: 'gmail.com' }, 'match'],
    [{ ip: '192.0.2.1' }, { ip: '192.0.2.2' }, 'no-match'],
    [{ ip: '192.0.2.0/28' }, { ip: '192.0.2.9' }, 'match'],
    [{ ip: '192.0.2.0/28' }, { ip: '192.0.2.16' }, 'no-match'],
    [{ ip: '192.0.2.0/28' }, { ip: '2001:db8::1' }, 'no-match'],
    [{ ip: '192.0.2.1', rcpt_domain: 'gmail.com' }, { ip: '192.0.2.1', rcpt_domain: 'outlook.com' }, 'no-match'],
    [{ ip: '192.0.2.1', rcpt_domain: 'gmail.com' }, { ip: '192.0.2.1' }, 'unknown'],
    [{ ip: '192.0.2.1', rcpt_domain: 'gmail.com' }, { ip: '192.0.2.2' }, 'no-match'],
    [{ campaign: 'c1' }, {}, 'unknown'],
  ] as const)('scope %j, traffic %j: %s', (scope, traffic, expected) => {
    expect(matchScope(scope, traffic)).toBe(expected);
  });
});

describe('control service', () => {
  it('creating the same control twice is the same control; a new rate updates it; each change is audited', () => {
    const { db, service } = setup();
    const first = service.create({ action: 'throttle', scope: { rcpt_domain: 'Gmail.com' }, ratePerMinute: 100, reason: 'complaints up', ...person });
    const again = service.create({ action: 'throttle', scope: { rcpt_domain: 'gmail.com' }, ratePerMinute: 100, reason: 'complaints up', ...person });
    expect(first.created).toBe(true);
    expect(again).toEqual({ control: first.control, created: false });
    const slower = service.create({ action: 'throttle', scope: { rcpt_domain: 'gmail.com' }, ratePerMinute: 20, reason: 'worse', ...person });
    expect(slower).toMatchObject({ created: false, control: { id: first.control.id, ratePerMinute: 20 } });
    // A pause of the same scope is another control.
    const pause = service.create({ action: 'pause', scope: { rcpt_domain: 'gmail.com' }, reason: 'stop', ...person });
    expect(pause.created).toBe(true);
    expect(service.active.map((control) => control.id)).toEqual([first.control.id, pause.control.id]);
    expect(
      listAudit(db, { limit: 10 })
        .reverse()
        .map((entry) => [entry.action, entry.actor, entry.subject]),
    ).toEqual([
      ['control.created', 'ops', first.control.id],
      ['control.updated', 'ops', first.control.id],
      ['control.created', 'ops', pause.control.id],
    ]);
    expect(listAudit(db, { subject: first.control.id, limit: 10 })[0]?.details).toEqual({ reason: 'worse', ratePerMinute: { from: 100, to: 20 } });
  });

  it('bad controls are refused and change nothing', () => {
    const { db, service, clock } = setup();
    expect(() => service.create({ action: 'throttle', scope: { ip: '192.0.2.1' }, ratePerMinute: -1, reason: 'x', ...person })).toThrow(
      'a throttle needs a rate: a whole number of messages per minute, 0 or more',
    );
    expect(() => service.create({ action: 'throttle', scope: { ip: '192.0.2.1' }, reason: 'x', ...person })).toThrow('a throttle needs a rate');
    expect(() => service.create({ action: 'pause', scope: { ip: '192.0.2.1' }, ratePerMinute: 5, reason: 'x', ...person })).toThrow('a pause has no rate (use action throttle)');
    expect(() => service.create({ action: 'pause', scope: { ip: '192.0.2.1' }, expiresAt: clock.now().getTime() - 1, reason: 'x', ...person })).toThrow(
      'expires: 2026-11-24T09:59:59.999Z is not in the future',
    );
    expect(service.active).toEqual([]);
    expect(listAudit(db, { limit: 10 })).toEqual([]);
  });

  it('decides: pause beats throttle, the tightest throttle wins, other traffic is allowed; the provider comes from the recipient domain', () => {
    const { service } = setup();
    const pause = service.create({ action: 'pause', scope: { ip: '192.0.2.11' }, reason: 'listed', ...person }).control;
    const gmail = service.create({ action: 'throttle', scope: { provider: 'gmail' }, ratePerMinute: 60, reason: 'gmail deferrals', ...person }).control;
    const tenant = service.create({ action: 'throttle', scope: { tenant: 'acme', provider: 'gmail' }, ratePerMinute: 10, reason: 'acme complaints', ...person }).control;
    expect(service.decide({ ip: '192.0.2.11', rcpt_domain: 'gmail.com' })).toMatchObject({ action: 'pause', controls: [pause, gmail] });
    expect(service.decide({ ip: '192.0.2.10', rcpt_domain: 'googlemail.com', tenant: 'acme' })).toMatchObject({ action: 'throttle', ratePerMinute: 10, controls: [gmail, tenant] });
    expect(service.decide({ ip: '192.0.2.10', rcpt_domain: 'outlook.com', tenant: 'acme' })).toMatchObject({ action: 'allow', controls: [], unsure: [] });
    expect(service.decide({ ip: '::ffff:192.0.2.11' }).action).toBe('pause');
  });

  it('unknown is not clean: a control whose key the question lacks is unsure; fail open allows, fail closed applies it', () => {
    const open = setup().service;
    const closed = setup({ failMode: 'closed' }).service;
    for (const service of [open, closed]) service.create({ action: 'pause', scope: { ip: '192.0.2.11', campaign: 'spring' }, reason: 'listed', ...person });
    expect(open.decide({ ip: '192.0.2.11' })).toMatchObject({ action: 'allow', unsure: [{ missing: ['campaign'] }] });
    expect(closed.decide({ ip: '192.0.2.11' })).toMatchObject({ action: 'pause', controls: [], unsure: [{ missing: ['campaign'] }] });
    // A key that rules it out is a definite no, unsure of nothing.
    expect(closed.decide({ ip: '192.0.2.12' })).toMatchObject({ action: 'allow', unsure: [] });
  });

  it('a throttle lets its rate through per minute, then defers, and refills with time', () => {
    const { service, clock } = setup();
    service.create({ action: 'throttle', scope: { rcpt_domain: 'gmail.com' }, ratePerMinute: 3, reason: 'slow down', ...person });
    const send = () => (service.decide({ rcpt_domain: 'gmail.com' }, { consume: true }).overRate?.length ? 'deferred' : 'sent');
    expect([send(), send(), send(), send()]).toEqual(['sent', 'sent', 'sent', 'deferred']);
    clock.advance(20_000);
    expect([send(), send()]).toEqual(['sent', 'deferred']);
    // Asking without counting spends nothing.
    clock.advance(20_000);
    expect(service.decide({ rcpt_domain: 'gmail.com' }).overRate).toBeUndefined();
    expect(send()).toBe('sent');
  });

  it('expired controls and ended cool-downs are lifted by the timer, audited, and stop applying', () => {
    const { db, service, clock } = setup();
    const expiring = service.create({ action: 'pause', scope: { pool: 'b' }, reason: 'maintenance', expiresAt: clock.now().getTime() + 60_000, ...person }).control;
    const fromAlert = db.transaction(() =>
      service.alertFiredWithin({ action: 'pause', scope: { ip: '192.0.2.11' }, reason: 'listed', source: 'rule:ip-listed', actor: 'rule:ip-listed', ruleId: 'ip-listed', alertId: 'a1' }),
    ).control;
    db.transaction(() => service.alertResolvedWithin('a1', 120_000));
    clock.advance(60_000);
    // Expired: no longer applies, even before the timer lifts it.
    expect(service.decide({ pool: 'b' }).action).toBe('allow');
    service.tick();
    expect(service.active.map((control) => control.id)).toEqual([fromAlert.id]);
    // The alert fires again during the cool-down: the control stays.
    db.transaction(() =>
      service.alertFiredWithin({ action: 'pause', scope: { ip: '192.0.2.11' }, reason: 'listed again', source: 'rule:ip-listed', actor: 'rule:ip-listed', ruleId: 'ip-listed', alertId: 'a1' }),
    );
    clock.advance(120_000);
    service.tick();
    expect(service.active.map((control) => control.id)).toEqual([fromAlert.id]);
    db.transaction(() => service.alertResolvedWithin('a1', 120_000));
    clock.advance(119_999);
    service.tick();
    expect(service.decide({ ip: '192.0.2.11' }).action).toBe('pause');
    clock.advance(1);
    service.tick();
    expect(service.active).toEqual([]);
    expect(
      listAudit(db, { limit: 20 })
        .map((entry) => `${entry.action} ${entry.actor} ${String(entry.details.reason)}`)
        .reverse(),
    ).toEqual([
      'control.created ops maintenance',
      'control.created rule:ip-listed listed',
      'control.lift-scheduled rule:ip-listed the alert resolved',
      'control.lifted mailscope expired',
      'control.updated rule:ip-listed listed again',
      'control.lift-scheduled rule:ip-listed the alert resolved',
      'control.lifted rule:ip-listed the alert resolved and the cool-down ended',
    ]);
    expect(() => service.lift(fromAlert.id, 'ops', 'again')).toThrow(`control "${fromAlert.id}" was lifted at 2026-11-24T10:05:00.000Z by rule:ip-listed`);
    expect(() => service.lift('nope', 'ops', 'again')).toThrow('no control "nope"');
    expect(expiring.expiresAt).toBe(Date.parse('2026-11-24T10:01:00Z'));
  });

  it('the same control again after it expired, before the timer lifted it: the old one is lifted as expired, a new one made', () => {
    const { service, clock } = setup();
    const old = service.create({ action: 'pause', scope: { pool: 'b' }, reason: 'maintenance', expiresAt: clock.now().getTime() + 60_000, ...person }).control;
    clock.advance(61_000);
    const again = service.create({ action: 'pause', scope: { pool: 'b' }, reason: 'maintenance, again', ...person });
    expect(again.created).toBe(true);
    expect(again.control.id).not.toBe(old.id);
    expect(service.active.map((control) => control.id)).toEqual([again.control.id]);
    expect(service.decide({ pool: 'b' }).action).toBe('pause');
  });

  it('"manual": the alert resolved, and the control stays until a person lifts it', async () => {
    const { db, service, clock } = setup();
    const control = db.transaction(() =>
      service.alertFiredWithin({
        action: 'pause',
        scope: { ip: '192.0.2.11' },
        reason: 'listed',
        source: 'rule:ip-listed',
        actor: 'rule:ip-listed',
        ruleId: 'ip-listed',
        alertId: 'a1',
        keepUntilResumed: true,
      }),
    ).control;
    // Memory catches up once the caller's transaction has committed.
    expect(service.decide({ ip: '192.0.2.11' }).action).toBe('allow');
    await Promise.resolve();
    expect(service.decide({ ip: '192.0.2.11' }).action).toBe('pause');
    db.transaction(() => service.alertResolvedWithin('a1', 60_000));
    clock.advance(3_600_000);
    service.tick();
    expect(service.decide({ ip: '192.0.2.11' }).action).toBe('pause');
    expect(service.lift(control.id, 'ops', 'delisted, checked by hand')).toMatchObject({ liftedBy: 'ops', liftReason: 'delisted, checked by hand' });
    expect(service.decide({ ip: '192.0.2.11' }).action).toBe('allow');
    expect(listAudit(db, { subject: control.id, limit: 10 }).map((entry) => entry.action)).toEqual(['control.lifted', 'control.kept', 'control.created']);
  });

  it('pushes: one apply per platform (skipped with the reason where it cannot), one lift where it was applied', () => {
    const domainsOnly: PushTarget = { id: 'kumo', unsupported: (control) => (control.scope.rcpt_domain && Object.keys(control.scope).length === 1 ? undefined : 'domains only') };
    const everything: PushTarget = { id: 'hook', unsupported: () => undefined };
    const { db, service } = setup({ platforms: [domainsOnly, everything] });
    const ip = service.create({ action: 'pause', scope: { ip: '192.0.2.11' }, reason: 'listed', ...person }).control;
    const domain = service.create({ action: 'pause', scope: { rcpt_domain: 'gmail.com' }, reason: 'gmail', ...person }).control;
    service.lift(ip.id, 'ops', 'done');
    service.lift(domain.id, 'ops', 'done');
    const summary = (id: string) => pushesOf(db, id).map((push) => `${push.platform} ${push.operation} ${push.status}${push.lastError ? `: ${push.lastError}` : ''}`);
    expect(summary(ip.id)).toEqual(['kumo apply skipped: domains only', 'hook apply pending', 'hook lift pending']);
    // A new expiry is pushed again (a platform whose application runs out, KumoMTA, must know it lasts longer).
    const expiring = service.create({ action: 'pause', scope: { rcpt_domain: 'yahoo.com' }, reason: 'deferrals', expiresAt: Date.parse('2026-11-24T12:00:00Z'), ...person }).control;
    service.create({ action: 'pause', scope: { rcpt_domain: 'yahoo.com' }, reason: 'still deferring', expiresAt: Date.parse('2026-11-27T12:00:00Z'), ...person });
    service.create({ action: 'pause', scope: { rcpt_domain: 'yahoo.com' }, reason: 'same again', ...person });
    expect(summary(expiring.id)).toEqual(['kumo apply pending', 'hook apply pending', 'kumo apply pending', 'hook apply pending']);
    expect(summary(domain.id)).toEqual(['kumo apply pending', 'hook apply pending', 'kumo lift pending', 'hook lift pending']);
  });

  it('the control series: a point at each change, and every minute while active (the latest point is the state)', () => {
    const { db, service, clock } = setup();
    const points = () =>
      takeBatch(db, 1_000)
        .map((row) => row.line)
        .filter((line) => line.startsWith('control,'));
    const throttle = service.create({ action: 'throttle', scope: { rcpt_domain: 'gmail.com', pool: 'b' }, ratePerMinute: 60, reason: 'gmail deferrals', ...person }).control;
    service.create({ action: 'throttle', scope: { rcpt_domain: 'gmail.com', pool: 'b' }, ratePerMinute: 30, reason: 'still deferring', ...person });
    service.tick();
    clock.advance(30_000);
    service.tick();
    clock.advance(30_000);
    service.tick();
    service.lift(throttle.id, 'ops', 'deferrals stopped');
    clock.advance(60_000);
    service.tick();
    const lines = points();
    expect(lines.map((line) => `${/active=(\w)/.exec(line)?.[1]} ${/rate_per_minute=(\d+)i/.exec(line)?.[1]}`)).toEqual(['T 60', 'T 30', 'T 30', 'T 30', 'F 30']);
    // One series per action and scope: the tags say what is controlled, the control's id is a field.
    expect(lines[0]).toMatch(
      new RegExp(
        `^control,action=throttle,scope=pool\\\\=b\\\\ rcpt_domain\\\\=gmail.com active=T,control="${throttle.id}",held=0i,push_failed=F,rate_per_minute=60i,reason="gmail deferrals",released=0i,source="token:ops" \\d+$`,
      ),
    );
  });

  it('survives a restart, and sees what another process (the CLI) wrote to the same store', () => {
    const first = setup();
    const control = first.service.create({ action: 'pause', scope: { pool: 'b' }, reason: 'listed', ...person }).control;
    const other = setup({ dir: first.dir });
    expect(other.service.decide({ pool: 'b' })).toMatchObject({ action: 'pause', controls: [{ id: control.id }] });
    const second = other.service.create({ action: 'pause', scope: { pool: 'c' }, reason: 'listed', ...person }).control;
    expect(first.service.decide({ pool: 'c' }).action).toBe('allow');
    first.service.tick();
    expect(first.service.decide({ pool: 'c' })).toMatchObject({ action: 'pause', controls: [{ id: second.id }] });
  });
});

describe('memory follows the store incrementally', () => {
  /** mulberry32: the same sequence every run. */
  const random = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };

  it('after 400 creates, updates, lifts and expiries, memory answers exactly as a service that read everything anew', () => {
    const { db, clock, service } = setup({ failMode: 'closed' });
    const next = random(20261206);
    const pick = <T>(values: readonly T[]) => values[Math.floor(next() * values.length)]!;
    const scopes = [{ pool: 'a' }, { pool: 'b' }, { ip: '192.0.2.0/28' }, { ip: '192.0.2.1', rcpt_domain: 'gmail.com' }, { campaign: 'c1' }, { campaign: 'c2', tenant: 't1' }, { provider: 'gmail' }];
    const questions = [
      { pool: 'a', ip: '192.0.2.1', rcpt_domain: 'gmail.com' },
      { pool: 'b', campaign: 'c2' },
      { ip: '192.0.2.9' },
      { campaign: 'c1', tenant: 't1', pool: 'a', ip: '198.51.100.1', rcpt_domain: 'outlook.com' },
      {},
    ];
    const answersOf = (controls: ControlService) =>
      questions.map((question) => {
        const decision = controls.decide(question);
        return { action: decision.action, rate: decision.ratePerMinute, controls: decision.controls.map((control) => control.id), unsure: decision.unsure.map((entry) => entry.control.id) };
      });
    for (let step = 0; step < 400; step++) {
      const roll = next();
      if (roll < 0.5) {
        const action = pick(['pause', 'throttle'] as const);
        service.create({
          action,
          scope: pick(scopes),
          ...(action === 'throttle' ? { ratePerMinute: Math.floor(next() * 100) } : {}),
          ...(next() < 0.3 ? { expiresAt: clock.now().getTime() + 1_000 + Math.floor(next() * 5_000) } : {}),
          reason: `step ${step}`,
          ...person,
        });
      } else if (roll < 0.75 && service.active.length > 0) {
        service.lift(pick(service.active).id, 'ops', 'done');
      } else if (roll < 0.85) {
        // A transaction that rolls back leaves memory as it was.
        expect(() =>
          db.transaction(() => {
            service.createWithin({ action: 'pause', scope: { tenant: `rolled-back-${step}` }, reason: 'x', ...person });
            throw new Error('rolled back');
          }),
        ).toThrow('rolled back');
      } else {
        clock.advance(1_500);
        service.tick();
      }
      const fresh = new ControlService({ db, clock, log: captureLog().log, settings: { failMode: 'closed', providers } });
      expect(
        service.active.map((control) => control.id),
        `step ${step}`,
      ).toEqual(fresh.active.map((control) => control.id));
      expect(answersOf(service), `step ${step}`).toEqual(answersOf(fresh));
    }
    expect(service.active.some((control) => control.scope.tenant?.startsWith('rolled-back'))).toBe(false);
  });

  it("another process's change is seen in full: memory reads everything again", () => {
    const { dir, service } = setup();
    const other = setup({ dir });
    other.service.create({ action: 'pause', scope: { pool: 'a' }, reason: 'from the CLI', ...person });
    service.create({ action: 'pause', scope: { pool: 'b' }, reason: 'here', ...person });
    expect(service.active.map((control) => control.scope.pool)).toEqual(['a', 'b']);
    expect(service.decide({ pool: 'a' }).action).toBe('pause');
  });
});

describe('the heartbeat of active controls', () => {
  it('writes, in a few statements, the same point for each control as one control’s point: held and released counts, a push given up', () => {
    const { db, clock, service } = setup({ platforms: [{ id: 'hook', unsupported: () => undefined }] });
    const a = service.create({ action: 'pause', scope: { ip: '192.0.2.1' }, reason: 'one', ...person }).control;
    const b = service.create({ action: 'throttle', ratePerMinute: 30, scope: { pool: 'b' }, reason: 'two', ...person }).control;
    const c = service.create({ action: 'pause', scope: { campaign: '9' }, reason: 'three', ...person }).control;
    const at = clock.now().getTime();
    recordHeld(db, { platform: 'mta', queueId: 'Q1', controlId: a.id, traffic: { ip: '192.0.2.1' }, heldAt: at });
    recordHeld(db, { platform: 'mta', queueId: 'Q2', controlId: a.id, traffic: { ip: '192.0.2.1' }, heldAt: at });
    markReleased(db, 'mta', 'Q2', at);
    const push = pushesOf(db, c.id)[0]!;
    markPushFailed(db, push.id, 'refused', undefined);
    const controls = [a, b, c].map((control) => getControl(db, control.id)!);
    const lines = () => takeBatch(db, 10_000).map((row) => row.line);
    const before = lines().length;
    db.transaction(() => {
      for (const control of controls) controlPoint(db, control, at + 60_000);
    });
    const one = lines().slice(before);
    const statements: string[] = [];
    const prepare = db.statement.bind(db);
    db.statement = (sql: string) => {
      statements.push(sql);
      return prepare(sql);
    };
    db.transaction(() => controlPoints(db, controls, at + 60_000));
    db.statement = prepare;
    const many = lines().slice(before + one.length);
    expect(many).toEqual(one);
    expect(one).toHaveLength(3);
    expect(one[0]).toMatch(/held=1i,push_failed=F,reason="one",released=1i/);
    expect(one[2]).toMatch(/push_failed=T/);
    // The held counts, the failed pushes, and the lines in slices of 2 and 1 (not three statements a control).
    expect(statements).toHaveLength(4);
  });
});
