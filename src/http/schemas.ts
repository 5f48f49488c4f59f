import { MailscopeError } from '../core/errors.ts';
import { z } from 'zod';
import { isoTime, parseDuration } from '../core/schema.ts';
import { escapeControls, plainTextProblem } from '../core/text.ts';
import { runTriggers, type PageKey } from '../queries/index.ts';

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      issues: z.array(z.object({ in: z.string(), path: z.string(), message: z.string() })).optional(),
    }),
  })
  .meta({ id: 'Error' });

/** The error responses a route can give, for the OpenAPI document. */
export function errorResponses(...statuses: number[]) {
  return Object.fromEntries(statuses.map((status) => [status, ErrorBody]));
}

export const RunSchema = z
  .object({
    id: z.number().int(),
    probe: z.string(),
    kind: z.string(),
    trigger: z.enum(runTriggers),
    startedAt: z.iso.datetime(),
    finishedAt: z.iso.datetime(),
    durationMs: z.number(),
    success: z.boolean(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    observationCount: z.number().int(),
  })
  .meta({ id: 'Run' });

export const ObservationSchema = z
  .object({
    id: z.number().int(),
    runId: z.number().int(),
    probe: z.string(),
    measurement: z.string(),
    time: z.iso.datetime(),
    tags: z.record(z.string(), z.string()),
    fields: z.record(z.string(), z.union([z.number(), z.boolean(), z.string()])),
  })
  .meta({ id: 'Observation' });

/**
 * A point in time in a query: an ISO 8601 timestamp, or a duration back from now
 * ("15m", "24h", "7d"). Resolved against the injected clock by the handler.
 */
export const timeParam = z
  .string()
  .max(64)
  .transform((text, ctx) => {
    const ago = parseDuration(text);
    if (ago !== undefined) return (now: Date) => new Date(now.getTime() - ago);
    const at = isoTime(text);
    if (at !== undefined) return () => new Date(at);
    ctx.addIssue({ code: 'custom', message: `"${escapeControls(text)}" is neither an ISO 8601 time (1970-9999) nor a duration back from now such as 15m, 24h, 7d (at most 3650d)` });
    return z.NEVER;
  })
  .meta({ description: 'ISO 8601 time (2026-11-23T10:00:00Z) or a duration back from now (15m, 24h, 7d)' });

/** A whole number as a query or path parameter: decimal digits only ("0x10", "1e3", " 7" are not numbers here). */
function wholeNumber(max: number, what: string) {
  return z
    .string()
    .max(16)
    .superRefine((text, ctx) => {
      if (!/^[0-9]+$/.test(text) || Number(text) < 1 || Number(text) > max) ctx.addIssue({ code: 'custom', message: `"${escapeControls(text)}" is not ${what}` });
    })
    .transform(Number);
}

export const limitParam = wholeNumber(1_000, 'a whole number from 1 to 1000')
  .default(100)
  .meta({ description: 'at most this many, newest first (1-1000, default 100); `next` in the answer says when there are more' });

/** An id in a path: plain text, not blank, at most 200 characters. */
const idText = z
  .string()
  .max(200, { error: 'at most 200 characters' })
  .superRefine((text, ctx) => {
    const problem = text.trim() === '' ? 'must not be empty' : plainTextProblem(text);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const IdParams = z.strictObject({ id: idText });

/** A numeric id in a path (runs): decimal digits, 1 or more. */
export const NumericIdParams = z.strictObject({ id: wholeNumber(Number.MAX_SAFE_INTEGER, 'a run id (a whole number, 1 or more)') });

/** A filter value in a query (a rule, a source, an actor): plain text, at most 200 characters. */
export const filterParam = idText;

// ── pages ──────────────────────────────────────────────────────────────────────

/** The cursor of the next page, as the API hands it out: opaque, base64url of the last row's key. */
function encodeCursor(key: PageKey): string {
  return Buffer.from(JSON.stringify([key.time, key.id])).toString('base64url');
}

export const cursorParam = z
  .string()
  .max(200)
  .transform((text, ctx): PageKey => {
    let key: unknown;
    try {
      key = /^[A-Za-z0-9_-]+$/.test(text) ? JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) : undefined;
    } catch {
      key = undefined;
    }
    if (Array.isArray(key) && key.length === 2 && Number.isSafeInteger(key[0]) && ((typeof key[1] === 'string' && key[1].length <= 100) || Number.isSafeInteger(key[1]))) {
      return { time: key[0] as number, id: key[1] as number | string };
    }
    ctx.addIssue({ code: 'custom', message: 'not a cursor this API handed out (pass the `next` of the previous page as it is)' });
    return z.NEVER;
  })
  .meta({ description: 'where to continue: the `next` of the previous page' });

export const NextCursor = z.string().optional().describe('more match: ask again with ?cursor= this value (and the same filters); absent on the last page');

/** Of up to limit + 1 rows read, the page to answer and the cursor of the next one (only when there is more). */
export function paged<T>(rows: readonly T[], limit: number, keyOf: (row: T) => PageKey): { items: T[]; next?: string } {
  if (rows.length <= limit) return { items: [...rows] };
  const items = rows.slice(0, limit);
  return { items, next: encodeCursor(keyOf(items.at(-1)!)) };
}

/** A time as the API shows it; a stored time past what Date can show is shown as the latest it can (never a 500). */
export function iso(ms: number): string;
export function iso(ms: number | undefined): string | undefined;
export function iso(ms: number | undefined): string | undefined {
  if (ms === undefined) return undefined;
  if (Number.isNaN(ms)) return new Date(0).toISOString();
  return new Date(Math.max(-8.64e15, Math.min(8.64e15, ms))).toISOString();
}

/**
 * A window of time from `since` and `until` query parameters (timeParam), as ms: since defaults to
 * `defaultMs` back from now, until to now (inclusive: the window's end is until + 1). since must be
 * before until, or it is a 400.
 */
export function timeWindow(query: { since?: ((now: Date) => Date) | undefined; until?: ((now: Date) => Date) | undefined }, now: Date, defaultMs: number): { since: number; until: number } {
  const since = (query.since?.(now) ?? new Date(now.getTime() - defaultMs)).getTime();
  const until = (query.until?.(now) ?? now).getTime() + 1;
  if (since >= until) throw new MailscopeError('BAD_REQUEST', 'since must be before until');
  return { since, until };
}
