/**
 * The words of alerting that several layers share: rules and their engine
 * (alerts/), what a notifier is told (notifiers/), the delivery log (store/), the
 * API (http/). Each list is declared here once; the types, zod enums, OpenAPI and
 * README derive from it.
 */

/** How bad a rule says its alert is, the worst first. */
export const severities = ['critical', 'warning', 'info'] as const;
export type Severity = (typeof severities)[number];

/** The states people are told about. */
export const notifiedStates = ['firing', 'resolved'] as const;
export type NotifiedState = (typeof notifiedStates)[number];

/** What a notification says: the alert fired or resolved, or it still fires (a reminder). */
export const notificationEvents = [...notifiedStates, 'reminder'] as const;
export type NotificationEvent = (typeof notificationEvents)[number];

/** A notification to one channel: waiting (retried with backoff), delivered, or given up. */
export const deliveryStatuses = ['pending', 'sent', 'failed'] as const;
export type DeliveryStatus = (typeof deliveryStatuses)[number];
