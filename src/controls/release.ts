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
import { controlPoint, type ControlService } from './service.ts';

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
  #running = false;
  #pass: Promise<ReleaseReport> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: { db: Database; controls: ControlService; targets: readonly ReleaseTarget[]; clock: Clock; log: Logger; retryMs?: number; timeoutMs?: number }) {
    this.#db = options.db;
    this.#controls = options.controls;
    this.#targets = options.targets;
    this.#clock = options.clock;
    this.#log = options.log.child({ component: 'release' });
    this.#retryMs = options.retryMs ?? 30_000;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
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

  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    await this.#pass?.catch(() => {});
  }

  /** One pass over every platform. */
  async releaseOnce(): Promise<ReleaseReport> {
    const report: ReleaseReport = { released: 0, stillPaused: 0, failed: 0 };
    for (const target of this.#targets) {
      const part = await this.#releaseAt(target);
      report.released += part.released;
      report.stillPaused += part.stillPaused;
      report.failed += part.failed;
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
        report = { released: 0, stillPaused: 0, failed: 1 };
      } finally {
        this.#pass = undefined;
      }
    } while (this.#again && this.#running);
    if (report.failed > 0 && this.#running) {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => void this.#loop(), this.#retryMs);
      this.#timer.unref();
    }
  }

  async #releaseAt(target: ReleaseTarget): Promise<ReleaseReport> {
    const report: ReleaseReport = { released: 0, stillPaused: 0, failed: 0 };
    const candidates = heldForLifted(this.#db, target.id);
    if (candidates.length === 0) return report;
    const toRelease: HeldMessage[] = [];
    for (const held of candidates) {
      // Another pause covers the message: it is that pause's now.
      const decision = this.#controls.decide(held.traffic);
      const other = decision.action === 'pause' ? (decision.controls.find((one) => one.action === 'pause') ?? decision.unsure.find((one) => one.control.action === 'pause')?.control) : undefined;
      if (other) {
        reassignHeld(this.#db, target.id, held.queueId, other.id);
        this.#log.info({ platform: target.id, queueId: held.queueId, from: held.controlId, to: other.id }, 'held message stays held: another pause covers it');
        report.stillPaused++;
      } else toRelease.push(held);
    }
    if (toRelease.length === 0) return report;
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
      before = await queueOf(target.release, this.#timeoutMs);
    } catch (error) {
      fail(toRelease, (error as Error).message);
      return report;
    }
    const inHold = toRelease.filter((held) => before.get(held.queueId) === 'hold');
    const gone = toRelease.filter((held) => before.get(held.queueId) !== 'hold');
    if (inHold.length > 0) {
      try {
        await releaseFromHold(
          target.release,
          inHold.map((held) => held.queueId),
          this.#timeoutMs,
        );
      } catch (error) {
        fail(inHold, (error as Error).message);
        inHold.length = 0;
      }
    }
    let after = new Map<string, string>();
    if (inHold.length > 0) {
      try {
        after = await queueOf(target.release, this.#timeoutMs);
      } catch (error) {
        fail(inHold, `released, but could not be checked: ${(error as Error).message}`);
        inHold.length = 0;
      }
    }
    const stuck = inHold.filter((held) => after.get(held.queueId) === 'hold');
    if (stuck.length > 0) fail(stuck, 'still in the hold queue after postsuper -H');
    const released = inHold.filter((held) => after.get(held.queueId) !== 'hold');
    const now = this.#clock.now().getTime();
    this.#db.transaction(() => {
      for (const held of released) markReleased(this.#db, target.id, held.queueId, now);
      for (const held of gone) {
        const where = before.get(held.queueId);
        markReleased(this.#db, target.id, held.queueId, now, { note: where ? `already out of the hold queue (${where})` : 'no longer in the queue (released or deleted by hand)' });
      }
      const byControl = Map.groupBy([...released, ...gone], (held) => held.controlId);
      for (const [controlId, messages] of byControl) {
        const control = getControl(this.#db, controlId);
        if (control) controlPoint(this.#db, control, now);
        audit(this.#db, {
          at: now,
          actor: 'mailscope',
          action: 'control.released',
          subject: controlId,
          details: { platform: target.id, queueIds: messages.map((held) => held.queueId), released: messages.filter((held) => released.includes(held)).length },
        });
      }
    });
    // Released mail waits in the deferred queue for the next queue run (300 s by default): ask for it now.
    const unscheduled = await deliverNow(
      target.release,
      released.slice(0, maxScheduled).map((held) => held.queueId),
      this.#timeoutMs,
    );
    if (unscheduled.length > 0) this.#log.warn({ platform: target.id, queueIds: unscheduled }, 'released, but could not ask Postfix to deliver now: it goes at the next queue run');
    if (released.length + gone.length > 0) this.#log.info({ platform: target.id, released: released.map((held) => held.queueId), gone: gone.map((held) => held.queueId) }, 'held messages released');
    report.released += released.length + gone.length;
    return report;
  }
}
