/**
 * The JSON hook, for any platform without a kind of its own (a PowerMTA
 * accounting pipe, Haraka, a custom MTA): `POST /v1/ingest/events` with one event
 * or `{ "events": [ ... ] }`, each in the documented shape below. A batch is taken
 * whole or refused whole, naming the record and the field.
 */
import { z } from 'zod';
import { trafficOutcomes, type TrafficEvent } from '../core/traffic.ts';
import { formatPath } from '../core/zod-messages.ts';
import { defineSource, SourceBase, SourceInputError } from './define.ts';
import { trafficMeasurements } from './traffic.ts';

const configSchema = SourceBase.extend({
  kind: z.literal('events'),
}).strict();

const text = (max: number) => z.string().max(max, { error: `at most ${max} characters` });

/** One event as posted. */
export const PostedEvent = z.strictObject({
  time: z.union([z.iso.datetime({ offset: true }), z.number().int().positive()]).describe('ISO 8601, or seconds since the epoch'),
  outcome: z.enum(trafficOutcomes),
  recipient: text(320).optional().describe('the recipient address (only its domain is kept)'),
  recipient_domain: text(253).optional().describe('the recipient domain, when the address is not given'),
  provider: text(63).optional(),
  ip: text(45).optional(),
  pool: text(128).optional(),
  campaign: text(128).optional(),
  tenant: text(128).optional(),
  smtp_code: z.int().min(200).max(599).optional(),
  enhanced_code: z
    .string()
    .regex(/^[245]\.\d{1,3}\.\d{1,3}$/, { error: 'expected an enhanced status code such as 5.1.1' })
    .optional(),
  reply: text(4_096).optional().describe('the remote reply text (kept as a bounded excerpt)'),
  bounce_class: text(63).optional(),
  latency_ms: z
    .number()
    .nonnegative()
    .max(366 * 86_400_000)
    .optional(),
});

/** Events in one request at most. */
const maxEvents = 10_000;

/** The records of a body: a list, `{ events: [...] }`, or one event. */
function recordsOf(body: unknown): unknown[] {
  const records = Array.isArray(body)
    ? body
    : body !== null && typeof body === 'object' && 'events' in body
      ? (body as { events: unknown }).events
      : body !== null && typeof body === 'object'
        ? [body]
        : undefined;
  if (!Array.isArray(records)) throw new SourceInputError('expected an event, a list of events, or { "events": [...] }');
  if (records.length > maxEvents) throw new SourceInputError(`${records.length} events in one request: at most ${maxEvents}`);
  return records;
}

function domainOf(event: z.output<typeof PostedEvent>): string | undefined {
  const domain = event.recipient_domain ?? (event.recipient?.includes('@') ? event.recipient.slice(event.recipient.lastIndexOf('@') + 1) : undefined);
  return domain?.trim().toLowerCase().replace(/\.$/, '') || undefined;
}

export function parseEvents(body: unknown): TrafficEvent[] {
  return recordsOf(body).map((record, index) => {
    const parsed = PostedEvent.safeParse(record);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = formatPath(issue.path) || undefined;
      throw new SourceInputError(`event ${index}${field ? `, ${field}` : ''}: ${issue.message}`, { record: index, ...(field ? { field } : {}) });
    }
    const event = parsed.data;
    const recipientDomain = domainOf(event);
    if (!recipientDomain) throw new SourceInputError(`event ${index}: give recipient or recipient_domain`, { record: index, field: 'recipient' });
    const time = typeof event.time === 'number' ? new Date(event.time * 1000) : new Date(event.time);
    return {
      time,
      outcome: event.outcome,
      recipientDomain,
      ...(event.provider ? { provider: event.provider.toLowerCase() } : {}),
      ...(event.ip ? { ip: event.ip } : {}),
      ...(event.pool ? { pool: event.pool } : {}),
      ...(event.campaign ? { campaign: event.campaign } : {}),
      ...(event.tenant ? { tenant: event.tenant } : {}),
      ...(event.smtp_code !== undefined ? { smtpCode: event.smtp_code } : {}),
      ...(event.enhanced_code ? { enhancedCode: event.enhanced_code } : {}),
      ...(event.reply !== undefined ? { reply: event.reply } : {}),
      ...(event.bounce_class ? { bounceClass: event.bounce_class } : {}),
      ...(event.latency_ms !== undefined ? { latencyMs: event.latency_ms } : {}),
    };
  });
}

export const events = defineSource({
  kind: 'events',
  description: 'a JSON hook any platform can post to: one documented event shape (time, outcome, recipient, ip, pool, codes, reply)',
  configSchema,
  measurements: trafficMeasurements,
  http: { maxBodyBytes: 4 * 1024 * 1024, parse: (body) => parseEvents(body) },
});
