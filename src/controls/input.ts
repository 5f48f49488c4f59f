/**
 * A control as a person asks for it, through the API (a JSON body) or the CLI
 * (arguments): one schema for both, so each refuses exactly what the other does.
 */
import { z } from 'zod';
import { controlActionNames } from '../core/control-vocabulary.ts';
import { futureTime } from '../core/schema.ts';
import { scopeKeyNames, scopeKeys, scopeSchema } from '../core/scope.ts';
import { plainText } from '../core/text.ts';

/** A reason or a comment: shown to everyone who looks, kept in the audit log. */
export const reasonText = plainText({ max: 1_000 });

/** An expiry as written: an ISO 8601 time or a duration from now; resolved (and range-checked) by expiryOf. */
const expiresText = z.string().max(64, { error: 'at most 64 characters' });

export const ControlRequest = z
  .strictObject({
    action: z.enum(controlActionNames),
    scope: scopeSchema.describe(`what to pause or throttle; keys (all must match): ${scopeKeyNames.map((key) => `${key} (${scopeKeys[key]})`).join('; ')}`),
    rate: z
      .int({ error: 'expected a whole number of messages per minute' })
      .min(0, { error: 'must be 0 or more (messages per minute)' })
      .max(10_000_000, { error: 'at most 10000000 messages per minute' })
      .optional()
      .describe('throttle: messages per minute for the whole scope'),
    reason: reasonText.describe('why: in the audit log and shown to everyone who looks'),
    expires: expiresText.optional().describe('when it lifts by itself: ISO 8601 time, or a duration from now (2h), at most a year ahead'),
  })
  .superRefine((request, ctx) => {
    if (request.action === 'throttle' && request.rate === undefined)
      ctx.addIssue({ code: 'custom', path: ['rate'], message: 'a throttle needs a rate: a whole number of messages per minute, 0 or more' });
    if (request.action === 'pause' && request.rate !== undefined) ctx.addIssue({ code: 'custom', path: ['rate'], message: 'a pause has no rate (use action throttle)' });
  });

export type ControlRequest = z.output<typeof ControlRequest>;

export const ResumeRequest = z.strictObject({ reason: reasonText.optional().describe('why: kept in the audit log') });

/** The expiry of a request, in ms since the epoch: at most a year ahead (a BAD_REQUEST naming `field` otherwise). */
export function expiryOf(expires: string | undefined, now: number, field = 'expires'): number | undefined {
  return expires === undefined ? undefined : futureTime(field, expires, now);
}
