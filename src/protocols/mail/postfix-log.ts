/**
 * Postfix's mail log, one line at a time: the delivery attempts (a delivery
 * agent's `to=<...>, relay=..., delay=..., dsn=..., status=...` line) and the
 * queue manager's expiries (`from=<...>, status=expired, returned to sender`),
 * in the three shapes the log comes in:
 * - syslog (RFC 3164): `Dec  6 10:00:00 host postfix/smtp[123]: 4ABC123: to=<...>, ...`;
 * - Postfix's own maillog_file (3.4+, postlogd): the same, the day zero-padded (`Dec 06`);
 * - rsyslog's high-precision format: `2026-12-06T10:00:00.123456+00:00 host postfix/smtp[123]: ...`.
 * The first two have no year and no zone: the zone is the log's (the host's unless
 * told), the year the one that puts the line at most a day ahead of now.
 *
 * Postfix logs `syslog_name/program`: `postfix/pool-a/smtp` is the smtp agent of a
 * service whose master.cf entry says `-o syslog_name=postfix/pool-a`; that is how
 * pools are told apart. A message's expiry is logged once, by the queue manager,
 * without its recipients: `DeferredRecipients` follows each message's deferred
 * recipients so that an expiry is counted per recipient, with its service.
 *
 * Lines are untrusted text (a peer's reply, a recipient address): every part kept
 * is bounded; the reply is kept as logged, and is to be cleaned (control
 * characters, anything like a credential) before it is stored or shown. Knows
 * nothing of the app.
 */
import { isIP } from 'node:net';

/** The statuses of a delivery attempt, as Postfix logs them (SOFTBOUNCE, with soft_bounce=yes, is read as deferred). */
export const postfixStatuses = ['sent', 'deferred', 'bounced', 'expired'] as const;
export type PostfixStatus = (typeof postfixStatuses)[number];

/** Who logged the line. */
export interface PostfixLogSource {
  /** When, as the line says. */
  time: Date;
  /** The host name field. */
  host: string;
  /** The log tag without the pid: `postfix/pool-a/smtp`. */
  service: string;
  /** The tag without its program: `postfix/pool-a` (the service's syslog_name). */
  syslogName: string;
  /** The program: `smtp`, `lmtp`, `local`, `virtual`, `pipe`, `error`, `qmgr`, ... */
  program: string;
  queueId: string;
}

/** One attempt to deliver a message to one recipient. */
export interface PostfixDelivery extends PostfixLogSource {
  kind: 'delivery';
  /** The recipient (`to=`), as logged (bounded). */
  recipient: string;
  /** Its domain, lower-case; undefined when the address has none that reads as a domain. */
  recipientDomain: string | undefined;
  /** The address before aliasing or forwarding (`orig_to=`), when Postfix logged one. */
  originalRecipient?: string;
  /** The relay as logged: `mx.b.test[192.0.2.5]:25`, `none`, `local`, `mx[private/dovecot-lmtp]`. */
  relay: string;
  /** The relay's host name, when the relay names one (not for none, local, virtual). */
  relayHost?: string;
  /** The relay's IP address, when it was reached over IP. */
  relayIp?: string;
  /** From the message's arrival to the end of this attempt (`delay=`), in seconds. */
  delaySeconds?: number;
  /** The enhanced status code Postfix settled on (`dsn=`). */
  dsn?: string;
  status: PostfixStatus;
  /** The remote server's reply code, when the text in parentheses is (or quotes) a reply. */
  smtpCode?: number;
  /** The text in parentheses without "host X said:" and "(in reply to X command)", cut to `replyLength`: untrusted peer text, not yet cleaned. */
  reply?: string;
  /** The SMTP command the reply answered (`RCPT TO`, `end of DATA`), when Postfix said. */
  command?: string;
}

/** The queue manager gave up on a message (maximal_queue_lifetime): its deferred recipients expire. */
export interface PostfixExpiry extends PostfixLogSource {
  kind: 'expiry';
  /** The envelope sender (`from=`), bounded; empty for a bounce. */
  sender: string;
}

/** The message left the queue (delivered, bounced, expired or deleted). */
export interface PostfixRemoved extends PostfixLogSource {
  kind: 'removed';
}

export type PostfixLogRecord = PostfixDelivery | PostfixExpiry | PostfixRemoved;

export interface PostfixParseOptions {
  /** Now: the year of a syslog timestamp is the one that puts the line at most a day ahead of it. */
  now: Date;
  /** The IANA zone the log's times are written in (syslog and maillog_file have none); default: this process's local zone. */
  timeZone?: string | undefined;
}

/** How much of the reply is kept, in characters (cleaning and shortening it further is the caller's). */
export const replyLength = 2_000;
/** Addresses, relays and senders are cut to this many characters (an address is at most 320). */
const fieldLength = 512;

const months: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

// "Dec  6 10:00:00" (syslog) or "Dec 06 10:00:00" (maillog_file), optionally with a fraction of a second.
const syslogTime = /^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))? /;
// "2026-12-06T10:00:00.123456+00:00" (rsyslog's RFC 3339), also with "Z" or "+0000".
const isoTime = /^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2}) /;
// "host postfix/pool-a/smtp[123]: message": the tag has a "/" (syslog_name/program); the pid may be missing.
const header = /^(\S{1,255}) ([^\s[\]:/]{1,128}(?:\/[^\s[\]:/]{1,128}){1,8})(?:\[\d{1,10}\])?: /;
const queueIdPattern = /^([0-9A-Za-z]{5,32}): /;

/** The milliseconds of a fraction written with 1 to 9 digits. */
function fractionMs(digits: string | undefined): number {
  return digits ? Math.floor(Number(`0.${digits}`) * 1000) : 0;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** How far ahead of UTC the zone's clocks are at this instant, in ms. */
function zoneOffsetMs(timeZone: string, instant: number): number {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(instant).map((part) => [part.type, part.value]));
  const wall = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  return wall - (instant - (((instant % 1000) + 1000) % 1000));
}

interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
}

/** The instant a wall-clock time names in a zone (undefined: the local zone); undefined when that day does not exist (Feb 29 of a common year). */
function instantOf(wall: WallTime, timeZone: string | undefined): number | undefined {
  const { year, month, day, hour, minute, second, ms } = wall;
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  if (timeZone === undefined) {
    const local = new Date(year, month, day, hour, minute, second, ms);
    return local.getMonth() === month && local.getDate() === day ? local.getTime() : undefined;
  }
  const asUtc = Date.UTC(year, month, day, hour, minute, second, ms);
  const check = new Date(asUtc);
  if (check.getUTCMonth() !== month || check.getUTCDate() !== day) return undefined;
  // Two passes: the offset at the guess, then at the answer (they differ only across a change of offset).
  const first = asUtc - zoneOffsetMs(timeZone, asUtc);
  return asUtc - zoneOffsetMs(timeZone, first);
}

/** A syslog timestamp's instant: of the years around now's, the latest that is at most a day ahead of now. */
function syslogInstant(match: RegExpExecArray, options: PostfixParseOptions): Date | undefined {
  const month = months[match[1]!];
  if (month === undefined) return undefined;
  const now = options.now.getTime();
  const year = options.now.getUTCFullYear();
  const wall = { month, day: Number(match[2]), hour: Number(match[3]), minute: Number(match[4]), second: Number(match[5]), ms: fractionMs(match[6]) };
  for (const candidate of [year + 1, year, year - 1, year - 2, year - 3, year - 4]) {
    const instant = instantOf({ ...wall, year: candidate }, options.timeZone);
    if (instant !== undefined && instant <= now + 86_400_000) return new Date(instant);
  }
  return undefined;
}

function isoInstant(match: RegExpExecArray): Date | undefined {
  const zone = match[3] === 'Z' ? 'Z' : `${match[3]!.slice(0, 3)}:${match[3]!.slice(-2)}`;
  const ms = Date.parse(`${match[1]!.replace(' ', 'T')}${zone}`);
  return Number.isNaN(ms) ? undefined : new Date(ms + fractionMs(match[2]));
}

/** The domain of an address, lower-case, when it reads as one (a name or an address literal). */
export function domainOfAddress(address: string): string | undefined {
  const at = address.lastIndexOf('@');
  if (at < 0) return undefined;
  const domain = address
    .slice(at + 1)
    .toLowerCase()
    .replace(/\.$/, '');
  if (domain.length === 0 || domain.length > 253) return undefined;
  if (/^\[(ipv6:)?[0-9a-f:.]+\]$/.test(domain)) return domain;
  return /^[\p{L}\p{N}_-]+(\.[\p{L}\p{N}_-]+)*$/u.test(domain) ? domain : undefined;
}

/** `to=<a@b>, orig_to=<c@d>, ` at the start of `text`: the addresses and where the rest begins. */
function readRecipients(text: string): { to: string; orig?: string; rest: number } | undefined {
  if (!text.startsWith('to=<')) return undefined;
  // The address ends at the first ">, " that a known key follows (a quoted local part may hold ">").
  let end = text.indexOf('>, ', 4);
  while (end >= 0 && !/^(orig_to=<|relay=)/.test(text.slice(end + 3, end + 12))) end = text.indexOf('>, ', end + 1);
  if (end < 0) return undefined;
  const to = text.slice(4, end);
  let rest = end + 3;
  if (!text.startsWith('orig_to=<', rest)) return { to, rest };
  let origEnd = text.indexOf('>, ', rest + 9);
  while (origEnd >= 0 && !text.startsWith('relay=', origEnd + 3)) origEnd = text.indexOf('>, ', origEnd + 1);
  if (origEnd < 0) return undefined;
  const orig = text.slice(rest + 9, origEnd);
  rest = origEnd + 3;
  return { to, orig, rest };
}

/**
 * The `key=value, ` fields from relay= to status=: `relay`, `conn_use`, `delay`,
 * `delays`, `dsn`, then `status` and what follows it. A ", " inside a value (a
 * socket path) that no `key=` follows stays in the value.
 */
function readFields(text: string): { fields: Map<string, string>; status: string; after: string } | undefined {
  const fields = new Map<string, string>();
  let key: string | undefined;
  let position = 0;
  for (;;) {
    const keyMatch = /^([a-z_]{1,16})=/.exec(text.slice(position, position + 17));
    if (!keyMatch) return undefined;
    key = keyMatch[1]!;
    position += keyMatch[0].length;
    if (key === 'status') {
      const status = /^[A-Za-z]{1,16}/.exec(text.slice(position, position + 16))?.[0];
      if (!status) return undefined;
      return { fields, status, after: text.slice(position + status.length) };
    }
    let end = text.indexOf(', ', position);
    while (end >= 0 && !/^[a-z_]{1,16}=/.test(text.slice(end + 2, end + 19))) end = text.indexOf(', ', end + 1);
    if (end < 0) return undefined;
    fields.set(key, text.slice(position, end));
    position = end + 2;
  }
}

const statusOf: Record<string, PostfixStatus> = { sent: 'sent', deferred: 'deferred', SOFTBOUNCE: 'deferred', bounced: 'bounced', expired: 'expired' };

/** "mx.b.test[192.0.2.5]:25" → host and IP; "none", "local", "virtual" have neither. */
function readRelay(relay: string): { relayHost?: string; relayIp?: string } {
  const match = /^([^[\]\s]{1,253})\[([^\]]{0,1024})\](?::\d{1,5})?$/.exec(relay);
  if (!match) return {};
  const address = match[2]!.replace(/^ipv6:/i, '');
  return { relayHost: match[1]!.toLowerCase(), ...(isIP(address) ? { relayIp: address } : {}) };
}

/** The text in parentheses after the status: the remote reply's code, its text, and the command it answered. */
export function readReply(text: string): { smtpCode?: number; reply: string; command?: string } {
  let reply = text;
  // "host mx.b.test[192.0.2.5] said: 550 5.1.1 ..." or "... refused to talk to me: 554 ..."; deferrals may say "delivery temporarily suspended: " first.
  const quoted = /^(?:delivery temporarily suspended: )?host \S{1,1100} (?:said|refused to talk to me): /.exec(reply);
  if (quoted) reply = reply.slice(quoted[0].length);
  let command: string | undefined;
  const inReply = / \(in reply to ([A-Za-z ]{1,40}?) command\)$/.exec(reply);
  if (inReply) {
    command = inReply[1];
    reply = reply.slice(0, inReply.index);
  }
  const code = /^([2-5]\d\d)(?:[ -]|$)/.exec(reply);
  return { ...(code ? { smtpCode: Number(code[1]) } : {}), reply: reply.slice(0, replyLength), ...(command ? { command } : {}) };
}

function readDelivery(source: PostfixLogSource, text: string): PostfixDelivery | undefined {
  const recipients = readRecipients(text);
  if (!recipients) return undefined;
  const read = readFields(text.slice(recipients.rest));
  if (!read) return undefined;
  const status = statusOf[read.status];
  // deliverable / undeliverable (address verification probes) and anything else are not deliveries.
  if (!status) return undefined;
  const relay = (read.fields.get('relay') ?? '').slice(0, fieldLength);
  const delay = read.fields.get('delay');
  const delaySeconds = delay !== undefined && /^\d{1,12}(\.\d{1,6})?$/.test(delay) ? Number(delay) : undefined;
  const dsn = read.fields.get('dsn');
  // " (reply)" after the status; ", returned to sender" (an expiry) or nothing carries none.
  const open = read.after.indexOf(' (');
  const inParentheses = open >= 0 ? read.after.slice(open + 2).replace(/\)$/, '') : undefined;
  const reply = inParentheses !== undefined ? readReply(inParentheses) : undefined;
  const recipient = recipients.to.slice(0, fieldLength);
  return {
    kind: 'delivery',
    ...source,
    recipient,
    recipientDomain: domainOfAddress(recipients.to),
    ...(recipients.orig !== undefined ? { originalRecipient: recipients.orig.slice(0, fieldLength) } : {}),
    relay,
    ...readRelay(relay),
    ...(delaySeconds !== undefined ? { delaySeconds } : {}),
    ...(dsn && /^[245]\.\d{1,3}\.\d{1,3}$/.test(dsn) ? { dsn } : {}),
    status,
    ...(reply?.smtpCode !== undefined ? { smtpCode: reply.smtpCode } : {}),
    ...(reply?.reply ? { reply: reply.reply } : {}),
    ...(reply?.command ? { command: reply.command } : {}),
  };
}

/**
 * One line of the mail log: a delivery attempt, an expiry, a removal, or
 * undefined (anything else: other programs' lines, other messages, garbage).
 * The line comes without its newline.
 */
export function parsePostfixLine(line: string, options: PostfixParseOptions): PostfixLogRecord | undefined {
  let time: Date | undefined;
  let rest: string;
  const syslog = syslogTime.exec(line);
  if (syslog) {
    time = syslogInstant(syslog, options);
    rest = line.slice(syslog[0].length);
  } else {
    const iso = isoTime.exec(line);
    if (!iso) return undefined;
    time = isoInstant(iso);
    rest = line.slice(iso[0].length);
  }
  if (!time) return undefined;
  const head = header.exec(rest);
  if (!head) return undefined;
  const service = head[2]!;
  const slash = service.lastIndexOf('/');
  const message = rest.slice(head[0].length);
  const queueId = queueIdPattern.exec(message);
  if (!queueId) return undefined;
  const source: PostfixLogSource = { time, host: head[1]!, service, syslogName: service.slice(0, slash), program: service.slice(slash + 1), queueId: queueId[1]! };
  const text = message.slice(queueId[0].length).replace(/\r$/, '');
  if (text.startsWith('to=<')) return readDelivery(source, text);
  if (text === 'removed') return { kind: 'removed', ...source };
  const expiry = /^from=<(.*)>, status=expired, returned to sender$/.exec(text);
  if (expiry) return { kind: 'expiry', ...source, sender: expiry[1]!.slice(0, fieldLength) };
  return undefined;
}

/** A deferred recipient waiting on its message's fate: what its expiry is counted with. */
interface Pending {
  recipientDomain: string | undefined;
  recipient: string;
  service: string;
  syslogName: string;
  program: string;
  host: string;
  relay: string;
  dsn?: string;
  smtpCode?: number;
  reply?: string;
}

/**
 * Each queued message's deferred recipients, from its deferrals until it is
 * delivered, bounced, removed or expired, so that the queue manager's expiry
 * line (which names no recipient) becomes one expired delivery per recipient
 * still waiting, with the service that deferred it and its last reply. Bounded:
 * past `limit` recipients the oldest messages are forgotten (and counted).
 */
export class DeferredRecipients {
  readonly #limit: number;
  readonly #messages = new Map<string, Map<string, Pending>>();
  #size = 0;
  /** Recipients forgotten to stay within the limit. */
  forgotten = 0;

  constructor(limit = 50_000) {
    this.#limit = limit;
  }

  get size(): number {
    return this.#size;
  }

  /**
   * Note a record. An expiry returns the expired deliveries it stands for (one per
   * recipient still deferred; none when no deferral of the message was seen);
   * anything else returns nothing.
   */
  note(record: PostfixLogRecord): PostfixDelivery[] {
    if (record.kind === 'removed') {
      this.#forget(record.queueId);
      return [];
    }
    if (record.kind === 'expiry') {
      const pending = this.#messages.get(record.queueId);
      this.#forget(record.queueId);
      return [...(pending?.values() ?? [])].map((recipient) => ({
        kind: 'delivery',
        time: record.time,
        queueId: record.queueId,
        ...recipient,
        status: 'expired',
      }));
    }
    const recipients = this.#messages.get(record.queueId);
    if (record.status !== 'deferred') {
      // Delivered, bounced, or expired on its own line: nothing left to expire for this recipient.
      if (recipients?.delete(record.recipient)) this.#size--;
      if (recipients?.size === 0) this.#messages.delete(record.queueId);
      return [];
    }
    const pending: Pending = {
      recipient: record.recipient,
      recipientDomain: record.recipientDomain,
      service: record.service,
      syslogName: record.syslogName,
      program: record.program,
      host: record.host,
      relay: record.relay,
      ...(record.dsn ? { dsn: record.dsn } : {}),
      ...(record.smtpCode !== undefined ? { smtpCode: record.smtpCode } : {}),
      ...(record.reply ? { reply: record.reply.slice(0, 300) } : {}),
    };
    const map = recipients ?? new Map<string, Pending>();
    if (!map.has(record.recipient)) this.#size++;
    map.set(record.recipient, pending);
    // Most recently deferred last: the oldest message is the first forgotten.
    this.#messages.delete(record.queueId);
    this.#messages.set(record.queueId, map);
    while (this.#size > this.#limit) {
      const oldest = this.#messages.keys().next().value as string;
      this.forgotten += this.#messages.get(oldest)!.size;
      this.#forget(oldest);
    }
    return [];
  }

  #forget(queueId: string): void {
    const recipients = this.#messages.get(queueId);
    if (!recipients) return;
    this.#size -= recipients.size;
    this.#messages.delete(queueId);
  }
}
