/**
 * KumoMTA's log hook: `POST /v1/ingest/kumomta` with the log records KumoMTA's
 * `policy-extras.log_hooks` helper sends (the record shape is `JsonLogRecord` of
 * KumoMTA's crates/kumo-log-types; docs.kumomta.com/reference/log_record). A
 * body is one record, a JSON array of records (a batched hook), or one record per
 * line (newline-delimited JSON): batching is the user's Lua, and so is its
 * framing. A batch is taken whole or refused whole, naming the record and the field.
 *
 * What each record type becomes:
 * - Delivery → delivered (latency: from `created` to the record's time);
 *   TransientFailure → deferred; Bounce → bounced; Expiration → expired;
 * - OOB (a DSN that came back after the receiver had accepted the message) →
 *   bounced, unless `countOutOfBand` is off;
 * - AdminBounce (an operator failed messages through /api/admin/bounce) → skipped
 *   unless `countAdminBounces`: it says nothing of the receivers;
 * - Feedback (an ARF report) → complained when its feedback type is abuse or
 *   fraud (not-spam, auth-failure, virus, other are not complaints);
 * - Reception, Rejection (KumoMTA refusing a command of a client injecting mail:
 *   no delivery was attempted), Delayed (a message put in the scheduled queue
 *   without a TransientFailure: KumoMTA's own scheduling), AdminRebind,
 *   DeferredInjectionRebind and any type a later KumoMTA adds → skipped.
 * Also skipped: a TransientFailure that is KumoMTA holding mail back itself (a
 * queue suspended — Mailscope's own pauses are suspensions — or a throttle):
 * counted as deferrals they would make a pause look like the receivers' doing;
 * records delivered by another protocol than `protocols` (Maildir, Lua);
 * records about the hook's own messages (reception protocol LogRecord).
 *
 * KumoMTA's `bounce_classification` is not used unless `bounceClasses` maps it:
 * its stock rules (iana.toml) read codes only and put Gmail's 5.7.1 "likely
 * unsolicited" under AuthenticationFailed and 4.7.28 rate limits under
 * Uncategorized; Mailscope's classifier reads the reply text, the same way for
 * every source.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { peerExcerpt, peerLabel } from '../core/redact.ts';
import { shownText } from '../core/text.ts';
import type { TrafficEvent, TrafficOutcome } from '../core/traffic.ts';
import { errorMap, formatPath } from '../core/zod-messages.ts';
import { type BounceClass, bounceClassNames } from '../protocols/mail/bounce-class.ts';
import { defineSource, SourceBase, SourceInputError } from './define.ts';
import { trafficMeasurements } from './traffic.ts';

const kumoName = z.string().min(1).max(255);
const ipAddress = z.string().refine((text) => isIP(text) !== 0, { error: 'expected an IP address' });

const configSchema = SourceBase.extend({
  kind: z.literal('kumomta'),
  pools: z
    .record(kumoName, z.string().min(1).max(128))
    .default({})
    .describe("Mailscope's pool name for a KumoMTA egress_source or egress_pool name (a source's entry wins over its pool's); a pool not listed keeps its KumoMTA name"),
  sources: z
    .record(kumoName, ipAddress)
    .default({})
    .describe("each egress_source's sending IP, for records without source_address (KumoMTA before 2024.09.02, or an address the proxy does not report)"),
  campaignMeta: kumoName
    .default('campaign')
    .describe("the message meta key holding the campaign (list it in the hook's log_parameters.meta; for Feedback, in the listener's trace_headers.include_meta_names); read before the queue name"),
  tenantMeta: kumoName.default('tenant').describe('the message meta key holding the tenant, read like campaignMeta'),
  queueNames: z.boolean().default(true).describe("take campaign and tenant from the queue name (campaign:tenant@domain!routing_domain, KumoMTA's convention) when meta does not give them"),
  protocols: z
    .array(kumoName)
    .min(1)
    .default(['ESMTP'])
    .describe("delivery protocols counted: a record delivered by another (Maildir, Lua: KumoMTA's custom deliveries) is skipped; a record without one (Expiration, OOB) is counted"),
  countAdminBounces: z.boolean().default(false).describe('count AdminBounce records (messages an operator failed through /api/admin/bounce) as bounced'),
  countOutOfBand: z.boolean().default(true).describe('count OOB records (a DSN returned after the receiver accepted the message) as bounced'),
  bounceClasses: z
    .record(kumoName, z.enum(bounceClassNames as [BounceClass, ...BounceClass[]]))
    .default({})
    .describe(
      "KumoMTA bounce_classification label → Mailscope bounce class, for classifier rules you trust; a label not listed (and Uncategorized) is left to Mailscope's classifier, which reads the reply text",
    ),
}).strict();

export type KumoConfig = z.output<typeof configSchema>;

/** Records in one request at most (a batched hook sends batch_size of them). */
const maxRecords = 10_000;
/** Of a reply, this much is read: enough for any classification, bounded whatever the peer sent. */
const replyRead = 8_192;
/** What is kept of a reply (the traffic service excerpts it again). */
const replyKept = 1_000;
/** Campaign, tenant and pool names are tags: bounded. */
const labelLength = 128;
const longestLatencyMs = 366 * 86_400_000;

// Unix seconds, up to the year 9999: KumoMTA writes integers (chrono's ts_seconds).
const unixSeconds = z.number().nonnegative().max(253_402_300_799);
// event_time and created_time (newer KumoMTA): the same instants at full precision, RFC 3339.
const rfc3339 = z.iso.datetime({ offset: true, error: 'expected an RFC 3339 time such as 2024-06-10T12:34:56.123Z' });
/** An empty Lua table may come back from kumo.serde.json_encode as [] rather than {}. */
const mapping = z.preprocess((value) => (Array.isArray(value) && value.length === 0 ? {} : value), z.record(z.string(), z.unknown(), { error: 'expected a mapping' }));

const times = {
  timestamp: unixSeconds.optional(),
  event_time: rfc3339.optional(),
  created: unixSeconds.optional(),
  created_time: rfc3339.optional(),
};

/** What every record is read for first: its type, and whether it is about the hook's own messages. */
const RecordHead = z.object({ type: z.string(), reception_protocol: z.string().nullish() });

/** A delivery attempt's record (Delivery, TransientFailure, Bounce, Expiration, OOB, AdminBounce). Unknown fields pass. */
export const AttemptRecord = z.object({
  recipient: z.string(),
  queue: z.string().optional(),
  response: z.object({
    code: z.int().min(0).max(65_535),
    enhanced_code: z.object({ class: z.int().min(0).max(9), subject: z.int().min(0).max(999), detail: z.int().min(0).max(999) }).nullish(),
    content: z.string().optional(),
  }),
  ...times,
  egress_pool: z.string().nullish(),
  egress_source: z.string().nullish(),
  source_address: z.object({ address: z.string() }).nullish(),
  bounce_classification: z.unknown().optional(),
  meta: mapping.nullish(),
  delivery_protocol: z.string().nullish(),
});

/** A Feedback record: the ARF report as KumoMTA parsed it (rfc5965.rs). Its sender and recipient are the report's, not the complaint's. */
const FeedbackRecord = z.object({
  sender: z.string().optional(),
  ...times,
  meta: mapping.nullish(),
  feedback_report: z.object({
    feedback_type: z.string(),
    source_ip: z.string().nullish(),
    original_rcpto_to: z.array(z.string()).nullish(),
    supplemental_trace: mapping.nullish(),
    reporting_mta: z.object({ name: z.string() }).nullish(),
  }),
});

type Attempt = z.output<typeof AttemptRecord>;
type Feedback = z.output<typeof FeedbackRecord>;

const isMapping = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isNullishText = (value: unknown) => value === undefined || value === null || typeof value === 'string';
const isIntUpTo = (value: unknown, max: number) => Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= max;
const isSecondsOrAbsent = (value: unknown) => value === undefined || (typeof value === 'number' && value >= 0 && value <= 253_402_300_799);

/** RecordHead's rules, by hand (see plainAttempt). */
function plainHead(record: unknown): record is z.output<typeof RecordHead> {
  return isMapping(record) && typeof record.type === 'string' && isNullishText(record.reception_protocol);
}

/**
 * A delivery attempt's record as KumoMTA writes it, checked by hand: true only
 * when AttemptRecord accepts it as it is (with its time in seconds, no event_time
 * or created_time to check, meta a mapping or none), so that the record itself
 * reads as the schema's output would (unknown fields are never read). Any other
 * record, to be refused or not, goes through the schema, which names what is
 * wrong. zod's checked copy of every record was a large part of ingesting one
 * (bench/traffic.ts); test/sources/kumomta.test.ts holds this to the schema.
 */
export function plainAttempt(record: unknown): record is Attempt {
  if (!isMapping(record) || typeof record.recipient !== 'string' || (record.queue !== undefined && typeof record.queue !== 'string')) return false;
  const response = record.response;
  if (!isMapping(response) || !isIntUpTo(response.code, 65_535) || (response.content !== undefined && typeof response.content !== 'string')) return false;
  const enhanced = response.enhanced_code;
  if (enhanced != null && !(isMapping(enhanced) && isIntUpTo(enhanced.class, 9) && isIntUpTo(enhanced.subject, 999) && isIntUpTo(enhanced.detail, 999))) return false;
  if (record.timestamp === undefined || !isSecondsOrAbsent(record.timestamp) || !isSecondsOrAbsent(record.created)) return false;
  if (record.event_time !== undefined || record.created_time !== undefined) return false;
  if (!isNullishText(record.egress_pool) || !isNullishText(record.egress_source) || !isNullishText(record.delivery_protocol)) return false;
  const source = record.source_address;
  if (source != null && !(isMapping(source) && typeof source.address === 'string')) return false;
  return record.meta == null || isMapping(record.meta);
}

const attemptTypes: ReadonlyMap<string, TrafficOutcome> = new Map([
  ['Delivery', 'delivered'],
  ['TransientFailure', 'deferred'],
  ['Bounce', 'bounced'],
  ['Expiration', 'expired'],
  ['OOB', 'bounced'],
  ['AdminBounce', 'bounced'],
]);

/** ARF feedback types that are a recipient's complaint (RFC 5965 §7.3). */
const complaintTypes = new Set(['abuse', 'fraud']);

/**
 * KumoMTA holding mail back itself, not a receiver's answer: "KumoMTA internal:
 * scheduled queue is suspended: <reason>", "... ready queue is suspended", "...
 * throttled message rate", "ready queue throttled", "returning message to
 * scheduled queue". Connection failures and timeouts ("KumoMTA internal: failed to
 * connect to any candidate hosts") are about the receiver and are counted.
 */
const kumoHold = /^KumoMTA internal: (?:.*\b(?:suspended|throttled)\b|returning message to scheduled queue)/i;

/** A queue name's parts, as KumoMTA's QueueNameComponents::parse reads them: campaign:tenant@domain!routing_domain. */
export function parseQueueName(name: string): { campaign?: string; tenant?: string; domain: string; routingDomain?: string } {
  const at = name.indexOf('@');
  const prefix = at >= 0 ? name.slice(0, at) : undefined;
  const rest = at >= 0 ? name.slice(at + 1) : name;
  const colon = prefix?.indexOf(':') ?? -1;
  const campaign = prefix !== undefined && colon >= 0 ? prefix.slice(0, colon) : undefined;
  const tenant = prefix !== undefined ? (colon >= 0 ? prefix.slice(colon + 1) : prefix) : undefined;
  const bang = rest.indexOf('!');
  const domain = bang >= 0 ? rest.slice(0, bang) : rest;
  const routingDomain = bang >= 0 ? rest.slice(bang + 1) : undefined;
  return { domain, ...(campaign ? { campaign } : {}), ...(tenant ? { tenant } : {}), ...(routingDomain ? { routingDomain } : {}) };
}

/** A domain as the traffic service keys it: lower case, no trailing dot; undefined when it is not one. */
function cleanDomain(text: string): string | undefined {
  const domain = text.trim().toLowerCase().replace(/\.$/, '');
  return domain !== '' && domain.length <= 253 && !/[\s@<>,;]/.test(domain) ? domain : undefined;
}

/** The domain of an address as KumoMTA logs it ("user@example.com"; an ARF report may write "<user@example.com>"). */
function domainOfAddress(address: string | undefined): string | undefined {
  const text = address
    ?.trim()
    .replace(/^rfc822;\s*/i, '')
    .replace(/^<(.*)>$/, '$1');
  const at = text?.lastIndexOf('@') ?? -1;
  return text !== undefined && at >= 0 ? cleanDomain(text.slice(at + 1)) : undefined;
}

/** The IP of a socket address ("10.0.0.1:53210", "[2001:db8::1]:25", "10.0.0.1"); undefined for anything else (a unix socket path, 0.0.0.0). */
export function ipOfAddress(address: string | null | undefined): string | undefined {
  const text = address?.trim() ?? '';
  const host = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(text)?.[1] ?? (isIP(text) ? text : /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(text)?.[1]);
  if (host === undefined || !isIP(host)) return undefined;
  const ip = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(host)?.[1] ?? host;
  return ip === '0.0.0.0' || ip === '::' ? undefined : ip;
}

/** A campaign, tenant or pool name from KumoMTA's data: text on one line, bounded; undefined when there is none. */
function label(value: unknown): string | undefined {
  const text = typeof value === 'string' ? value : typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;
  const clean = text === undefined ? '' : peerLabel(text, labelLength);
  return clean === '' ? undefined : clean;
}

function lookup<T>(map: Record<string, T>, key: string | null | undefined): T | undefined {
  return key != null && Object.hasOwn(map, key) ? map[key] : undefined;
}

function timeOf(record: { timestamp?: number | undefined; event_time?: string | undefined }): number {
  return record.event_time !== undefined ? Date.parse(record.event_time) : record.timestamp! * 1000;
}

function createdOf(record: Attempt): number | undefined {
  return record.created_time !== undefined ? Date.parse(record.created_time) : record.created !== undefined ? record.created * 1000 : undefined;
}

function refuse(index: number, error: z.ZodError): never {
  const issue = error.issues[0]!;
  const field = formatPath(issue.path) || undefined;
  throw new SourceInputError(`record ${index}${field ? `, ${field}` : ''}: ${issue.message}`, { record: index, ...(field ? { field } : {}) });
}

function read<S extends z.ZodType>(schema: S, record: unknown, index: number): z.output<S> {
  const parsed = schema.safeParse(record, { error: errorMap });
  if (!parsed.success) refuse(index, parsed.error);
  return parsed.data;
}

/**
 * A record read with `schema`, which must say when it happened: timestamp or
 * event_time. Checked here, after the schema, rather than as a refinement of it:
 * zod reads an object schema that has a refinement the slow way, which made
 * reading a record several times dearer (bench/traffic.ts).
 */
function readTimed<S extends z.ZodType<{ timestamp?: number | undefined; event_time?: string | undefined }>>(schema: S, record: unknown, index: number): z.output<S> {
  const parsed = read(schema, record, index);
  if (parsed.timestamp === undefined && parsed.event_time === undefined) {
    throw new SourceInputError(`record ${index}, timestamp: required: expected seconds since the epoch (or event_time)`, { record: index, field: 'timestamp' });
  }
  return parsed;
}

/** Campaign and tenant: the configured meta keys first, then (when allowed) the queue name. */
function campaignAndTenant(config: KumoConfig, meta: Record<string, unknown> | null | undefined, queue: string | undefined): { campaign?: string; tenant?: string } {
  const fromQueue: { campaign?: string; tenant?: string } = config.queueNames && queue !== undefined ? parseQueueName(queue) : {};
  const campaign = label(lookup(meta ?? {}, config.campaignMeta)) ?? label(fromQueue.campaign);
  const tenant = label(lookup(meta ?? {}, config.tenantMeta)) ?? label(fromQueue.tenant);
  return { ...(campaign ? { campaign } : {}), ...(tenant ? { tenant } : {}) };
}

function attemptEvent(record: Attempt, type: string, outcome: TrafficOutcome, index: number, config: KumoConfig): TrafficEvent | undefined {
  const content = record.response.content ?? '';
  if (type === 'TransientFailure' && kumoHold.test(content)) return undefined;
  if (record.delivery_protocol && !config.protocols.includes(record.delivery_protocol)) return undefined;
  // An OOB record's queue is that of the DSN that came back, not of the message it reports on.
  const queue = type === 'OOB' ? undefined : record.queue;
  const recipientDomain = domainOfAddress(record.recipient) ?? (queue !== undefined ? cleanDomain(parseQueueName(queue).domain) : undefined);
  if (!recipientDomain)
    throw new SourceInputError(`record ${index}, recipient: no recipient domain in "${shownText(record.recipient)}" (nor in the queue name)`, { record: index, field: 'recipient' });
  const time = timeOf(record);
  const created = outcome === 'delivered' ? createdOf(record) : undefined;
  const latencyMs = created !== undefined ? time - created : undefined;
  const ip = ipOfAddress(record.source_address?.address) ?? lookup(config.sources, record.egress_source);
  const pool = label(lookup(config.pools, record.egress_source) ?? lookup(config.pools, record.egress_pool) ?? record.egress_pool);
  const { code, enhanced_code: enhanced } = record.response;
  const enhancedCode = enhanced && [2, 4, 5].includes(enhanced.class) ? `${enhanced.class}.${enhanced.subject}.${enhanced.detail}` : undefined;
  const reply = outcome === 'delivered' ? '' : peerExcerpt(content.slice(0, replyRead), replyKept);
  const classification = typeof record.bounce_classification === 'string' ? record.bounce_classification : undefined;
  const bounceClass = outcome === 'delivered' ? undefined : lookup(config.bounceClasses, classification);
  return {
    time: new Date(time),
    outcome,
    recipientDomain,
    ...(ip ? { ip } : {}),
    ...(pool ? { pool } : {}),
    ...campaignAndTenant(config, record.meta, queue),
    ...(code >= 200 && code <= 599 ? { smtpCode: code } : {}),
    ...(enhancedCode ? { enhancedCode } : {}),
    ...(reply ? { reply } : {}),
    ...(bounceClass ? { bounceClass } : {}),
    ...(latencyMs !== undefined && latencyMs >= 0 && latencyMs <= longestLatencyMs ? { latencyMs } : {}),
  };
}

/**
 * A complaint: who complained is in the report (the recipient KumoMTA's trace
 * header carried, or Original-Rcpt-To), not in the record's own recipient (the
 * address reports are sent to); when the report hides it (providers redact), the
 * reporting provider's own domain stands in. Campaign and tenant come from the
 * trace header (include_meta_names), the sending IP from Source-IP.
 */
function feedbackEvent(record: Feedback, config: KumoConfig): TrafficEvent | undefined {
  const report = record.feedback_report;
  if (!complaintTypes.has(report.feedback_type.trim().toLowerCase())) return undefined;
  const trace = report.supplemental_trace ?? {};
  const recipientDomain =
    domainOfAddress(typeof trace.recipient === 'string' ? trace.recipient : undefined) ??
    (report.original_rcpto_to ?? []).map(domainOfAddress).find((domain) => domain !== undefined) ??
    domainOfAddress(record.sender) ??
    cleanDomain(report.reporting_mta?.name ?? '');
  // A complaint nobody can place (every address redacted, a null sender): nothing to count it against.
  if (!recipientDomain) return undefined;
  const ip = ipOfAddress(report.source_ip);
  const fromTrace = campaignAndTenant({ ...config, queueNames: false }, trace, undefined);
  const fromMeta = campaignAndTenant({ ...config, queueNames: false }, record.meta, undefined);
  const campaign = fromTrace.campaign ?? fromMeta.campaign;
  const tenant = fromTrace.tenant ?? fromMeta.tenant;
  return {
    time: new Date(timeOf(record)),
    outcome: 'complained',
    recipientDomain,
    ...(ip ? { ip } : {}),
    ...(campaign ? { campaign } : {}),
    ...(tenant ? { tenant } : {}),
  };
}

function eventOf(record: unknown, index: number, config: KumoConfig): TrafficEvent | undefined {
  const head = plainHead(record) ? record : read(RecordHead, record, index);
  // A record of the hook's own delivery (the helper already drops these; a hand-written hook may not).
  if (head.reception_protocol === 'LogRecord') return undefined;
  if (head.type === 'Feedback') return feedbackEvent(readTimed(FeedbackRecord, record, index), config);
  const outcome = attemptTypes.get(head.type);
  if (outcome === undefined) return undefined;
  if (head.type === 'AdminBounce' && !config.countAdminBounces) return undefined;
  if (head.type === 'OOB' && !config.countOutOfBand) return undefined;
  return attemptEvent(plainAttempt(record) ? record : readTimed(AttemptRecord, record, index), head.type, outcome, index, config);
}

/** The lines of newline-delimited JSON, each a record (blank lines ignored). */
function jsonLines(text: string): unknown[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, index) => {
      try {
        return JSON.parse(line) as unknown;
      } catch (error) {
        throw new SourceInputError(`record ${index}: not JSON (${shownText((error as Error).message, 120)})`, { record: index });
      }
    });
}

/**
 * The records of a body: one record, a JSON array, or newline-delimited JSON. The
 * body is JSON already parsed, or the raw text (a string or bytes) when the
 * request was not sent as application/json.
 */
export function recordsOf(body: unknown): unknown[] {
  const text = body instanceof Uint8Array ? new TextDecoder().decode(body) : typeof body === 'string' ? body : undefined;
  let value = body;
  if (text !== undefined) {
    if (text.trim() === '') throw new SourceInputError('the body is empty: expected a KumoMTA log record, a JSON array of them, or one per line');
    try {
      value = JSON.parse(text) as unknown;
    } catch {
      value = jsonLines(text);
    }
  }
  const records = Array.isArray(value) ? value : value !== null && typeof value === 'object' ? [value] : undefined;
  if (records === undefined) throw new SourceInputError('expected a KumoMTA log record, a JSON array of them, or one per line');
  if (records.length > maxRecords) throw new SourceInputError(`${records.length} records in one request: at most ${maxRecords}`);
  return records;
}

/** The traffic events of a body; skipped records (see the top of this file) give none. */
export function parseKumoRecords(body: unknown, config: KumoConfig): TrafficEvent[] {
  return recordsOf(body).flatMap((record, index) => eventOf(record, index, config) ?? []);
}

export const kumomta = defineSource({
  kind: 'kumomta',
  description:
    "KumoMTA's log hook: the log records (one, a JSON array, or one per line) as the policy-extras.log_hooks helper posts them; Delivery, TransientFailure, Bounce, Expiration, OOB and Feedback (abuse) become traffic events",
  configSchema,
  measurements: trafficMeasurements,
  // A batch of 100 records is about 200-400 KB (a record is 1-3 KB with its meta and headers); 8 MiB leaves
  // room for batches of 1,000 and for Feedback records that still carry the reported message.
  http: { maxBodyBytes: 8 * 1024 * 1024, parse: parseKumoRecords },
});
