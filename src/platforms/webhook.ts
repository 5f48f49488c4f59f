/**
 * A JSON POST per control applied or lifted, signed like the alert webhook: for
 * a platform Mailscope has no adapter for (the receiver pauses or throttles its
 * own way). It can take any scope and both actions, since the receiver decides.
 */
import { z } from 'zod';
import type { ControlAction } from '../core/control-vocabulary.ts';
import { deliver, webhookHeaders } from '../core/delivery.ts';
import { duration, secret, secretHeaders, secretUrl } from '../core/schema.ts';
import { revealAll } from '../core/secret.ts';
import { definePlatform, PlatformBase, type ControlSnapshot, type PushContext } from './define.ts';

function carriesCredentials(text: string): boolean {
  try {
    const url = new URL(text);
    return url.username !== '' || url.password !== '';
  } catch {
    return false;
  }
}

const configSchema = PlatformBase.extend({
  kind: z.literal('webhook'),
  url: secretUrl()
    // fetch puts such a URL, credentials and all, into its error message.
    .refine((url) => !carriesCredentials(url.reveal()), { message: 'must not carry credentials (user:password@; not shown: it is a secret): send them in headers' })
    .describe('where to POST (a secret: it often carries a token; use ${VAR})'),
  secret: secret({ minLength: 16 }).optional().describe('HMAC-SHA256 key; the X-Mailscope-Signature header lets the receiver verify each request'),
  headers: secretHeaders().describe('extra request headers, e.g. { Authorization: "Bearer ${TOKEN}" }; their values are secrets (shown as "[redacted]")'),
  timeout: duration.prefault('10s').describe('how long one request may take'),
}).strict();

export type ControlEvent = ControlAction | 'resume';

/**
 * The JSON body (documented in the README): `event` is what the receiver should do now
 * (pause or throttle the scope, or resume it), `control` the control as Mailscope holds it.
 */
export function controlWebhookBody(event: ControlEvent, control: ControlSnapshot, at: string): string {
  return JSON.stringify({ version: 1, type: 'control', event, at, control });
}

export const webhook = definePlatform({
  kind: 'webhook',
  description: 'a signed JSON POST per control applied (pause, throttle) or lifted (resume), for a platform to act on itself',
  configSchema,
  push: {
    unsupported() {
      return undefined;
    },
    async apply(config, control, ctx) {
      await post(config, control.action, control, ctx);
      return undefined;
    },
    async lift(config, control, _ref, ctx) {
      await post(config, 'resume', control, ctx);
    },
  },
});

async function post(config: z.output<typeof configSchema>, event: ControlEvent, control: ControlSnapshot, ctx: PushContext): Promise<void> {
  const body = controlWebhookBody(event, control, ctx.now.toISOString());
  const headers = webhookHeaders({
    event: `control.${event}`,
    delivery: ctx.delivery,
    body,
    secret: config.secret?.reveal(),
    extra: revealAll(config.headers),
    now: ctx.now,
    fencingToken: ctx.fencingToken,
  });
  await deliver(config.url.reveal(), {
    method: 'POST',
    body,
    headers,
    signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(config.timeout)]),
    what: 'control webhook',
    code: 'PUSH_FAILED',
  });
}
