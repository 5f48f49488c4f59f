/**
 * Delivering something to another system over HTTP (a notification, a pause
 * pushed to a sending platform): one request, its failure classified as worth
 * retrying or not. Retries are the caller's (a dispatcher with backoff).
 */
import { createHmac } from 'node:crypto';
import { MailscopeError, type ErrorCode } from './errors.ts';
import { peerExcerpt } from './redact.ts';

/** A failed delivery: `retryable` false means trying again cannot help (a 4xx, a bad address). */
export class DeliveryError extends MailscopeError {
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: { retryable: boolean; cause?: unknown }) {
    super(code, message, options.cause === undefined ? {} : { cause: options.cause });
    this.retryable = options.retryable;
  }
}

export interface DeliveryRequest {
  method: 'POST' | 'PUT' | 'DELETE' | 'GET';
  body?: string;
  headers: Record<string, string>;
  signal: AbortSignal;
  /** What is being reached, for the error message ("Slack webhook", "KumoMTA"): never the URL, which may hold a secret. */
  what: string;
  /** The error code of a failure. */
  code: ErrorCode;
}

/**
 * One request; a non-2xx answer is a DeliveryError (retryable for 408, 429 and 5xx)
 * whose message keeps an excerpt of the body (core/redact.ts: bounded, no control
 * characters, no secret). Returns the response's body: what the caller quotes of
 * it goes through peerExcerpt too.
 */
export async function deliver(url: string, request: DeliveryRequest): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, { method: request.method, body: request.body, headers: request.headers, signal: request.signal, redirect: 'error' });
  } catch (error) {
    const said = (error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message;
    // fetch names the URL in some errors (one with credentials in it, for one): the URL may be a secret.
    const reason = peerExcerpt(said.split(url).join('<url>'));
    throw new DeliveryError(request.code, `${request.what}: ${reason}`, { retryable: true });
  }
  const text = await response.text().catch(() => '');
  if (response.ok) return text;
  const retryable = response.status === 408 || response.status === 429 || response.status >= 500;
  // The body is the peer's: a proxy or a debug server echoes the request, Authorization header and all.
  const shown = peerExcerpt(text);
  throw new DeliveryError(request.code, `${request.what}: HTTP ${response.status}${shown ? `: ${shown}` : ''}`, { retryable });
}

/** `sha256=<hex>` of HMAC-SHA256(secret, timestamp + "." + body): what a receiver recomputes. */
export function signature(secretValue: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secretValue).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * The headers of a Mailscope webhook (alerts and controls alike): the event, the
 * delivery id (the same on every retry, so receivers drop duplicates), the
 * timestamp and, with a secret, the signature over timestamp and body. In a
 * cluster, the fencing token: the epoch of the lease it was sent under, which
 * only grows, so a receiver that saw a higher one can refuse a stale instance's.
 */
export function webhookHeaders(options: {
  event: string;
  delivery: string;
  body: string;
  secret?: string | undefined;
  extra?: Record<string, string>;
  now?: Date;
  fencingToken?: number | undefined;
}): Record<string, string> {
  const timestamp = String(Math.floor((options.now ?? new Date()).getTime() / 1000));
  const headers: Record<string, string> = {
    ...options.extra,
    'content-type': 'application/json',
    'user-agent': 'mailscope',
    'x-mailscope-event': options.event,
    'x-mailscope-delivery': options.delivery,
    'x-mailscope-timestamp': timestamp,
  };
  if (options.fencingToken) headers['x-mailscope-fencing-token'] = String(options.fencingToken);
  if (options.secret !== undefined) headers['x-mailscope-signature'] = signature(options.secret, timestamp, options.body);
  return headers;
}
