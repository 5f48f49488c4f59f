import { z } from 'zod';
import { webhookHeaders } from '../core/delivery.ts';
import { secret, secretHeaders, secretUrl } from '../core/schema.ts';
import { revealAll } from '../core/secret.ts';
import { defineNotifier, NotifierBase, post, type AlertNotification } from './define.ts';

const configSchema = NotifierBase.extend({
  kind: z.literal('webhook'),
  url: secretUrl().describe('where to POST (a secret: it often carries a token; use ${VAR})'),
  secret: secret({ minLength: 16 }).optional().describe('HMAC-SHA256 key; the X-Mailscope-Signature header lets the receiver verify each request'),
  headers: secretHeaders().describe('extra request headers, e.g. { Authorization: "Bearer ${TOKEN}" }; their values are secrets (shown as "[redacted]")'),
}).strict();

/** The JSON body: the notification as is (documented in the README). */
export function webhookBody(notification: AlertNotification): string {
  return JSON.stringify({ version: 1, type: 'alert', ...notification });
}

export const webhook = defineNotifier({
  kind: 'webhook',
  description: 'a JSON POST to any URL, signed with HMAC-SHA256 over the timestamp and the body',
  configSchema,
  async send(config, notification, ctx) {
    const body = webhookBody(notification);
    const headers = webhookHeaders({
      event: `alert.${notification.event}`,
      delivery: String(notification.delivery),
      body,
      secret: config.secret?.reveal(),
      extra: revealAll(config.headers),
      fencingToken: ctx.fencingToken,
    });
    await post(config.url.reveal(), body, headers, ctx, 'webhook');
  },
});
