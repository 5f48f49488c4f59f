/**
 * Releasing held mail, against the lab's real Postfix queue (postqueue -j,
 * postsuper -H): a message another pause still covers stays held and becomes that
 * pause's; a message no longer in the queue is settled with a note; Postfix
 * failing (a wrong config directory, output that is not JSON) keeps the message
 * held with the reason, and nothing is marked released.
 */
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Releaser } from '../../src/controls/release.ts';
import { ControlService } from '../../src/controls/service.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { holdQueueOf, queueOf, releaseFromHold } from '../../src/platforms/postfix-policy.ts';
import { heldCount, listAudit, recordHeld } from '../../src/store/controls.ts';
import { Database } from '../../src/store/database.ts';
import { lab } from '../lab/plan.ts';
import { captureLog } from '../helpers/log.ts';
import { tempDir } from '../helpers/temp.ts';

const release = { configDir: join(lab.stateDir, 'etc', 'postfix'), postsuper: '/usr/sbin/postsuper', postqueue: '/usr/sbin/postqueue' };
const person = { source: 'token:ops', actor: 'ops' };

function setup(target = release) {
  const db = Database.open(tempDir());
  onTestFinished(() => db.close());
  const clock = new ManualClock('2026-11-24T10:00:00Z');
  const logs = captureLog();
  const controls = new ControlService({ db, clock, log: logs.log, settings: { failMode: 'open', providers: new Map() } });
  const releaser = new Releaser({ db, controls, targets: [{ id: 'mta', queue: holdQueueOf(target) }], clock, log: logs.log });
  const hold = (queueId: string, controlId: string, ip: string, pool = 'a') =>
    recordHeld(db, { platform: 'mta', queueId, controlId, traffic: { ip, pool, rcpt_domain: 'gmail.test' }, heldAt: clock.now().getTime() });
  return { db, clock, controls, releaser, hold, logs };
}

describe('releasing held mail', () => {
  it("a message another pause still covers stays held, now that pause's; one no longer in the queue is settled with a note", async () => {
    const { db, clock, controls, releaser, hold } = setup();
    const byIp = controls.create({ action: 'pause', scope: { ip: '127.0.0.14' }, reason: 'listed', ...person }).control;
    const byPool = controls.create({ action: 'pause', scope: { pool: 'a' }, reason: 'warming', ...person }).control;
    const other = controls.create({ action: 'pause', scope: { ip: '127.0.0.16' }, reason: 'listed', ...person }).control;
    hold('AAAA11111A', byIp.id, '127.0.0.14');
    hold('BBBB22222B', other.id, '127.0.0.16', 'b');
    controls.lift(byIp.id, 'ops', 'delisted');
    controls.lift(other.id, 'ops', 'delisted');
    // Not in the queue, held a moment ago: Postfix may still be writing it. Looked for again, not taken as gone.
    expect(await releaser.releaseOnce()).toEqual({ released: 0, stillPaused: 1, failed: 0, waiting: 1 });
    expect(heldCount(db, other.id)).toEqual({ held: 1, released: 0 });
    clock.advance(10 * 60_000);
    expect(await releaser.releaseOnce()).toEqual({ released: 1, stillPaused: 0, failed: 0, waiting: 0 });
    expect(heldCount(db, byPool.id)).toEqual({ held: 1, released: 0 });
    expect(heldCount(db, byIp.id)).toEqual({ held: 0, released: 0 });
    expect(heldCount(db, other.id)).toEqual({ held: 0, released: 1 });
    expect(listAudit(db, { subject: other.id, limit: 5 })[0]).toMatchObject({ action: 'control.released', actor: 'mailscope', details: { platform: 'mta', queueIds: ['BBBB22222B'], released: 0 } });
    // Nothing more to do: a second pass changes nothing.
    expect(await releaser.releaseOnce()).toEqual({ released: 0, stillPaused: 0, failed: 0, waiting: 0 });
  });

  it('Postfix failing keeps the message held with the reason (wrong config directory; output that is not JSON)', async () => {
    const broken = setup({ ...release, configDir: '/nonexistent/postfix' });
    const control = broken.controls.create({ action: 'pause', scope: { ip: '127.0.0.14' }, reason: 'listed', ...person }).control;
    broken.hold('CCCC33333C', control.id, '127.0.0.14');
    broken.controls.lift(control.id, 'ops', 'delisted');
    expect(await broken.releaser.releaseOnce()).toEqual({ released: 0, stillPaused: 0, failed: 1, waiting: 0 });
    expect(heldCount(broken.db, control.id)).toEqual({
      held: 1,
      released: 0,
      releaseError: expect.stringMatching(/^postqueue -c \/nonexistent\/postfix -j: exit \d+: postqueue: fatal: .*\/nonexistent\/postfix/),
    });
    expect(broken.logs.entries().find((entry) => entry.code === 'RELEASE_FAILED')).toMatchObject({ level: 'error', queueIds: ['CCCC33333C'] });

    const garbled = setup({ ...release, postqueue: '/usr/bin/printf' });
    const second = garbled.controls.create({ action: 'pause', scope: { ip: '127.0.0.14' }, reason: 'listed', ...person }).control;
    garbled.hold('DDDD44444D', second.id, '127.0.0.14');
    garbled.controls.lift(second.id, 'ops', 'delisted');
    expect(await garbled.releaser.releaseOnce()).toMatchObject({ released: 0, failed: 1 });
    expect(heldCount(garbled.db, second.id).releaseError).toBe('postqueue -j printed a line that is not JSON: "-c"');
  });

  it("queue ids that are not Postfix's never reach postsuper; the real queue lists as queue id → queue name", async () => {
    await expect(releaseFromHold(release, ['ABCDEF1234', '-d ALL'])).rejects.toThrow('not a Postfix queue id: "-d ALL"');
    await expect(releaseFromHold(release, ['../../etc'])).rejects.toThrow('not a Postfix queue id');
    const queue = await queueOf(release);
    expect([...queue.values()].every((name) => ['hold', 'deferred', 'active', 'incoming', 'maildrop'].includes(name))).toBe(true);
  });
});
