/**
 * listmonk's campaign status: a pause moves one campaign (by its numeric id) to
 * "paused", a lift back to "running". listmonk allows running → paused and
 * paused → running only; a scheduled campaign is unscheduled instead
 * (scheduled → draft) and rescheduled on lift (draft → scheduled), so it cannot
 * start while the control holds. A lift restores only what the pause changed and
 * nobody changed since: a campaign a person cancelled, resumed or finished stays so.
 */
import { z } from 'zod';
import { deliver, DeliveryError } from '../core/delivery.ts';
import { peerExcerpt } from '../core/redact.ts';
import { duration, secret } from '../core/schema.ts';
import { describeScope } from '../core/scope.ts';
import { definePlatform, PlatformBase, type ControlSnapshot, type PushContext } from './define.ts';

const baseUrl = z
  .url({ protocol: /^https?$/, error: (issue) => `${issue.input === undefined ? 'required: ' : ''}expected an http:// or https:// URL` })
  .refine((text) => !/^[a-z]+:\/\/[^/]*@/i.test(text), { message: 'must not carry credentials (user:password@): use username and token' });

const configSchema = PlatformBase.extend({
  kind: z.literal('listmonk'),
  url: baseUrl.describe("listmonk's root URL, e.g. http://127.0.0.1:9000"),
  username: z.string().min(1).describe('the API user (listmonk ≥ v4: Admin → Users, type API; its role needs campaigns:get and campaigns:manage)'),
  token: secret().describe("the API user's token (a secret: use ${VAR}); with authScheme basic, the password"),
  authScheme: z.enum(['token', 'basic']).default('token').describe('token: "Authorization: token user:token" (listmonk ≥ v4); basic: HTTP Basic (listmonk before v4 took the admin user and password)'),
  timeout: duration.prefault('10s').describe('how long one request may take'),
}).strict();

type ListmonkConfig = z.output<typeof configSchema>;

/** What a pause changed, kept as the control's ref: the status the campaign was moved from. */
type PauseRef = 'running' | 'scheduled';

function campaignProblem(control: ControlSnapshot): string | undefined {
  const keys = Object.keys(control.scope);
  if (control.scope.campaign === undefined) return `listmonk pauses campaigns; scope ${describeScope(control.scope)} names none. A postfix-policy or webhook platform can apply it`;
  if (keys.length > 1) {
    return `listmonk can pause only a whole campaign: pausing campaign ${control.scope.campaign} would pause more than scope ${describeScope(control.scope)}. A postfix-policy or webhook platform can apply it`;
  }
  if (!/^[1-9]\d{0,9}$/.test(control.scope.campaign)) return `listmonk names campaigns by number: "${control.scope.campaign}" is not a listmonk campaign id (the number in the campaign's URL)`;
  return undefined;
}

async function request(config: ListmonkConfig, ctx: PushContext, id: string, method: 'GET' | 'PUT', path: string, body?: unknown): Promise<string> {
  const credentials = `${config.username}:${config.token.reveal()}`;
  const headers: Record<string, string> = {
    accept: 'application/json',
    'user-agent': 'mailscope',
    authorization: config.authScheme === 'token' ? `token ${credentials}` : `Basic ${Buffer.from(credentials).toString('base64')}`,
  };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return deliver(`${config.url.replace(/\/+$/, '')}/api/campaigns/${id}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    headers,
    signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(config.timeout)]),
    what: `listmonk campaign ${id}`,
    code: 'PUSH_FAILED',
  });
}

/** listmonk wraps every answer as {"data": ...}; a campaign's status is data.status. */
async function status(config: ListmonkConfig, ctx: PushContext, id: string): Promise<string> {
  const text = await request(config, ctx, id, 'GET', '');
  let value: unknown;
  try {
    value = (JSON.parse(text) as { data?: { status?: unknown } } | null)?.data?.status;
  } catch {
    value = undefined;
  }
  if (typeof value !== 'string') {
    throw new DeliveryError('PUSH_FAILED', `listmonk campaign ${id}: the answer has no campaign status (expected {"data": {"status": ...}}, got ${JSON.stringify(peerExcerpt(text, 100))})`, {
      retryable: false,
    });
  }
  return value;
}

async function setStatus(config: ListmonkConfig, ctx: PushContext, id: string, to: string): Promise<void> {
  await request(config, ctx, id, 'PUT', '/status', { status: to });
}

/** Move the campaign, then read the status back: listmonk's PUT echoes the status asked for, not the one stored. */
async function moveAndConfirm(config: ListmonkConfig, ctx: PushContext, id: string, to: string): Promise<void> {
  await setStatus(config, ctx, id, to);
  const now = await status(config, ctx, id);
  if (now !== to) throw new DeliveryError('PUSH_FAILED', `listmonk campaign ${id}: still "${peerExcerpt(now, 100)}" after setting it to "${to}"`, { retryable: true });
}

const isGone = (error: unknown) => error instanceof DeliveryError && /: HTTP (400|404)\b.*not found/i.test(error.message);

export const listmonk = definePlatform({
  kind: 'listmonk',
  description: "listmonk's campaign status: a pause pauses one campaign (a scheduled one is unscheduled) and a lift resumes it",
  configSchema,
  push: {
    unsupported(_config, control) {
      if (control.action === 'throttle') {
        return 'listmonk has no per-campaign rate: its sending rate (concurrency, message rate, sliding window) is one setting for every campaign. Pause the campaign instead, or throttle at the MTA (postfix-policy)';
      }
      return campaignProblem(control);
    },
    async apply(config, control, ctx): Promise<PauseRef | undefined> {
      const problem = campaignProblem(control);
      if (problem) throw new DeliveryError('PUSH_FAILED', problem, { retryable: false });
      const id = control.scope.campaign!;
      const current = await status(config, ctx, id);
      switch (current) {
        case 'running':
          await moveAndConfirm(config, ctx, id, 'paused');
          return 'running';
        case 'scheduled':
          // listmonk pauses only running campaigns; a scheduled one would start on its own.
          await moveAndConfirm(config, ctx, id, 'draft');
          return 'scheduled';
        case 'paused':
        // Paused by someone else: held already, and theirs to resume, not the lift's.
        case 'finished':
        case 'cancelled':
          return undefined;
        case 'draft':
          throw new DeliveryError('PUSH_FAILED', `listmonk campaign ${id} is a draft: listmonk pauses only running campaigns, and nothing would hold this one if someone started it`, {
            retryable: false,
          });
        default:
          throw new DeliveryError('PUSH_FAILED', `listmonk campaign ${id}: unknown status "${peerExcerpt(current, 100)}"`, { retryable: false });
      }
    },
    async lift(config, control, ref, ctx) {
      if (ref === undefined) return;
      if (ref !== 'running' && ref !== 'scheduled') throw new DeliveryError('PUSH_FAILED', `listmonk: unknown ref "${ref}" (expected running or scheduled)`, { retryable: false });
      const id = control.scope.campaign!;
      let current: string;
      try {
        current = await status(config, ctx, id);
      } catch (error) {
        if (isGone(error)) return;
        throw error;
      }
      // Only what the pause left: paused (or unscheduled) and untouched since.
      if (ref === 'running' && current === 'paused') await setStatus(config, ctx, id, 'running');
      if (ref === 'scheduled' && current === 'draft') await setStatus(config, ctx, id, 'scheduled');
    },
  },
});
