/**
 * mailauth asks DNS through a function shaped like `dns.promises.resolve`
 * (`(name, type) => records`, "no such name" and "no data" thrown as ENOTFOUND
 * and ENODATA). This adapter answers it from our DNS client, so mailauth's
 * lookups share our resolvers, cache and rate limits, and remembers every real
 * DNS failure in the order they happened: mailauth folds those into temperror
 * (or, where RFC 7208 says so, skips the lookup), and we must be able to tell the
 * person it was DNS, with our code.
 */
import type { DnsOutcome, DnsRecord, RecordType, Resolver } from '../dns/types.ts';
import { recordTypes } from '../dns/types.ts';

export type MailauthRecords = string[] | string[][] | { exchange: string; priority: number }[];

export type MailauthResolver = (name: string, type: string) => Promise<MailauthRecords>;

/** A DNS failure as mailauth (and node:dns) expect one, carrying our outcome. */
export interface ResolveError extends Error {
  code: string;
  outcome: DnsOutcome;
}

const nodeCodes: Record<string, string> = {
  DNS_TIMEOUT: 'ETIMEOUT',
  DNS_SERVFAIL: 'ESERVFAIL',
  DNS_REFUSED: 'EREFUSED',
  DNS_MALFORMED: 'EBADRESP',
  DNS_ABORTED: 'ECANCELLED',
};

function resolveError(outcome: DnsOutcome): ResolveError {
  const code = outcome.status === 'nxdomain' ? 'ENOTFOUND' : outcome.status === 'nodata' ? 'ENODATA' : outcome.status === 'error' ? (nodeCodes[outcome.code] ?? 'ESERVFAIL') : 'ESERVFAIL';
  const detail = outcome.status === 'error' ? `${outcome.code}: ${outcome.message}` : outcome.status;
  const error = new Error(`${outcome.type} ${outcome.name}: ${detail}`) as ResolveError;
  error.code = code;
  error.outcome = outcome;
  return error;
}

function shape(type: RecordType, records: DnsRecord[]): MailauthRecords {
  if (type === 'TXT') return records.map((record) => (Array.isArray(record.data) ? record.data : [String(record.data)]));
  if (type === 'MX') {
    return records.map((record) => {
      const data = record.data as { preference: number; exchange: string };
      return { exchange: data.exchange, priority: data.preference };
    });
  }
  return records.map((record) => String(record.data));
}

export type DnsFailure = Extract<DnsOutcome, { status: 'error' }>;

export interface AdaptedResolver {
  resolve: MailauthResolver;
  /** The lookups that failed for a reason other than "no such name / no data", in the order they failed. */
  failures(): readonly DnsFailure[];
}

export function mailauthResolver(dns: Resolver, signal?: AbortSignal): AdaptedResolver {
  const failures: DnsFailure[] = [];
  const resolve: MailauthResolver = async (name, type) => {
    const upper = type.toUpperCase() as RecordType;
    if (!(recordTypes as readonly string[]).includes(upper)) {
      const error = new Error(`record type ${type} is not supported`) as NodeJS.ErrnoException;
      error.code = 'ENOTIMP';
      throw error;
    }
    const outcome = await dns.query(name.endsWith('.') ? name.slice(0, -1) : name, upper, signal ? { signal } : {});
    if (outcome.status === 'answer') {
      const records = outcome.records.filter((record) => record.type === upper);
      if (records.length > 0) return shape(upper, records);
      throw resolveError({ ...outcome, status: 'nodata', ttl: outcome.ttl });
    }
    if (outcome.status === 'error') failures.push(outcome);
    throw resolveError(outcome);
  };
  return { resolve, failures: () => failures };
}
