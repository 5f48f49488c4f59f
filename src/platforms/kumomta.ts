/**
 * KumoMTA's admin HTTP API (kumod): a pause is a scheduled-queue suspension.
 * POST /api/admin/suspend/v1 {reason, domain?, campaign?, tenant?, duration} → {id};
 * DELETE /api/admin/suspend/v1 {id} lifts it (404: expired or never there).
 * A suspension lasts at most maxDuration; a longer control is suspended again
 * (renewAt) before it runs out, and its lift deletes every id it was given.
 * A suspension matches the queues whose domain, campaign and tenant equal the
 * ones given (those not given match any), so it expresses exactly the scopes
 * built from rcpt_domain, campaign and tenant, and nothing else.
 */
import { z } from 'zod';
import { deliver, DeliveryError } from '../core/delivery.ts';
import { peerExcerpt } from '../core/redact.ts';
import { duration, secret } from '../core/schema.ts';
import { describeScope, type ScopeKey } from '../core/scope.ts';
import { definePlatform, PlatformBase, type ControlSnapshot, type PushContext } from './define.ts';

const baseUrl = z
  .url({ protocol: /^https?$/, error: (issue) => `${issue.input === undefined ? 'required: ' : ''}expected an http:// or https:// URL` })
  .refine((text) => !/^[a-z]+:\/\/[^/]*@/i.test(text), { message: 'must not carry credentials (user:password@): use token or basicAuth' });

const configSchema = PlatformBase.extend({
  kind: z.literal('kumomta'),
  url: baseUrl.describe("the base URL of kumod's HTTP listener, e.g. http://127.0.0.1:8000; its admin API answers hosts in the listener's trusted_hosts"),
  token: secret().optional().describe('sent as "Authorization: Bearer"; only for KumoMTA builds whose access control grants that identity /api/admin (released builds admit trusted hosts only)'),
  basicAuth: z
    .strictObject({
      username: z.string().min(1).describe('checked by the http_server_validate_auth_basic event'),
      password: secret().describe('a secret: use ${VAR}'),
    })
    .optional()
    .describe('HTTP Basic credentials; same caveat as token'),
  maxDuration: duration
    .prefault('7d')
    .describe(
      'how long a suspension lasts at KumoMTA at most: a control without an expiry (or a later one) is suspended this long and suspended again when a tenth of it is left; every suspension id is deleted when the control lifts',
    ),
  timeout: duration.prefault('10s').describe('how long one request may take'),
})
  .strict()
  .superRefine((config, ctx) => {
    if (config.token !== undefined && config.basicAuth !== undefined) ctx.addIssue({ code: 'custom', path: ['basicAuth'], message: 'give token or basicAuth, not both' });
  });

type KumoConfig = z.output<typeof configSchema>;

/** The scope keys a suspension can name, and the request field each one becomes. */
const suspendFields: Partial<Record<ScopeKey, 'domain' | 'campaign' | 'tenant'>> = { rcpt_domain: 'domain', campaign: 'campaign', tenant: 'tenant' };

const SUSPEND_PATH = '/api/admin/suspend/v1';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The request body of a suspension: the scope's fields, a reason people can trace back, and how long it lasts. */
export function suspendRequest(control: ControlSnapshot, now: Date, maxDurationMs: number): Record<string, string> {
  const body: Record<string, string> = { reason: `mailscope control ${control.id} (${control.source}): ${control.reason}` };
  for (const [key, field] of Object.entries(suspendFields)) {
    const value = control.scope[key as ScopeKey];
    if (value !== undefined) body[field] = value;
  }
  // A duration, not `expires`: it does not depend on kumod's clock agreeing with ours.
  const untilExpiry = control.expiresAt === undefined ? Infinity : Date.parse(control.expiresAt) - now.getTime();
  body.duration = `${Math.max(1, Math.ceil(Math.min(untilExpiry, maxDurationMs) / 1000))}s`;
  return body;
}

function request(config: KumoConfig, ctx: PushContext, method: 'POST' | 'DELETE', body: unknown): Promise<string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'mailscope' };
  if (config.token !== undefined) headers.authorization = `Bearer ${config.token.reveal()}`;
  if (config.basicAuth !== undefined) headers.authorization = `Basic ${Buffer.from(`${config.basicAuth.username}:${config.basicAuth.password.reveal()}`).toString('base64')}`;
  return deliver(`${config.url.replace(/\/+$/, '')}${SUSPEND_PATH}`, {
    method,
    body: JSON.stringify(body),
    headers,
    signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(config.timeout)]),
    what: 'KumoMTA',
    code: 'PUSH_FAILED',
  });
}

function suspensionId(text: string): string {
  let id: unknown;
  try {
    id = (JSON.parse(text) as { id?: unknown } | null)?.id;
  } catch {
    id = undefined;
  }
  if (typeof id === 'string' && UUID.test(id)) return id;
  // The suspension may exist all the same; it expires after its duration.
  throw new DeliveryError('PUSH_FAILED', `KumoMTA: the suspension answer has no id (expected {"id": "<uuid>"}, got ${JSON.stringify(peerExcerpt(text, 100))})`, { retryable: false });
}

export const kumomta = definePlatform({
  kind: 'kumomta',
  description: "KumoMTA's admin API: a pause suspends the scheduled queues of a recipient domain, campaign and/or tenant",
  configSchema,
  push: {
    unsupported(_config, control) {
      if (control.action === 'throttle') {
        return 'KumoMTA throttles through its shaping config (max_message_rate per site or source, loaded by kumo.shaping.load); its admin API has no rate to set. Serve a shaping overlay through a webhook platform, or throttle with the postfix-policy platform';
      }
      const others = Object.keys(control.scope).filter((key) => suspendFields[key as ScopeKey] === undefined);
      if (others.length > 0) {
        return `KumoMTA suspends queues by recipient domain, campaign and tenant only; it cannot single out ${others.join(', ')} (scope ${describeScope(control.scope)}), and suspending the whole domain, campaign or tenant would pause more traffic than asked. A postfix-policy or webhook platform can apply this scope`;
      }
      return undefined;
    },
    async apply(config, control, ctx) {
      const answer = await request(config, ctx, 'POST', suspendRequest(control, ctx.now, config.maxDuration));
      return suspensionId(answer);
    },
    renewAt(config, control, appliedAt) {
      // The suspension lasts min(until expiry, maxDuration): renew when a tenth of maxDuration is left, unless it covers the control's expiry.
      const expiresAt = control.expiresAt === undefined ? Infinity : Date.parse(control.expiresAt);
      if (expiresAt - appliedAt.getTime() <= config.maxDuration) return undefined;
      return new Date(appliedAt.getTime() + Math.floor(config.maxDuration * 0.9));
    },
    async lift(config, _control, ref, ctx) {
      // Nothing recorded: apply never got an id, and a suspension it may have left expires by itself.
      if (ref === undefined) return;
      try {
        await request(config, ctx, 'DELETE', { id: ref });
      } catch (error) {
        // kumod answers 404 for a suspension that expired or was replaced: already gone.
        if (error instanceof DeliveryError && /: HTTP 404\b/.test(error.message)) return;
        throw error;
      }
    },
  },
});
