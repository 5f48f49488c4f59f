/**
 * Delivers controls to the push platforms (KumoMTA, webhooks, listmonk): each
 * apply and lift on its own, retried with backoff until done or given up, every
 * attempt recorded with the control. A lift waits for its apply, and lifts with
 * what the apply returned (KumoMTA's suspension id).
 */
import type { Clock } from '../core/clock.ts';
import { DeliveryError } from '../core/delivery.ts';
import type { Logger } from '../core/logger.ts';
import { findPlatform, type PlatformConfig } from '../platforms/index.ts';
import { RetryQueue, type RetrySettings } from '../runner/retry-queue.ts';
import type { Database } from '../store/database.ts';
import { duePushesInOrder, getControl, markPushDone, markPushFailed, markPushSkipped, nextPushAt, pushesOf, type PushRow } from '../store/controls.ts';
import { controlPoint, snapshotOf, type PushTarget } from './service.ts';

/** The configured platforms that take pushes, as the control service sees them. */
export function pushTargetsOf(configured: readonly PlatformConfig[]): PushTarget[] {
  return configured.flatMap((config) => {
    const push = findPlatform(config.kind)?.push;
    return push ? [{ id: config.id, unsupported: (control) => push.unsupported(config, control) }] : [];
  });
}

export class Pusher extends RetryQueue<PushRow> {
  constructor(options: { db: Database; platforms: readonly PlatformConfig[]; clock: Clock; log: Logger; retry: RetrySettings }) {
    const { db, clock } = options;
    const configs = new Map(options.platforms.map((platform) => [platform.id, platform]));
    super({
      what: 'control push',
      clock,
      log: options.log.child({ component: 'control-pushes' }),
      retry: options.retry,
      store: { due: (now, limit) => duePushesInOrder(db, now, limit), nextAt: (inFlight) => nextPushAt(db, inFlight) },
      worker: {
        describe: (push) => ({ push: push.id, control: push.controlId, platform: push.platform, operation: push.operation }),
        failed: (push, message, retryAt) =>
          db.transaction(() => {
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
          const ctx = { signal, delivery: String(push.id), now: clock.now() };
          if (push.operation === 'apply') {
            const ref = await adapter.apply(config, snapshotOf(control), ctx);
            markPushDone(db, push.id, clock.now().getTime(), ref);
            return;
          }
          const applied = pushesOf(db, push.controlId).filter((earlier) => earlier.platform === push.platform && earlier.operation === 'apply' && earlier.id < push.id);
          const last = applied.at(-1);
          if (!last || last.status !== 'done') {
            markPushSkipped(db, push.id, `nothing to lift: the apply ${last ? `ended ${last.status}` : 'never happened'}`, clock.now().getTime());
            return;
          }
          await adapter.lift(config, snapshotOf(control), last.ref, ctx);
          markPushDone(db, push.id, clock.now().getTime(), undefined);
        },
      },
    });
  }
}
