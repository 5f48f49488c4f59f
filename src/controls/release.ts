/**
 * Held mail goes when its pause lifts. For each platform with a hold queue Mailscope
 * may release from (the platform kind's `runtime.holdQueue`: Postfix with a
 * `release:` section), the messages it held for controls since lifted are
 * released, unless another active pause still covers them (then they are that
 * pause's to release). The queue is listed before and after: a message is marked
 * released only when it has left the hold queue; a failure is kept on the
 * message, with the reason, and retried.
 */
import { alone, type Duty } from '../core/duty.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { HoldQueue, QueuePlace } from '../platforms/define.ts';
import { findPlatform, type PlatformConfig } from '../platforms/index.ts';
import { audit, getControl, heldForLifted, markReleased, reassignHeld, type HeldMessage } from '../store/controls.ts';
import type { Database } from '../store/database.ts';
import { controlPoint, pauseOf, type ControlService } from './service.ts';

/** Beyond this many released at once, the platform's next queue run delivers the rest (asking may cost a process per message: Postfix's postqueue -i). */
const maxScheduled = 100;

export interface ReleaseTarget {
  /** The platform's id. */
  id: string;
  queue: HoldQueue;
}

export interface ReleaseReport {
  released: number;
  /** Held on: another active pause covers them. */
  stillPaused: number;
  failed: number;
  /** Not in the hold queue yet (Postfix still writing them): looked for again shortly. */
  waiting: number;
}

/** The configured platforms Mailscope releases held mail from: those whose kind has a hold queue that this configuration lets it use. */
export function releaseTargetsOf(platforms: readonly PlatformConfig[]): ReleaseTarget[] {
  return platforms.flatMap((config) => {
    const queue = findPlatform(config.kind)?.runtime?.holdQueue?.(config);
    return queue ? [{ id: config.id, queue }] : [];
  });
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
  readonly #duty: Duty;
  #pass: Promise<ReleaseReport> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: {
    db: Database;
    controls: ControlService;
    targets: readonly ReleaseTarget[];
    clock: Clock;
    log: Logger;
    retryMs?: number;
    timeoutMs?: number;
    graceMs?: number;
    waitMs?: number;
    /** In a cluster, only the lease's holder releases held mail. */
    duty?: Duty;
  }) {
    this.#duty = options.duty ?? alone;
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

  /** Stops; the platform's commands still running are killed (what they did is looked at again at the next start). */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#shutdown.abort();
    await this.#pass?.catch(() => {});
  }

  /** One pass over every platform. */
  async releaseOnce(): Promise<ReleaseReport> {
    const report: ReleaseReport = { released: 0, stillPaused: 0, failed: 0, waiting: 0 };
    if (!this.#duty.active()) return report;
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
        this.#duty.fence();
        for (const held of messages) markReleased(this.#db, target.id, held.queueId, now, { error: reason });
      });
      this.#log.error({ code: 'RELEASE_FAILED', platform: target.id, queueIds: messages.map((held) => held.queueId), reason }, 'held messages could not be released; retrying');
      report.failed += messages.length;
    };
    const queue = { timeoutMs: this.#timeoutMs, signal };
    let before: Map<string, QueuePlace>;
    try {
      before = await target.queue.list(queue);
    } catch (error) {
      if (!signal.aborted) fail(toRelease, (error as Error).message);
      return report;
    }
    const now = this.#clock.now().getTime();
    // Not in the hold queue yet: the platform may still be writing it (Postfix's cleanup, held at END-OF-MESSAGE a moment ago).
    // Looked for again shortly; only after the grace period is a message no one can find taken as gone.
    const notYet = toRelease.filter((held) => {
      const place = before.get(held.queueId);
      return (place === undefined || place.state === 'arriving') && now - held.heldAt < this.#graceMs;
    });
    report.waiting += notYet.length;
    const settled = toRelease.filter((held) => !notYet.includes(held));
    // A pause made while the queue was listed (the address listed again) covers them: theirs, not released.
    const isHeld = (place: QueuePlace | undefined) => place?.state === 'held';
    const inHold = this.#handOver(
      target,
      settled.filter((held) => isHeld(before.get(held.queueId))),
      report,
    );
    const gone = settled.filter((held) => !isHeld(before.get(held.queueId)));
    let after = new Map<string, QueuePlace>();
    // The lease passed to another instance while the queue was listed: that one releases.
    if (!this.#duty.active()) return report;
    if (inHold.length > 0) {
      try {
        await target.queue.release(
          inHold.map((held) => held.queueId),
          queue,
        );
        after = await target.queue.list(queue);
      } catch (error) {
        if (!signal.aborted) fail(inHold, (error as Error).message);
        inHold.length = 0;
      }
    }
    const stuck = inHold.filter((held) => isHeld(after.get(held.queueId)));
    if (stuck.length > 0) fail(stuck, `still in the hold queue after ${target.queue.releasedBy}`);
    const released = inHold.filter((held) => !isHeld(after.get(held.queueId)));
    const at = this.#clock.now().getTime();
    this.#db.transaction(() => {
      this.#duty.fence();
      for (const held of released) markReleased(this.#db, target.id, held.queueId, at);
      for (const held of gone) {
        const place = before.get(held.queueId);
        markReleased(this.#db, target.id, held.queueId, at, { note: place ? `already out of the hold queue (${place.where})` : 'no longer in the queue (released or deleted by hand)' });
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
    // Released mail waits for the platform's next queue run (Postfix: the deferred queue, 300 s by default): ask for it now.
    const unscheduled = await target.queue.deliverNow(
      released.slice(0, maxScheduled).map((held) => held.queueId),
      queue,
    );
    if (unscheduled.length > 0 && !signal.aborted)
      this.#log.warn({ platform: target.id, queueIds: unscheduled }, 'released, but could not ask the platform to deliver now: it goes at the next queue run');
    return report;
  }
}
