/**
 * The controls as a platform's runtime asks them: a pause (or, failing closed, one
 * that may apply), a throttle over its rate, else allow; a held message recorded
 * with its pause, and the releaser woken when that pause lifted meanwhile.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { sendPolicyOf } from '../../src/controls/send-policy.ts';
import { ControlService } from '../../src/controls/service.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { heldBy } from '../../src/store/controls.ts';
import { Database } from '../../src/store/database.ts';
import { captureLog } from '../helpers/log.ts';
import { tempDir } from '../helpers/temp.ts';

const person = { source: 'token:ops', actor: 'ops' };

function setup(failMode: 'open' | 'closed' = 'open') {
  const db = Database.open(tempDir());
  onTestFinished(() => db.close());
  const clock = new ManualClock('2026-11-24T10:00:00Z');
  const controls = new ControlService({ db, clock, log: captureLog().log, settings: { failMode, providers: new Map([['gmail.test', 'gmail']]) } });
  let wakes = 0;
  const policy = sendPolicyOf({ platformId: 'mta', controls, db, clock, onHeldAfterLift: () => wakes++ });
  return { db, clock, controls, policy, wakes: () => wakes };
}

describe('the send policy a platform runtime asks', () => {
  it('pause, then a throttle once its rate is spent, else allow', () => {
    const { controls, policy } = setup();
    const pause = controls.create({ action: 'pause', scope: { ip: '192.0.2.1' }, reason: 'listed', ...person }).control;
    const throttle = controls.create({ action: 'throttle', scope: { provider: 'gmail' }, ratePerMinute: 1, reason: 'deferring', ...person }).control;
    expect(policy.decide({ ip: '192.0.2.1', rcpt_domain: 'gmail.test' })).toMatchObject({ action: 'pause', control: { id: pause.id } });
    expect(policy.decide({ ip: '192.0.2.2', rcpt_domain: 'gmail.test' })).toEqual({ action: 'allow' });
    expect(policy.decide({ ip: '192.0.2.2', rcpt_domain: 'gmail.test' })).toMatchObject({ action: 'over-rate', control: { id: throttle.id, ratePerMinute: 1 } });
    expect(policy.decide({ ip: '192.0.2.2', rcpt_domain: 'outlook.test' })).toEqual({ action: 'allow' });
  });

  it('fails as the controls say: closed holds what a pause may cover', () => {
    const open = setup('open');
    const closed = setup('closed');
    for (const { controls } of [open, closed]) controls.create({ action: 'pause', scope: { ip: '192.0.2.1', tenant: 'acme' }, reason: 'complaints', ...person });
    expect([open.policy.failMode, closed.policy.failMode]).toEqual(['open', 'closed']);
    expect(open.policy.decide({ ip: '192.0.2.1' })).toEqual({ action: 'allow' });
    expect(closed.policy.decide({ ip: '192.0.2.1' })).toMatchObject({ action: 'pause' });
  });

  it('records a held message with its pause; wakes the releaser only when that pause was lifted meanwhile', () => {
    const { db, controls, policy, wakes } = setup();
    const pause = controls.create({ action: 'pause', scope: { ip: '192.0.2.1' }, reason: 'listed', ...person }).control;
    policy.held({ id: 'AAAA11111A', controlId: pause.id, traffic: { ip: '192.0.2.1' } });
    expect(wakes()).toBe(0);
    controls.lift(pause.id, 'ops', 'delisted');
    policy.held({ id: 'BBBB22222B', controlId: pause.id, traffic: { ip: '192.0.2.1' } });
    expect(wakes()).toBe(1);
    expect(heldBy(db, pause.id).map((held) => [held.platform, held.queueId, held.heldAt])).toEqual([
      ['mta', 'AAAA11111A', Date.parse('2026-11-24T10:00:00Z')],
      ['mta', 'BBBB22222B', Date.parse('2026-11-24T10:00:00Z')],
    ]);
  });
});
