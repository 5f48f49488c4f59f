/**
 * Delivers queued notifications: each to its channel, on its own (a slow or
 * failing channel holds up no other, and no probe), retried with exponential
 * backoff and jitter until it is sent or given up; every attempt is recorded.
 */
import type { Clock } from '../core/clock.ts';
import { DeliveryError } from '../core/delivery.ts';
import { alone, type Duty } from '../core/duty.ts';
import type { Logger } from '../core/logger.ts';
import type { AlertNotification } from '../notifiers/define.ts';
import { findNotifier, type NotifierConfig } from '../notifiers/index.ts';
import { RetryQueue, type RetrySettings } from '../core/retry-queue.ts';
import type { Database } from '../store/database.ts';
import { dueNotifications, markAttemptFailed, markSent, nextNotificationAt, type NotificationRow } from '../store/alerts.ts';

export type { RetrySettings };

/** The notification queue: the store's notifications, sent by their channel's notifier. */
export class Dispatcher extends RetryQueue<NotificationRow> {
  constructor(options: { db: Database; channels: readonly NotifierConfig[]; clock: Clock; log: Logger; retry: RetrySettings; duty?: Duty }) {
    const { db, clock } = options;
    const duty = options.duty ?? alone;
    const channels = new Map(options.channels.map((channel) => [channel.id, channel]));
    super({
      what: 'notification',
      clock,
      log: options.log.child({ component: 'notifications' }),
      retry: options.retry,
      duty,
      store: { due: (now, limit) => dueNotifications(db, now, limit), nextAt: (inFlight) => nextNotificationAt(db, inFlight) },
      worker: {
        describe: (row) => ({ notification: row.id, alert: row.alertId, channel: row.channel, event: row.event }),
        failed: (row, message, retryAt) =>
          db.transaction(() => {
            duty.fence();
            markAttemptFailed(db, row.id, message, retryAt);
          }),
        async attempt(row, signal) {
          const channel = channels.get(row.channel);
          if (!channel) throw new DeliveryError('NOTIFY_FAILED', `no notifier "${row.channel}" in the configuration any more`, { retryable: false });
          const notification = { ...row.payload, delivery: row.id } as unknown as AlertNotification;
          await findNotifier(channel.kind)!.send(channel, notification, { signal, fencingToken: duty.epoch });
          db.transaction(() => {
            duty.fence();
            markSent(db, row.id, clock.now().getTime());
          });
        },
      },
    });
  }
}
