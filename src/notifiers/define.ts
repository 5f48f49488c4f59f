import { z } from 'zod';
import { MailscopeError } from '../core/errors.ts';
import type { FieldValue } from '../core/observation.ts';
import { identifier } from '../core/schema.ts';

/** What a notification says, whatever the channel: built by alerts/, rendered by each notifier. */
export interface AlertNotification {
  /** The delivery's id: receivers can use it to ignore a retried delivery they already took. */
  delivery: number;
  event: 'firing' | 'resolved' | 'reminder';
  /** When the transition happened (ISO 8601). */
  at: string;
  alert: {
    id: string;
    rule: string;
    severity: 'critical' | 'warning' | 'info';
    state: 'firing' | 'resolved';
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

export interface NotifierContext {
  signal: AbortSignal;
}

/** A failed delivery: `retryable` false means trying again cannot help (a 4xx, a bad address). */
export class DeliveryError extends MailscopeError {
  readonly retryable: boolean;

  constructor(message: string, options: { retryable: boolean; cause?: unknown }) {
    super('NOTIFY_FAILED', message, options.cause === undefined ? {} : { cause: options.cause });
    this.retryable = options.retryable;
  }
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
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', body, headers, signal: ctx.signal, redirect: 'error' });
  } catch (error) {
    const reason = (error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message;
    throw new DeliveryError(`${what}: ${reason}`, { retryable: true, cause: error });
  }
  const text = (await response.text().catch(() => '')).slice(0, 200);
  if (response.ok) return;
  const retryable = response.status === 408 || response.status === 429 || response.status >= 500;
  throw new DeliveryError(`${what}: HTTP ${response.status}${text ? `: ${text}` : ''}`, { retryable });
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
