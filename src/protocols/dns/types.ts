/** The DNS client's vocabulary: what can be asked, and every way an answer can come back. */

export const recordTypes = ['A', 'AAAA', 'TXT', 'MX', 'PTR', 'NS', 'CNAME', 'SOA'] as const;
export type RecordType = (typeof recordTypes)[number];

export interface DnsServer {
  host: string;
  port: number;
}

export interface SoaData {
  mname: string;
  rname: string;
  serial: number;
  minimum: number;
}

export type RecordData = string | string[] | { preference: number; exchange: string } | SoaData;

export interface DnsRecord {
  name: string;
  type: RecordType;
  ttl: number;
  /** A/AAAA: the address; TXT: the record's strings; MX: preference and exchange; PTR/NS/CNAME: the name. */
  data: RecordData;
}

/**
 * Why no answer could be had. Each is an outcome the caller handles, never a
 * throw: a timeout is not "no such name", and SERVFAIL is not "not listed".
 */
export const dnsErrorCodes = {
  DNS_TIMEOUT: 'no answer within the timeout, after every attempt',
  DNS_SERVFAIL: 'the server failed (SERVFAIL)',
  DNS_REFUSED: 'the server refused the query (REFUSED)',
  DNS_MALFORMED: 'the answer could not be decoded',
  DNS_ID_MISMATCH: 'answers arrived with our id but for another question',
  DNS_RCODE: 'the server answered with an unexpected response code',
  DNS_NETWORK: 'the query could not be sent',
  DNS_ABORTED: 'the query was abandoned by its caller',
} as const;

export type DnsErrorCode = keyof typeof dnsErrorCodes;

interface OutcomeBase {
  name: string;
  type: RecordType;
  /** host:port of the server that gave the final word. */
  server: string;
  /** From the first send to the final word. */
  ms: number;
  fromCache: boolean;
}

export type DnsOutcome =
  | (OutcomeBase & { status: 'answer'; records: DnsRecord[]; ttl: number; via: 'udp' | 'tcp' })
  | (OutcomeBase & { status: 'nxdomain'; ttl: number; via: 'udp' | 'tcp' })
  | (OutcomeBase & { status: 'nodata'; ttl: number; via: 'udp' | 'tcp' })
  | (OutcomeBase & { status: 'error'; code: DnsErrorCode; message: string });

/** What probes and protocol glue need of a DNS client: one question, one outcome. */
export interface Resolver {
  query(name: string, type: RecordType, options?: { signal?: AbortSignal }): Promise<DnsOutcome>;
}

export function formatServer(server: DnsServer): string {
  return server.host.includes(':') ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}

/** Lower-case, no trailing dot: the form names are compared in. */
export function normalizeName(name: string): string {
  return (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
}
