import { z } from 'zod';
import type { NotificationEvent, NotifiedState, Severity } from '../core/alert-vocabulary.ts';
import { deliver, DeliveryError } from '../core/delivery.ts';
import type { FieldValue } from '../core/observation.ts';
import { identifier } from '../core/schema.ts';

/** What a notification says, whatever the channel: built by alerts/, rendered by each notifier. */
export interface AlertNotification {
  /** The delivery's id: receivers can use it to ignore a retried delivery they already took. */
  delivery: number;
  event: NotificationEvent;
  /** When the transition happened (ISO 8601). */
  at: string;
  alert: {
    id: string;
    rule: string;
    severity: Severity;
    state: NotifiedState;
    summary: string;
    description?: string;
    /** `blacklist.listed == true` */
    condition: string;
    /** The value observed that last made it fire (or resolve). */
    value?: FieldValue;
    threshold?: FieldValue;
    /** The series' tags and the rule's labels. */
    labels: Record<string, string>;
    /** Since when the condition holds (ISO 8601). */
    since?: string;
    firedAt?: string;
    resolvedAt?: string;
    /** What to do: the delisting URL, the DNS fix, the list's reason, the error... */
    details: Record<string, string>;
    acknowledgedBy?: string;
  };
  links: { alert?: string; dashboard?: string };
}

export { DeliveryError };

export interface NotifierContext {
  signal: AbortSignal;
  /** The cluster lease's epoch this is sent under (0 alone): x-mailscope-fencing-token, so a receiver can refuse a stale instance's. */
  fencingToken?: number;
}

/** The keys every notifier has, whatever its kind. */
export const NotifierBase = z.object({
  id: identifier.describe('how rules name it in notify:'),
  kind: z.string().describe('slack, webhook or email'),
});

export type NotifierBaseOutput = z.output<typeof NotifierBase>;

export interface NotifierKind<K extends string = string, S extends z.ZodType<NotifierBaseOutput & { kind: K }> = z.ZodType<NotifierBaseOutput & { kind: K }>> {
  kind: K;
  description: string;
  configSchema: S;
  /** Deliver once; throw a DeliveryError when it did not arrive. Retries are the dispatcher's. */
  send(config: z.output<S>, notification: AlertNotification, ctx: NotifierContext): Promise<void>;
}

export function defineNotifier<K extends string, S extends z.ZodType<NotifierBaseOutput & { kind: K }>>(notifier: NotifierKind<K, S>): NotifierKind<K, S> {
  return notifier;
}

/** A POST of a body; a non-2xx answer is a DeliveryError (retryable for 408, 429 and 5xx). */
export async function post(url: string, body: string, headers: Record<string, string>, ctx: NotifierContext, what: string): Promise<void> {
  await deliver(url, { method: 'POST', body, headers, signal: ctx.signal, what, code: 'NOTIFY_FAILED' });
}

/** One line for people: what fired or resolved. */
export function headline(notification: AlertNotification): string {
  const word = notification.event === 'firing' ? 'FIRING' : notification.event === 'resolved' ? 'RESOLVED' : 'STILL FIRING';
  return `${word} [${notification.alert.severity}] ${notification.alert.summary}`;
}

/** The details worth a line each, in the order people need them. */
export const detailLabels: Record<string, string> = {
  delist_url: 'Delisting',
  fix: 'What to change',
  reason: 'Reason',
  meanings: 'Meaning',
  bounce_reason: 'Bounce',
  smtp_response: 'SMTP reply',
  error_code: 'Error code',
  error: 'Error',
  old_record: 'Record before',
  new_record: 'Record now',
  listed_on: 'Listed on',
  failing: 'Failing checks',
};
