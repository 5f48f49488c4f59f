/**
 * Delivers controls to the push platforms (KumoMTA, webhooks, listmonk): each
 * apply and lift on its own, retried with backoff until done or given up, every
 * attempt recorded with the control. A lift waits for its apply, and lifts with
 * what the apply returned (KumoMTA's suspension id).
 */
import type { Clock } from '../core/clock.ts';
import { DeliveryError } from '../core/delivery.ts';
import { alone, type Duty } from '../core/duty.ts';
import type { Logger } from '../core/logger.ts';
import { findPlatform, type PlatformConfig } from '../platforms/index.ts';
import { RetryQueue, type RetrySettings } from '../core/retry-queue.ts';
import type { Database } from '../store/database.ts';
import { duePushesInOrder, enqueuePush, getControl, markPushDone, markPushFailed, markPushSkipped, nextPushAt, pendingLiftOfSameScope, pushesOf, type PushRow } from '../store/controls.ts';
import { controlPoint, snapshotOf, type PushTarget } from './service.ts';

/** The configured platforms that take pushes, as the control service sees them. */
export function pushTargetsOf(configured: readonly PlatformConfig[]): PushTarget[] {
  return configured.flatMap((config) => {
    const push = findPlatform(config.kind)?.push;
    return push ? [{ id: config.id, unsupported: (control) => push.unsupported(config, control) }] : [];
  });
}

export class Pusher extends RetryQueue<PushRow> {
  constructor(options: { db: Database; platforms: readonly PlatformConfig[]; clock: Clock; log: Logger; retry: RetrySettings; duty?: Duty }) {
    const { db, clock } = options;
    const duty = options.duty ?? alone;
    const log = options.log.child({ component: 'control-pushes' });
    const configs = new Map(options.platforms.map((platform) => [platform.id, platform]));
    super({
      what: 'control push',
      clock,
      log,
      retry: options.retry,
      duty,
      store: { due: (now, limit) => duePushesInOrder(db, now, limit), nextAt: (inFlight) => nextPushAt(db, inFlight) },
      worker: {
        describe: (push) => ({ push: push.id, control: push.controlId, platform: push.platform, operation: push.operation }),
        failed: (push, message, retryAt) =>
          db.transaction(() => {
            duty.fence();
            markPushFailed(db, push.id, message, retryAt);
            // Given up: the control's point says so (push_failed).
            const control = retryAt === undefined ? getControl(db, push.controlId) : undefined;
            if (control) controlPoint(db, control, clock.now().getTime());
          }),
        async attempt(push, signal) {
          const config = configs.get(push.platform);
          const adapter = config ? findPlatform(config.kind)?.push : undefined;
          if (!config || !adapter) throw new DeliveryError('PUSH_FAILED', `no push platform "${push.platform}" in the configuration any more`, { retryable: false });
          const control = getControl(db, push.controlId);
          if (!control) throw new DeliveryError('PUSH_FAILED', `control "${push.controlId}" is gone from the store`, { retryable: false });
          const ctx = { signal, delivery: String(push.id), now: clock.now(), fencingToken: duty.epoch };
          if (push.operation === 'apply' || push.operation === 'renew') {
            // A lift of another control with the same scope must land first: the platform might take this apply for that one.
            const racing = pendingLiftOfSameScope(db, push.platform, control);
            if (racing) throw new DeliveryError('PUSH_FAILED', `waiting for the lift of control ${racing} (same scope) at ${push.platform}`, { retryable: true });
            // A renewal of a control lifted since has nothing to renew.
            if (push.operation === 'renew' && control.liftedAt !== undefined) {
              db.transaction(() => {
                duty.fence();
                markPushSkipped(db, push.id, 'the control was lifted before its renewal', clock.now().getTime());
              });
              return;
            }
            const snapshot = snapshotOf(control);
            const ref = await adapter.apply(config, snapshot, ctx);
            const doneAt = clock.now();
            db.transaction(() => {
              duty.fence();
              markPushDone(db, push.id, doneAt.getTime(), ref);
              // Read again: the control may have been lifted while the platform answered.
              const now = getControl(db, control.id);
              if (now?.liftedAt === undefined) {
                const renewAt = adapter.renewAt?.(config, snapshot, doneAt);
                if (renewAt) enqueuePush(db, { controlId: control.id, platform: push.platform, operation: 'renew', at: doneAt.getTime(), due: renewAt.getTime() });
                return;
              }
              // Lifted meanwhile: a lift still waiting behind this push lifts this ref too; if the lift already ran, one more lift, retried like any push.
              const liftWaiting = pushesOf(db, control.id).some((other) => other.platform === push.platform && other.operation === 'lift' && other.status === 'pending');
              if (!liftWaiting) enqueuePush(db, { controlId: control.id, platform: push.platform, operation: 'lift', at: doneAt.getTime() });
            });
            return;
          }
          const applied = pushesOf(db, push.controlId).filter((earlier) => earlier.platform === push.platform && earlier.operation !== 'lift' && earlier.id < push.id);
          const done = applied.filter((earlier) => earlier.status === 'done');
          if (done.length === 0) {
            const last = applied.at(-1);
            db.transaction(() => {
              duty.fence();
              markPushSkipped(db, push.id, `nothing to lift: the apply ${last ? `ended ${last.status}` : 'never happened'}`, clock.now().getTime());
            });
            return;
          }
          // Each renewal may have left its own ref (a KumoMTA suspension id): lift every one, newest first.
          const refs = [...new Set(done.map((earlier) => earlier.ref))].reverse();
          for (const ref of refs.some((one) => one !== undefined) ? refs.filter((one) => one !== undefined) : [undefined]) await adapter.lift(config, snapshotOf(control), ref, ctx);
          db.transaction(() => {
            duty.fence();
            markPushDone(db, push.id, clock.now().getTime(), undefined);
          });
        },
      },
    });
  }
}
