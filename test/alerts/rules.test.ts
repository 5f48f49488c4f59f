/**
 * Rule evaluation as tables: conditions compiled against the series registry and
 * tested on values; and the engine over a real store with a clock that stands
 * still (for: N runs and durations, re-notify, "record changed", a restart).
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { AlertEngine } from '../../src/alerts/engine.ts';
import { compileCondition, holds, matchesWhere, meetsMinimum, RuleSchema, type Condition } from '../../src/alerts/rules.ts';
import { ManualClock } from '../../src/core/clock.ts';
import type { FieldValue, Observation } from '../../src/core/observation.ts';
import { listAlerts, listNotifications } from '../../src/store/alerts.ts';
import { Database } from '../../src/store/database.ts';
import { takeBatch } from '../../src/store/outbox.ts';
import { captureLog } from '../helpers/log.ts';
import { tempDir } from '../helpers/temp.ts';

describe('rule conditions', () => {
  it.each<[string, FieldValue | undefined, boolean | undefined]>([
    ['blacklist.listed == true', true, true],
    ['blacklist.listed == true', false, false],
    ['blacklist.listed == true', undefined, undefined],
    ['blacklist.listed != true', false, true],
    ['blacklist.status == error', 'error', true],
    ["blacklist.status == 'listed'", 'listed', true],
    ['blacklist.status != "listed"', 'not_listed', true],
    ['placement_provider.inbox_rate < 0.8', 0.79, true],
    ['placement_provider.inbox_rate < 0.8', 0.8, false],
    ['placement_provider.inbox_rate <= 0.8', 0.8, true],
    ['blacklist_target.listed_count >= 2', 2, true],
    ['blacklist_target.listed_count > 2', 2, false],
    ['outbox.oldest_age_s > 900', 901.5, true],
    ['probe failing', false, true],
    ['probe failing', true, false],
  ])('%s on %s → %s', (text, value, expected) => {
    const condition = compileCondition(text) as Condition & { kind: 'threshold' };
    expect(typeof condition).toBe('object');
    expect(holds(condition, value)).toBe(expected);
  });

  it('the alert series is written by the engine: no rule can watch it', () => {
    expect(compileCondition('alert.firing == true')).toBe('alert is written by the alert engine, not observed by a probe: a rule cannot watch it');
    expect(compileCondition('alerts.firing == true')).toMatch(/^unknown measurement "alerts" \(expected one of: probe_run, .*reachability.*\)$/);
    expect(compileCondition('alerts.firing == true')).not.toContain('alert,');
  });

  it('"record changed" is the change detection of dns_auth', () => {
    expect(compileCondition('record changed')).toEqual({ kind: 'change', measurement: 'dns_auth', into: 'dns_auth_change', field: 'digest' });
  });

  it('minimum: a condition holds only with the evidence asked for; the fields must be numeric fields of the measurement', () => {
    const rule = RuleSchema.parse({ id: 'deferring', condition: 'traffic.deferral_rate > 0.3', minimum: { attempts: 20 } });
    expect(meetsMinimum(rule, { fields: { attempts: 20, deferral_rate: 1 } })).toBe(true);
    expect(meetsMinimum(rule, { fields: { attempts: 19, deferral_rate: 1 } })).toBe(false);
    expect(meetsMinimum(rule, { fields: { deferral_rate: 1 } })).toBe(false);
    expect(meetsMinimum(RuleSchema.parse({ id: 'any', condition: 'traffic.deferral_rate > 0.3' }), { fields: {} })).toBe(true);
    const problems = (input: Record<string, unknown>) => RuleSchema.safeParse({ id: 'r', ...input }).error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    expect(problems({ condition: 'traffic.deferral_rate > 0.3', minimum: { attemps: 20 } })).toEqual([
      expect.stringMatching(/^minimum\.attemps: traffic has no numeric field "attemps" \(numeric fields: .*attempts.*\)$/),
    ]);
    expect(problems({ condition: 'blacklist.listed == true', minimum: { status: 1 } })).toEqual([expect.stringMatching(/^minimum\.status: blacklist has no numeric field "status"/)]);
    expect(problems({ condition: 'record changed', minimum: { digest: 1 } })).toEqual(['minimum: only a threshold condition ("measurement.field <op> value") takes a minimum']);
    expect(problems({ condition: 'traffic.deferral_rate > 0.3', minimum: { attempts: -1 } })).toEqual([expect.stringMatching(/^minimum\.attempts: /)]);
  });

  it('tag filters: every filter must match, a list is any of', () => {
    const rule = { where: { provider: ['gmail', 'yahoo'], probe: ['seeds'] } };
    expect(matchesWhere(rule, { provider: 'gmail', probe: 'seeds' })).toBe(true);
    expect(matchesWhere(rule, { provider: 'outlook', probe: 'seeds' })).toBe(false);
    expect(matchesWhere(rule, { provider: 'yahoo' })).toBe(false);
  });
});

const listedAt = (target: string, listed: boolean | undefined, at: Date): Observation => ({
  measurement: 'blacklist',
  tags: { probe: 'pool', target, target_kind: 'ip', list: 'lab-zen' },
  fields: listed === undefined ? { status: 'error', error_code: 'DNS_TIMEOUT' } : { status: listed ? 'listed' : 'not_listed', listed, ...(listed ? { delist_url: 'https://dnsbl.test/delist' } : {}) },
  time: at,
});

function engineOn(db: Database, clock: ManualClock, rule: Record<string, unknown>): AlertEngine {
  const parsed = RuleSchema.parse({ id: 'r', notify: ['chat'], ...rule });
  return new AlertEngine({ db, rules: [parsed], clock, log: captureLog().log, settings: { intervalMs: 30_000, renotifyMs: 3_600_000, flap: { maxTransitions: 4, windowMs: 3_600_000 } } });
}

describe('alert engine over a real store, clock injected', () => {
  it('one instance per series; for: 2 runs; one notification per transition; a restart mid-firing neither re-fires nor forgets', () => {
    const db = Database.open(tempDir());
    onTestFinished(() => db.close());
    const clock = new ManualClock('2026-11-23T10:00:00Z');
    let engine = engineOn(db, clock, { condition: 'blacklist.listed == true', for: 2 });
    const evaluate = (...observations: Observation[]) => db.transaction(() => engine.evaluate(observations));
    const states = () => Object.fromEntries(listAlerts(db, { limit: 10 }).map((alert) => [alert.labels.target, alert.state]));
    const events = () =>
      listNotifications(db, { limit: 100 })
        .map((row) => `${(row.payload as { alert: { labels: { target: string } } }).alert.labels.target} ${row.event}`)
        .reverse();

    evaluate(listedAt('192.0.2.1', true, clock.now()), listedAt('192.0.2.2', false, clock.now()));
    expect(states()).toEqual({ '192.0.2.1': 'pending' });
    clock.advance(60_000);
    evaluate(listedAt('192.0.2.1', true, clock.now()), listedAt('192.0.2.2', true, clock.now()));
    expect(states()).toEqual({ '192.0.2.1': 'firing', '192.0.2.2': 'pending' });
    expect(events()).toEqual(['192.0.2.1 firing']);

    // Restart: a new engine on the same store.
    engine = engineOn(db, clock, { condition: 'blacklist.listed == true', for: 2 });
    clock.advance(60_000);
    evaluate(listedAt('192.0.2.1', true, clock.now()), listedAt('192.0.2.2', undefined, clock.now()));
    expect(states()).toEqual({ '192.0.2.1': 'firing', '192.0.2.2': 'pending' });
    expect(events()).toEqual(['192.0.2.1 firing']);

    clock.advance(3_600_000);
    engine.tick();
    expect(events()).toEqual(['192.0.2.1 firing', '192.0.2.1 reminder']);
    evaluate(listedAt('192.0.2.1', false, clock.now()), listedAt('192.0.2.2', true, clock.now()));
    expect(states()).toEqual({ '192.0.2.1': 'resolved', '192.0.2.2': 'firing' });
    expect(events()).toEqual(['192.0.2.1 firing', '192.0.2.1 reminder', '192.0.2.1 resolved', '192.0.2.2 firing']);
    const resolved = listNotifications(db, { limit: 10 }).find((row) => row.event === 'resolved');
    expect(resolved?.payload).toMatchObject({ event: 'resolved', alert: { value: false, condition: 'blacklist.listed == true', details: { delist_url: 'https://dnsbl.test/delist' } } });

    // The alert series, queued for the time-series database with the states: every evaluation of a live alert,
    // and the change to resolved; nothing for the error (unknown), nor for the reminder (time alone, no change of state).
    const points = takeBatch(db, 100)
      .map((row) => row.line)
      .filter((line) => line.startsWith('alert,'))
      .map((line) => `${/target=([\d.]+)/.exec(line)?.[1]} ${/state="(\w+)"/.exec(line)?.[1]} ${/firing=(\w+)/.exec(line)?.[1]}`);
    expect(points).toEqual(['192.0.2.1 pending F', '192.0.2.1 firing T', '192.0.2.2 pending F', '192.0.2.1 firing T', '192.0.2.1 resolved F', '192.0.2.2 firing T']);
    const line = takeBatch(db, 100).find((row) => row.line.startsWith('alert,'))!.line;
    expect(line).toMatch(
      /^alert,alert=[0-9a-f]{16},probe=pool,rule=r,severity=warning acknowledged=F,firing=F,flapping=F,silenced=F,state="pending",summary="blacklist.listed == true \(target=192.0.2.1, target_kind=ip, list=lab-zen\)",value="true" \d+$/,
    );
  });

  it('minimum: a quiet minute neither fires the alert nor keeps it firing', () => {
    const db = Database.open(tempDir());
    onTestFinished(() => db.close());
    const clock = new ManualClock('2026-11-23T10:00:00Z');
    const engine = engineOn(db, clock, { condition: 'traffic.deferral_rate > 0.3', minimum: { attempts: 20 } });
    const minute = (attempts: number, deferralRate: number) => {
      clock.advance(60_000);
      const point: Observation = { measurement: 'traffic', tags: { provider: 'gmail', ip: '192.0.2.10' }, fields: { attempts, deferral_rate: deferralRate }, time: clock.now() };
      db.transaction(() => engine.evaluate([point]));
      return listAlerts(db, { limit: 10 }).map((alert) => alert.state);
    };
    expect(minute(5, 1)).toEqual([]);
    expect(minute(30, 0.5)).toEqual(['firing']);
    expect(minute(3, 1)).toEqual(['resolved']);
  });

  it('"record changed" fires on the run with a change, then resolves without a message', () => {
    const db = Database.open(tempDir());
    onTestFinished(() => db.close());
    const clock = new ManualClock('2026-11-23T10:00:00Z');
    const engine = engineOn(db, clock, { condition: 'record changed', where: { check: 'spf' } });
    const tags = { probe: 'auth', domain: 'sender.test', check: 'spf' };
    const check = (digest: string): Observation => ({ measurement: 'dns_auth', tags, fields: { status: 'pass', level: 0, message: 'ok', findings: '', record: digest, digest }, time: clock.now() });
    const change: Observation = {
      measurement: 'dns_auth_change',
      tags,
      fields: { old_record: 'v=spf1 -all', new_record: 'v=spf1 ip4:192.0.2.1 -all', old_digest: 'a', new_digest: 'b' },
      time: clock.now(),
    };
    db.transaction(() => engine.evaluate([check('a')]));
    db.transaction(() => engine.evaluate([check('b'), change]));
    db.transaction(() => engine.evaluate([check('b')]));
    const notifications = listNotifications(db, { limit: 10 });
    expect(notifications.map((row) => row.event)).toEqual(['firing']);
    expect(notifications[0]?.payload).toMatchObject({ alert: { value: 'v=spf1 ip4:192.0.2.1 -all', details: { old_record: 'v=spf1 -all', new_record: 'v=spf1 ip4:192.0.2.1 -all' } } });
    expect(listAlerts(db, { limit: 10 }).map((alert) => alert.state)).toEqual(['resolved']);
  });
});
