/**
 * Held mail goes when its pause lifts. For each `postfix-policy` platform with a
 * `release:` section, the messages its policy service held for controls since
 * lifted are released from Postfix's hold queue (postsuper -H), unless another
 * active pause still covers them (then they are that pause's to release). Postfix
 * is asked before and after (postqueue -j): a message is marked released only
 * when it has left the hold queue; a failure is kept on the message, with the
 * reason, and retried.
 */
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { deliverNow, queueOf, releaseFromHold, type ReleaseConfig } from '../platforms/postfix-policy.ts';
import { audit, getControl, heldForLifted, markReleased, reassignHeld, type HeldMessage } from '../store/controls.ts';
import type { Database } from '../store/database.ts';
import { controlPoint, pauseOf, type ControlService } from './service.ts';

/** Beyond this many released at once, the queue manager's next run delivers the rest (postqueue -i is one process per message). */
const maxScheduled = 100;

export interface ReleaseTarget {
  id: string;
  release: ReleaseConfig;
}

export interface ReleaseReport {
  released: number;
  /** Held on: another active pause covers them. */
  stillPaused: number;
  failed: number;
  /** Not in the hold queue yet (Postfix still writing them): looked for again shortly. */
  waiting: number;
}

/** The postfix-policy platforms that may release: those with `release:` set. */
export function releaseTargetsOf(platforms: readonly { id: string; kind: string; release?: ReleaseConfig | undefined }[]): ReleaseTarget[] {
  return platforms.filter((platform) => platform.kind === 'postfix-policy' && platform.release).map((platform) => ({ id: platform.id, release: platform.release! }));
}

export class Releaser {
  readonly #db: Database;
  readonly #controls: ControlService;
  readonly #targets: readonly ReleaseTarget[];
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #retryMs: number;
  readonly #timeoutMs: number;
  readonly #graceMs: number;
  readonly #waitMs: number;
  readonly #shutdown = new AbortController();
  #running = false;
  #pass: Promise<ReleaseReport> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: { db: Database; controls: ControlService; targets: readonly ReleaseTarget[]; clock: Clock; log: Logger; retryMs?: number; timeoutMs?: number; graceMs?: number; waitMs?: number }) {
    this.#db = options.db;
    this.#controls = options.controls;
    this.#targets = options.targets;
    this.#clock = options.clock;
    this.#log = options.log.child({ component: 'release' });
    this.#retryMs = options.retryMs ?? 30_000;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#graceMs = options.graceMs ?? 10 * 60_000;
    this.#waitMs = options.waitMs ?? 1_000;
  }

  start(): void {
    if (this.#targets.length === 0) return;
    this.#running = true;
    this.wake();
  }

  /** Controls changed (or a message was held for a control already lifted): look now. */
  wake(): void {
    if (!this.#running) return;
    if (this.#pass) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#loop(), 0);
  }

  /** Stops; Postfix commands still running are killed (what they did is looked at again at the next start). */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#shutdown.abort();
    await this.#pass?.catch(() => {});
  }

  /** One pass over every platform. */
  async releaseOnce(): Promise<ReleaseReport> {
    const report: ReleaseReport = { released: 0, stillPaused: 0, failed: 0, waiting: 0 };
    for (const target of this.#targets) {
      if (this.#shutdown.signal.aborted) break;
      const part = await this.#releaseAt(target);
      report.released += part.released;
      report.stillPaused += part.stillPaused;
      report.failed += part.failed;
      report.waiting += part.waiting;
    }
    return report;
  }

  async #loop(): Promise<void> {
    let report: ReleaseReport | undefined;
    do {
      this.#again = false;
      this.#pass = this.releaseOnce();
      try {
        report = await this.#pass;
      } catch (error) {
        this.#log.error({ err: error }, 'release pass failed');
        report = { released: 0, stillPaused: 0, failed: 1, waiting: 0 };
      } finally {
        this.#pass = undefined;
      }
    } while (this.#again && this.#running);
    if ((report.failed > 0 || report.waiting > 0) && this.#running) {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => void this.#loop(), report.failed > 0 ? this.#retryMs : this.#waitMs);
      this.#timer.unref();
    }
  }

  /** Those still covered by another pause become that pause's; the others are returned. */
  #handOver(target: ReleaseTarget, messages: readonly HeldMessage[], report: ReleaseReport): HeldMessage[] {
    const free: HeldMessage[] = [];
    for (const held of messages) {
      const other = pauseOf(this.#controls.decide(held.traffic));
      if (!other) {
        free.push(held);
        continue;
      }
      reassignHeld(this.#db, target.id, held.queueId, other.id);
      this.#log.info({ platform: target.id, queueId: held.queueId, from: held.controlId, to: other.id }, 'held message stays held: another pause covers it');
      report.stillPaused++;
    }
    return free;
  }

  async #releaseAt(target: ReleaseTarget): Promise<ReleaseReport> {
    const report: ReleaseReport = { released: 0, stillPaused: 0, failed: 0, waiting: 0 };
    const toRelease = this.#handOver(target, heldForLifted(this.#db, target.id), report);
    if (toRelease.length === 0) return report;
    const signal = this.#shutdown.signal;
    const fail = (messages: readonly HeldMessage[], reason: string) => {
      const now = this.#clock.now().getTime();
      this.#db.transaction(() => {
        for (const held of messages) markReleased(this.#db, target.id, held.queueId, now, { error: reason });
      });
      this.#log.error({ code: 'RELEASE_FAILED', platform: target.id, queueIds: messages.map((held) => held.queueId), reason }, 'held messages could not be released; retrying');
      report.failed += messages.length;
    };
    let before: Map<string, string>;
    try {
      before = await queueOf(target.release, { timeoutMs: this.#timeoutMs, signal });
    } catch (error) {
      if (!signal.aborted) fail(toRelease, (error as Error).message);
      return report;
    }
    const now = this.#clock.now().getTime();
    // Not in the hold queue yet: Postfix's cleanup may still be writing it (held at END-OF-MESSAGE a moment ago).
    // Looked for again shortly; only after the grace period is a message no one can find taken as gone.
    const notYet = toRelease.filter((held) => {
      const where = before.get(held.queueId);
      return (where === undefined || where === 'incoming' || where === 'maildrop') && now - held.heldAt < this.#graceMs;
    });
    report.waiting += notYet.length;
    const settled = toRelease.filter((held) => !notYet.includes(held));
    // A pause made while postqueue ran (the address listed again) covers them: theirs, not released.
    const inHold = this.#handOver(
      target,
      settled.filter((held) => before.get(held.queueId) === 'hold'),
      report,
    );
    const gone = settled.filter((held) => before.get(held.queueId) !== 'hold');
    let after = new Map<string, string>();
    if (inHold.length > 0) {
      try {
        await releaseFromHold(
          target.release,
          inHold.map((held) => held.queueId),
          { timeoutMs: this.#timeoutMs, signal },
        );
        after = await queueOf(target.release, { timeoutMs: this.#timeoutMs, signal });
      } catch (error) {
        if (!signal.aborted) fail(inHold, (error as Error).message);
        inHold.length = 0;
      }
    }
    const stuck = inHold.filter((held) => after.get(held.queueId) === 'hold');
    if (stuck.length > 0) fail(stuck, 'still in the hold queue after postsuper -H');
    const released = inHold.filter((held) => after.get(held.queueId) !== 'hold');
    const at = this.#clock.now().getTime();
    this.#db.transaction(() => {
      for (const held of released) markReleased(this.#db, target.id, held.queueId, at);
      for (const held of gone) {
        const where = before.get(held.queueId);
        markReleased(this.#db, target.id, held.queueId, at, { note: where ? `already out of the hold queue (${where})` : 'no longer in the queue (released or deleted by hand)' });
      }
      const byControl = Map.groupBy([...released, ...gone], (held) => held.controlId);
      for (const [controlId, messages] of byControl) {
        const control = getControl(this.#db, controlId);
        if (control) controlPoint(this.#db, control, at);
        audit(this.#db, {
          at,
          actor: 'mailscope',
          action: 'control.released',
          subject: controlId,
          details: { platform: target.id, queueIds: messages.map((held) => held.queueId), released: messages.filter((held) => released.includes(held)).length },
        });
      }
    });
    if (released.length + gone.length > 0) this.#log.info({ platform: target.id, released: released.map((held) => held.queueId), gone: gone.map((held) => held.queueId) }, 'held messages released');
    report.released += released.length + gone.length;
    // Released mail waits in the deferred queue for the next queue run (300 s by default): ask for it now.
    const unscheduled = await deliverNow(
      target.release,
      released.slice(0, maxScheduled).map((held) => held.queueId),
      { timeoutMs: this.#timeoutMs, signal },
    );
    if (unscheduled.length > 0 && !signal.aborted) this.#log.warn({ platform: target.id, queueIds: unscheduled }, 'released, but could not ask Postfix to deliver now: it goes at the next queue run');
    return report;
  }
}
