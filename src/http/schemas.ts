import { z } from 'zod';
import { parseDuration } from '../core/schema.ts';
import { runTriggers } from '../store/runs.ts';

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
  .transform((text, ctx) => {
    const ago = parseDuration(text);
    if (ago !== undefined) return (now: Date) => new Date(now.getTime() - ago);
    const at = Date.parse(text);
    if (/^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(at)) return () => new Date(at);
    ctx.addIssue({ code: 'custom', message: `"${text}" is neither an ISO 8601 time nor a duration such as 15m, 24h, 7d` });
    return z.NEVER;
  })
  .meta({ description: 'ISO 8601 time (2026-11-23T10:00:00Z) or a duration back from now (15m, 24h, 7d)' });

export const limitParam = z.coerce
  .number()
  .int()
  .min(1)
  .max(1000)
  .default(100)
  .meta({ description: 'at most this many, newest first (1-1000, default 100)' });

export const IdParams = z.object({ id: z.string().min(1) });
