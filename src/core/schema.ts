/**
 * zod building blocks shared by the instance config and every probe, notifier and
 * platform schema: one definition of what a duration, a cron expression, a
 * listen address or a secret looks like, with one wording of what was expected.
 */
import { accessSync, constants } from 'node:fs';
import { isIP } from 'node:net';
import cron from 'node-cron';
import { z } from 'zod';
import { MailscopeError } from './errors.ts';
import { Secret } from './secret.ts';
import { shownText } from './text.ts';

const durationUnits = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const durationPattern = /^(\d{1,15})(ms|s|m|h|d)$/;

/** The longest duration anything takes: ten years. Longer is a typo, and times past it overflow. */
const longestDurationMs = 3_650 * durationUnits.d;
/**
 * The longest a timer can wait (setTimeout's limit, about 24.8 days): a config
 * duration that becomes a timer or a request timeout is at most this.
 */
const longestTimerMs = 2_147_483_647;

/** "500ms", "30s", "5m", "1h", "7d" → milliseconds; undefined when not a duration (or longer than ten years). */
export function parseDuration(text: string): number | undefined {
  const match = durationPattern.exec(text.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * durationUnits[match[2] as keyof typeof durationUnits];
  return ms <= longestDurationMs ? ms : undefined;
}

/** What is wrong with a duration; undefined when it is one. */
function durationProblem(text: string, longestMs: number): string | undefined {
  const ms = parseDuration(text);
  if (ms === undefined) {
    return /^\s*\d+(ms|s|m|h|d)\s*$/.test(text)
      ? `"${text}" is longer than ${longestDurationMs / durationUnits.d}d`
      : `"${text}" is not a duration (expected a number and a unit: 500ms, 30s, 5m, 1h, 7d)`;
  }
  if (ms > longestMs) return `"${text}" is longer than ${formatLongest(longestMs)}`;
  return undefined;
}

function formatLongest(ms: number): string {
  return ms === longestTimerMs ? '24d (the longest a timer can wait)' : ms % durationUnits.d === 0 ? `${ms / durationUnits.d}d` : `${ms}ms`;
}

function durationSchema(longestMs: number) {
  return z.string().transform((text, ctx) => {
    const problem = durationProblem(text, longestMs);
    if (problem) {
      ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    }
    return parseDuration(text)!;
  });
}

/** A duration written as "30s" (units ms, s, m, h, d) that becomes a timer or a timeout: at most 24 days. The output is milliseconds. */
export const duration = durationSchema(longestTimerMs);

/** A duration that is only compared, never waited for (how long to keep data, a look-back window): at most ten years. */
export const longDuration = durationSchema(longestDurationMs);

const cronFieldNames: Record<string, string> = { dayOfMonth: 'day of month', dayOfWeek: 'day of week' };

/** A cron expression as node-cron reads it: 5 fields, or 6 with seconds first. */
export const cronExpression = z.string().superRefine((expression, ctx) => {
  const result = cron.validateDetailed(expression);
  if (result.valid) return;
  const reasons = result.errors.map((error) => (error.field === 'expression' ? error.message : `invalid ${cronFieldNames[error.field] ?? error.field} "${error.value ?? ''}"`));
  ctx.addIssue({ code: 'custom', message: `"${expression}" is not a valid cron expression: ${reasons.join('; ')}` });
});

export const timeZone = z.string().superRefine((zone, ctx) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${zone}" is not an IANA time zone (e.g. UTC, Europe/Berlin)` });
  }
});

/** Identifiers that become tags, file names and URL segments. */
export const identifier = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, {
  message: 'expected an id of lowercase letters, digits, ".", "_" or "-" (at most 63, starting with a letter or digit)',
});

const hostnamePattern = /^(?=.{1,253}$)([a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?)*\.?$/;

export interface HostPort {
  host: string;
  port: number;
}

/** "host:port", "192.0.2.1:25" or "[2001:db8::1]:25" → { host, port }; undefined when malformed. */
function parseHostPort(text: string, options: { allowPortZero?: boolean } = {}): HostPort | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  if (!match) return undefined;
  const host = match[1] ?? match[2] ?? '';
  const port = Number(match[3]);
  if (port > 65535 || (port === 0 && !options.allowPortZero)) return undefined;
  if (match[1] !== undefined ? isIP(host) !== 6 : !(isIP(host) === 4 || hostnamePattern.test(host))) return undefined;
  return { host, port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

function hostPortSchema(options: { allowPortZero: boolean }) {
  return z.string().transform((text, ctx) => {
    const parsed = parseHostPort(text, options);
    if (!parsed) {
      ctx.addIssue({
        code: 'custom',
        message: `"${text}" is not a host:port address (e.g. ${options.allowPortZero ? '127.0.0.1:8025, [::1]:8025; port 0-65535, 0 for any free port' : '127.0.0.1:25, mx.example.com:25, [::1]:25; port 1-65535'})`,
      });
      return z.NEVER;
    }
    return parsed;
  });
}

/** A peer to connect to: port 1-65535. */
export const hostPort = hostPortSchema({ allowPortZero: false });
/** An address to listen on: port 0 means "any free port". */
export const listenAddress = hostPortSchema({ allowPortZero: true });

/** "10.0.0.53", "127.0.0.1:5300", "[::1]:53" or "::1" → { host, port }; port 53 when none is given. */
export function parseServerAddress(text: string): HostPort | undefined {
  const trimmed = text.trim();
  if (isIP(trimmed)) return { host: trimmed, port: 53 };
  const parsed = parseHostPort(trimmed);
  return parsed && isIP(parsed.host) ? parsed : undefined;
}

/** A DNS server: an IP address, optionally with a port. */
export const dnsServer = z.string().transform((text, ctx) => {
  const parsed = parseServerAddress(text);
  if (!parsed) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a DNS server address (an IP, optionally with a port: 127.0.0.1, 127.0.0.1:5300, [::1]:53)` });
    return z.NEVER;
  }
  return parsed;
});

/** A secret string; renders as "[redacted]" everywhere but reveal(). */
export function secret(options: { minLength?: number } = {}) {
  const minLength = options.minLength ?? 1;
  return z.string({ error: 'expected a string (not shown: it is a secret)' }).transform((value, ctx) => {
    if (value.length < minLength) {
      // Never echo the value: it is a secret, even when it is a bad one.
      ctx.addIssue({ code: 'custom', message: `too short: a secret of at least ${minLength} characters is expected` });
      return z.NEVER;
    }
    return new Secret(value);
  });
}

/**
 * Extra HTTP request headers: where people put credentials (Authorization,
 * X-Api-Key), so every value is a secret, shown as "[redacted]"; the names are not.
 */
export function secretHeaders() {
  return z.record(z.string(), secret()).prefault({});
}

/** A PostgreSQL connection URL, a secret (it carries the password): checked, never echoed in an error. */
export function postgresUrl() {
  return z
    .string({ error: 'expected a postgres:// URL (not shown: it is a secret)' })
    .superRefine((value, ctx) => {
      let url: URL | undefined;
      try {
        url = new URL(value);
      } catch {
        url = undefined;
      }
      if (!url || (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') || !url.hostname || url.pathname.length <= 1)
        ctx.addIssue({ code: 'custom', message: 'expected postgres://user:password@host:port/database (not shown: it is a secret)' });
    })
    .transform((value) => new Secret(value));
}

/** A URL that is a secret (a webhook URL carries its token): checked, never echoed in an error. */
export function secretUrl() {
  return z
    .string({ error: 'expected a URL (not shown: it is a secret)' })
    .superRefine((value, ctx) => {
      let url: URL | undefined;
      try {
        url = new URL(value);
      } catch {
        url = undefined;
      }
      if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) ctx.addIssue({ code: 'custom', message: 'expected an http:// or https:// URL (not shown: it is a secret)' });
    })
    .pipe(secret());
}

/** A file that can be read now (config load time): a path, absolute or relative to the working directory. */
export const readableFile = z
  .string()
  .min(1)
  .superRefine((file, ctx) => {
    try {
      accessSync(file, constants.R_OK);
    } catch {
      ctx.addIssue({ code: 'custom', message: `cannot read "${file}" (absolute, or relative to the working directory)` });
    }
  });

/** How far ahead an expiry (of a control, a silence) may be: a year. */
const longestExpiryMs = 366 * durationUnits.d;

/**
 * A time ahead, as a request body or a CLI option says it: an ISO 8601 time, or a duration from now
 * (2h, 1d), at most a year ahead. In ms since the epoch; a BAD_REQUEST naming the field when it is
 * neither, not in the future, or too far.
 */
export function futureTime(field: string, text: string, now: number): number {
  const ahead = parseDuration(text);
  const at = ahead !== undefined ? now + ahead : isoTime(text);
  if (at === undefined) throw new MailscopeError('BAD_REQUEST', `${field}: "${shownText(text)}" is neither an ISO 8601 time nor a duration such as 2h (at most 366d)`);
  if (at <= now) throw new MailscopeError('BAD_REQUEST', `${field}: ${new Date(at).toISOString()} is not in the future`);
  if (at - now > longestExpiryMs) throw new MailscopeError('BAD_REQUEST', `${field}: ${new Date(at).toISOString()} is more than a year ahead (at most 366d)`);
  return at;
}

/** 10000-01-01: four-digit years only. */
const latestIsoTime = Date.UTC(10_000, 0, 1);

/** An ISO 8601 date or date-time from 1970 to 9999 → ms since the epoch; undefined when it is not one. */
export function isoTime(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/i.test(text.trim())) return undefined;
  const at = Date.parse(text.trim());
  return Number.isNaN(at) || at < 0 || at >= latestIsoTime ? undefined : at;
}

/** A list's entries have distinct ids: `duplicate <what> id "x" (also <key>[i])`. */
export function uniqueIds(what: string, key: string) {
  return (entries: readonly { id: string }[], ctx: z.RefinementCtx) => {
    const seen = new Map<string, number>();
    entries.forEach((entry, index) => {
      const first = seen.get(entry.id);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: [index, 'id'], message: `duplicate ${what} id "${entry.id}" (also ${key}[${first}])` });
      else seen.set(entry.id, index);
    });
  };
}
