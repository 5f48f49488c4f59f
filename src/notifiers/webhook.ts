import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { secret, secretUrl } from '../core/schema.ts';
import { defineNotifier, NotifierBase, post, type AlertNotification } from './define.ts';

const configSchema = NotifierBase.extend({
  kind: z.literal('webhook'),
  url: secretUrl().describe('where to POST (a secret: it often carries a token; use ${VAR})'),
  secret: secret({ minLength: 16 }).optional().describe('HMAC-SHA256 key; the X-Mailscope-Signature header lets the receiver verify each request'),
  headers: z.record(z.string(), z.string()).default({}).describe('extra request headers'),
}).strict();

/** `sha256=<hex>` of HMAC-SHA256(secret, timestamp + "." + body): what a receiver recomputes. */
export function signature(secretValue: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secretValue).update(`${timestamp}.${body}`).digest('hex')}`;
}

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
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers: Record<string, string> = {
      ...config.headers,
      'content-type': 'application/json',
      'user-agent': 'mailscope',
      'x-mailscope-event': `alert.${notification.event}`,
      'x-mailscope-delivery': String(notification.delivery),
      'x-mailscope-timestamp': timestamp,
    };
    if (config.secret) headers['x-mailscope-signature'] = signature(config.secret.reveal(), timestamp, body);
    await post(config.url.reveal(), body, headers, ctx, 'webhook');
  },
});
