/**
 * What a DNSBL's answer means. An answer is a listing only when every address in
 * it is a code the list documents as one; its error codes, anything outside
 * 127.0.0.0/8, and codes nobody documented are errors with a reason, NEVER listings.
 */
import type { ErrorCode } from '../core/errors.ts';
import type { DnsOutcome } from '../protocols/dns/types.ts';

/** The codes of blocklist errors, with their meanings in core/errors.ts. */
export type DnsblErrorCode = Extract<ErrorCode, `DNSBL_${string}`>;

export interface ListSpec {
  /** Kebab-case; what configs and tags name it by. */
  id: string;
  name: string;
  zone: string;
  kind: 'ip' | 'domain';
  /** Answers IPv6 queries (IP lists). */
  ipv6: boolean;
  /** Answer → meaning, for answers that are listings. Absent: any 127/8 answer but the errors is a listing. */
  codes?: Record<string, string>;
  /** For lists answering with a bitmask in the last octet (127.0.0.x): bit → meaning. */
  bitmask?: Record<number, string>;
  /** Answers that are information but not a listing (e.g. a good reputation score). */
  neutral?: Record<string, string>;
  /** Answers that are errors, each with its code and meaning. */
  errors?: Record<string, { code: DnsblErrorCode; meaning: string }>;
  /** Every answer starting with this is an error the list uses (Spamhaus: 127.255.255.). */
  errorPrefix?: { prefix: string; code: DnsblErrorCode; meaning: string };
  /** RFC 5782 test points: a name the list must list, one it must not. null: the list documents none. */
  testPoints: { listed: string; unlisted: string } | null;
  delistUrl?: string;
  /** What using it requires (registration, a key, volume limits). */
  terms?: string;
}

export type Verdict =
  | { status: 'listed'; codes: string[]; meanings: string[] }
  | { status: 'not_listed'; codes: string[]; meanings: string[] }
  | { status: 'error'; code: DnsblErrorCode | DnsErrorCodeName; message: string; codes: string[] };

type DnsErrorCodeName = Extract<DnsOutcome, { status: 'error' }>['code'];

function inLoopback(address: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address);
}

function bitmaskMeanings(list: ListSpec, address: string): string[] {
  const last = Number(address.split('.')[3]);
  return Object.entries(list.bitmask ?? {})
    .filter(([bit]) => (last & Number(bit)) !== 0)
    .map(([, meaning]) => meaning);
}

/** The verdict on one A lookup of one target on one list. */
export function verdictOf(list: ListSpec, outcome: DnsOutcome): Verdict {
  if (outcome.status === 'error') return { status: 'error', code: outcome.code, message: outcome.message, codes: [] };
  if (outcome.status === 'nxdomain' || outcome.status === 'nodata') return { status: 'not_listed', codes: [], meanings: [] };
  const codes = outcome.records.map((record) => String(record.data)).sort();
  const meanings: string[] = [];
  let neutral = 0;
  for (const code of codes) {
    if (!inLoopback(code)) {
      return { status: 'error', code: 'DNSBL_BAD_ANSWER', message: `${list.name} answered ${code}, outside 127.0.0.0/8: a resolver is rewriting answers`, codes };
    }
    const error = list.errors?.[code] ?? (list.errorPrefix && code.startsWith(list.errorPrefix.prefix) ? list.errorPrefix : undefined);
    if (error) return { status: 'error', code: error.code, message: `${list.name} answered ${code}: ${error.meaning}`, codes };
    if (list.neutral?.[code]) {
      neutral++;
      meanings.push(list.neutral[code]);
      continue;
    }
    if (list.bitmask) {
      const bits = bitmaskMeanings(list, code);
      if (bits.length === 0) return { status: 'error', code: 'DNSBL_UNKNOWN_CODE', message: `${list.name} answered ${code}, which sets none of its documented bits`, codes };
      meanings.push(...bits);
      continue;
    }
    if (list.codes) {
      const meaning = list.codes[code];
      if (meaning === undefined) return { status: 'error', code: 'DNSBL_UNKNOWN_CODE', message: `${list.name} answered ${code}, which it does not document`, codes };
      meanings.push(meaning);
      continue;
    }
    meanings.push(`listed (${code})`);
  }
  return { status: neutral === codes.length ? 'not_listed' : 'listed', codes, meanings };
}
