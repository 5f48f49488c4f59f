/**
 * The vocabulary of the DNS authentication checks (probe `dns-auth` and
 * `mailscope check dns`): a check looks at one record family of one domain and
 * yields findings; its status is the worst of them, its record is what it saw,
 * rendered like zone-file lines, and its digest identifies that record so a
 * change between runs can be noticed.
 */
import { createHash } from 'node:crypto';
import { domainToASCII } from 'node:url';
import ipaddr from 'ipaddr.js';
import type { DnsErrorCode, DnsOutcome, DnsRecord, RecordType, Resolver } from '../protocols/dns/types.ts';

export const checkNames = ['spf', 'spf_ip', 'dkim', 'dmarc', 'mx', 'address', 'ptr', 'mta_sts', 'tls_rpt', 'bimi'] as const;
export type CheckName = (typeof checkNames)[number];

export const levels = ['pass', 'warn', 'fail', 'error'] as const;
export type Level = (typeof levels)[number];

/** For dashboards and rules: pass 0, warn 1, fail 2, error 3. */
export const levelNumber: Record<Level, number> = { pass: 0, warn: 1, fail: 2, error: 3 };

export interface Finding {
  /** UPPER_SNAKE, stable: tests and alert rules match on it. */
  code: string;
  level: Level;
  /** What is wrong and what to change, for a person. */
  message: string;
}

export interface CheckResult {
  check: CheckName;
  domain: string;
  selector?: string;
  ip?: string;
  status: Level;
  /** One line for people: the findings' messages, or what was verified. */
  message: string;
  findings: Finding[];
  /** The records seen, one `name TYPE value` line each; '' when there are none. Absent when DNS failed. */
  record?: string;
  /** sha256 of the record (first 16 hex digits); absent when the record is unknown. */
  digest?: string;
  /** Check-specific figures, written as fields of the observation. */
  details: Record<string, string | number | boolean>;
  /** The DNS error code when the status is error. */
  errorCode?: string;
}

/** The worst of some levels: a certain failure outranks an unknown; unknown outranks a warning. */
export function worstLevel(levels: Level[]): Level {
  for (const level of ['fail', 'error', 'warn'] as const) if (levels.includes(level)) return level;
  return 'pass';
}

/** The status of a set of findings. */
export function statusOf(findings: Finding[]): Level {
  return worstLevel(findings.map((finding) => finding.level));
}

function digestOf(record: string): string {
  return createHash('sha256').update(record).digest('hex').slice(0, 16);
}

export interface CheckOutcome {
  findings: Finding[];
  /** Lines seen; undefined when a DNS failure left the record unknown. */
  lines: string[] | undefined;
  /** Said when nothing is wrong. */
  summary: string;
  details?: Record<string, string | number | boolean>;
}

export function result(subject: { check: CheckName; domain: string; selector?: string; ip?: string }, outcome: CheckOutcome): CheckResult {
  const status = statusOf(outcome.findings);
  // A passing check says what was verified, then its notes; otherwise only what needs doing.
  const message =
    status === 'pass'
      ? [outcome.summary, ...outcome.findings.map((finding) => finding.message)].join(' ')
      : outcome.findings
          .filter((finding) => finding.level !== 'pass')
          .map((finding) => finding.message)
          .join(' ');
  const errorFinding = outcome.findings.find((finding) => finding.level === 'error');
  const record = outcome.lines && !errorFinding ? outcome.lines.join('\n') : undefined;
  return {
    ...subject,
    status,
    message,
    findings: outcome.findings,
    ...(record !== undefined ? { record, digest: digestOf(record) } : {}),
    details: outcome.details ?? {},
    ...(errorFinding ? { errorCode: errorFinding.code } : {}),
  };
}

// ---------------------------------------------------------------------------
// DNS, as the checks see it

export type Lookup = { kind: 'records'; records: DnsRecord[] } | { kind: 'none'; nxdomain: boolean } | { kind: 'error'; code: DnsErrorCode; message: string };

export interface CheckContext {
  dns: Resolver;
  signal?: AbortSignal;
  /** PEM of a private CA trusted for MTA-STS policy hosts, besides the system's. */
  extraCa?: Buffer;
  /** Deadline of the MTA-STS policy fetch. */
  policyTimeoutMs?: number;
}

export async function lookup(ctx: CheckContext, name: string, type: RecordType): Promise<Lookup> {
  const outcome: DnsOutcome = await ctx.dns.query(name, type, ctx.signal ? { signal: ctx.signal } : {});
  if (outcome.status === 'error') return { kind: 'error', code: outcome.code, message: outcome.message };
  if (outcome.status === 'nxdomain') return { kind: 'none', nxdomain: true };
  if (outcome.status === 'nodata') return { kind: 'none', nxdomain: false };
  const records = outcome.records.filter((record) => record.type === type);
  return records.length > 0 ? { kind: 'records', records } : { kind: 'none', nxdomain: false };
}

/** The finding for a lookup that failed: the check's record is unknown, never "missing". */
export function dnsErrorFinding(name: string, type: RecordType, failed: Extract<Lookup, { kind: 'error' }>): Finding {
  return {
    code: failed.code,
    level: 'error',
    message: `The ${type} lookup of ${name} failed (${failed.code}: ${failed.message}), so this could not be checked; it is not known to be wrong. Check the resolver and the domain's name servers.`,
  };
}

/** A TXT record's strings joined, as its owner meant it. */
export function txtText(record: DnsRecord): string {
  return Array.isArray(record.data) ? record.data.join('') : String(record.data);
}

/** One record as a zone-file line, for people and for the digest. */
function recordLine(record: DnsRecord): string {
  const { data } = record;
  let value: string;
  if (record.type === 'TXT') value = JSON.stringify(txtText(record));
  else if (record.type === 'MX') {
    const mx = data as { preference: number; exchange: string };
    value = `${mx.preference} ${mx.exchange || '.'}`;
  } else value = String(data);
  return `${record.name} ${record.type} ${value}`;
}

/** Lines in a stable order: the same records give the same digest whatever order DNS returned them in. */
export function sortedLines(records: DnsRecord[]): string[] {
  return records.map(recordLine).sort();
}

/** Semicolon-separated tag=value pairs (DMARC, TLS-RPT, BIMI, MTA-STS TXT); names lower-cased. */
export function tagList(text: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const part of text.split(';')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    const name = part.slice(0, at).trim().toLowerCase();
    if (!tags.has(name)) tags.set(name, part.slice(at + 1).trim());
  }
  return tags;
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

// ---------------------------------------------------------------------------
// Input: what a person may ask about. Checked before a single query is sent.

const label = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const domainPattern = new RegExp(`^(?=.{1,253}$)${label}(?:\\.${label})+$`);
const selectorLabel = '[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?';
const selectorPattern = new RegExp(`^${selectorLabel}(?:\\.${selectorLabel})*$`, 'i');

/** Text from a person echoed in a message: quoted, control and direction characters escaped, cut to a bound. */
function quoted(text: string): string {
  const cut = text.length > 80 ? `${text.slice(0, 77)}...` : text;
  return JSON.stringify(cut).replace(/[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The address, when the text is an IP address where a domain belongs: IPv6 bare
 * or in brackets, IPv4 in any form a host name takes (127.1 is 127.0.0.1).
 */
function ipAddressIn(text: string): string | undefined {
  const bare = text.trim().replace(/^\[(.*)\]$/, '$1');
  if (bare.includes(':')) return ipaddr.IPv6.isValid(bare) ? ipaddr.parse(bare).toString() : undefined;
  const ascii = domainToASCII(bare.replace(/\.$/, ''));
  return ascii && ipaddr.IPv4.isValidFourPartDecimal(ascii) ? ascii : undefined;
}

/** The domain in the form it is queried in (lower case, A-labels, no trailing dot), or undefined when it is not a domain name. */
export function normalizeDomain(text: string): string | undefined {
  const trimmed = text.trim().replace(/\.$/, '');
  // "%" too: a host name parser would decode %41 to "a".
  if (!trimmed || /[\s/@:%]/.test(trimmed) || ipAddressIn(trimmed)) return undefined;
  const ascii = domainToASCII(trimmed);
  return ascii && domainPattern.test(ascii) ? ascii : undefined;
}

/** Why the text is not a sending domain: an IP address (whose place is `ipsGoIn`), control characters, too long, or not a name at all. */
export function domainProblem(text: string, ipsGoIn = 'in ips'): string | undefined {
  if (normalizeDomain(text)) return undefined;
  if (ipAddressIn(text)) return `${quoted(text)} is an IP address, not a domain: give the sending domain, and the IP ${ipsGoIn}`;
  if (/\p{Cc}/u.test(text)) return `${quoted(text)} is not a domain name: it contains a control character`;
  const ascii = domainToASCII(text.trim().replace(/\.$/, ''));
  if (ascii.length > 253) return `${quoted(text)} is not a domain name: ${ascii.length} characters, more than the 253 a domain name may have`;
  const label = ascii.split('.').find((part) => part.length > 63);
  if (label) return `${quoted(text)} is not a domain name: a label of ${label.length} characters, more than the 63 a DNS label may have`;
  return `${quoted(text)} is not a domain name (expected something like example.com)`;
}

export function selectorProblem(text: string): string | undefined {
  return selectorPattern.test(text) && text.length <= 200 ? undefined : `${quoted(text)} is not a DKIM selector (letters, digits, "-", "_", dot-separated labels)`;
}

/** A single sending address: IPv4 in dotted-quad form or IPv6; no ranges. */
export function ipProblem(text: string): string | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text) || (text.includes(':') && ipaddr.IPv6.isValid(text))) return undefined;
  return `${quoted(text)} is not an IP address (one IPv4 or IPv6 address; ranges are not checked here)`;
}
