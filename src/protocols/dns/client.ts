import { randomInt } from 'node:crypto';
import { AnswerCache } from './cache.ts';
import { answersQuestion, decodeResponse, encodeTcpQuery, isTruncated, negativeTtl, recordsOf, type Response } from './message.ts';
import { tcpQuery } from './tcp-query.ts';
import { UdpChannel, type AttemptResult } from './udp-channel.ts';
import { dnsErrorCodes, formatServer, normalizeName, type DnsErrorCode, type DnsOutcome, type DnsServer, type RecordType } from './types.ts';

export interface DnsClientOptions {
  /** Asked in turn: attempt n goes to server n mod count. */
  servers: DnsServer[];
  /** Per attempt. */
  timeoutMs?: number;
  attempts?: number;
  /** Queries per second to each server; 0 = no limit. */
  rateLimit?: number;
  /** Queries in flight at once to each server. */
  maxInFlight?: number;
  /** Entries in the answer cache; 0 disables it. */
  cacheEntries?: number;
  maxCacheTtlSeconds?: number;
  /** Advertise EDNS0 (1232-byte UDP payloads). */
  edns?: boolean;
  /** Resend an unanswered query within its attempt, after the estimated round trip. */
  resend?: boolean;
  receiveBuffer?: number;
  /** Wall clock for the cache (tests move it). */
  now?: () => number;
}

const dnsClientDefaults = {
  timeoutMs: 2_000,
  attempts: 3,
  rateLimit: 0,
  maxInFlight: 100,
  cacheEntries: 10_000,
  maxCacheTtlSeconds: 3_600,
  edns: true,
  resend: true,
  receiveBuffer: 4 * 1024 * 1024,
} as const;

// A label is octets: a space is one a name may carry (SPF's %_ macro puts it there, RFC 7208 7.3);
// other whitespace and the backslash (the zone-file escape) are not.
const queryableName = /^(?=.{1,253}$)(?:[^.\\]{1,63}\.)*[^.\\]{1,63}$/;
const whitespaceButSpace = /[^\S ]/;

/** A DNS name as a query may carry it (without its trailing dot): labels of 1–63 characters, 253 in all. */
function isQueryableName(name: string): boolean {
  return queryableName.test(name) && !whitespaceButSpace.test(name);
}

/**
 * Our resolver client on dns-packet: UDP with many queries in flight per server,
 * TCP when an answer is truncated, retries across the server list, a rate limit per
 * server, an answer cache honouring TTLs, identical concurrent queries sent once.
 * Every outcome is a value (answer, nxdomain, nodata, or a typed error), never a throw.
 */
export class DnsClient {
  readonly #servers: DnsServer[];
  readonly #options: Required<Omit<DnsClientOptions, 'servers' | 'now'>>;
  readonly #channels: UdpChannel[];
  readonly #cache: AnswerCache;
  readonly #inFlight = new Map<string, Promise<DnsOutcome>>();
  #next = 0;

  constructor(options: DnsClientOptions) {
    if (options.servers.length === 0) throw new Error('a DNS client needs at least one server');
    this.#servers = options.servers;
    this.#options = {
      timeoutMs: options.timeoutMs ?? dnsClientDefaults.timeoutMs,
      attempts: options.attempts ?? dnsClientDefaults.attempts,
      rateLimit: options.rateLimit ?? dnsClientDefaults.rateLimit,
      maxInFlight: options.maxInFlight ?? dnsClientDefaults.maxInFlight,
      cacheEntries: options.cacheEntries ?? dnsClientDefaults.cacheEntries,
      maxCacheTtlSeconds: options.maxCacheTtlSeconds ?? dnsClientDefaults.maxCacheTtlSeconds,
      edns: options.edns ?? dnsClientDefaults.edns,
      resend: options.resend ?? dnsClientDefaults.resend,
      receiveBuffer: options.receiveBuffer ?? dnsClientDefaults.receiveBuffer,
    };
    this.#channels = this.#servers.map(
      (server) =>
        new UdpChannel(server, {
          timeoutMs: this.#options.timeoutMs,
          maxInFlight: this.#options.maxInFlight,
          rateLimit: this.#options.rateLimit,
          receiveBuffer: this.#options.receiveBuffer,
          resend: this.#options.resend,
        }),
    );
    this.#cache = new AnswerCache({ maxEntries: this.#options.cacheEntries, maxTtlSeconds: this.#options.maxCacheTtlSeconds, ...(options.now ? { now: options.now } : {}) });
    this.#next = randomInt(0, this.#servers.length);
  }

  get servers(): readonly DnsServer[] {
    return this.#servers;
  }

  /** Answers that arrived for nothing in flight, on every socket (late, duplicated or spoofed). */
  get strayAnswers(): number {
    return this.#channels.reduce((sum, channel) => sum + channel.stray, 0);
  }

  /** Queries sent again within their attempt because nothing came back in time. */
  get resent(): number {
    return this.#channels.reduce((sum, channel) => sum + channel.resent, 0);
  }

  get cacheSize(): number {
    return this.#cache.size;
  }

  clearCache(): void {
    this.#cache.clear();
  }

  query(name: string, type: RecordType, options: { signal?: AbortSignal } = {}): Promise<DnsOutcome> {
    const normalized = normalizeName(name);
    if (!isQueryableName(normalized)) {
      return Promise.resolve(this.#error(normalized, type, 'DNS_MALFORMED', `"${name}" is not a DNS name`, undefined, 0));
    }
    const key = `${type} ${normalized}`;
    const cached = this.#options.cacheEntries > 0 ? this.#cache.get(key) : undefined;
    if (cached) return Promise.resolve(cached);
    const shared = this.#inFlight.get(key);
    if (shared && !options.signal) return shared;
    const work = new Promise<DnsOutcome>((resolve) => {
      this.#ask({ name: normalized, type, signal: options.signal, started: performance.now(), first: this.#nextServer(), attempt: 0, edns: this.#options.edns, sawMismatch: false }, (outcome) => {
        this.#cache.set(key, outcome);
        if (!options.signal) this.#inFlight.delete(key);
        resolve(outcome);
      });
    });
    if (!options.signal) this.#inFlight.set(key, work);
    return work;
  }

  #nextServer(): number {
    const first = this.#next;
    this.#next = (this.#next + 1) % this.#servers.length;
    return first;
  }

  /**
   * One attempt, then the next, until an answer or the last attempt. Callbacks,
   * not promises, inside: one promise per query (in query()), not one per step.
   */
  #ask(state: AskState, done: (outcome: DnsOutcome) => void): void {
    const index = (state.first + state.attempt) % this.#servers.length;
    const server = this.#servers[index]!;
    this.#channels[index]!.attempt(state.name, state.type, state.edns, state.signal, (result) => {
      if (result.kind === 'aborted') {
        done(this.#error(state.name, state.type, 'DNS_ABORTED', 'abandoned by its caller', server, performance.now() - state.started));
        return;
      }
      if (result.kind === 'timeout' && result.mismatched) state.sawMismatch = true;
      // Only a truncated answer needs more waiting (TCP); every other answer is read at once.
      if (result.kind === 'response' && isTruncated(result.response)) {
        void this.#overTcp(state.name, state.type, server, state.started, state.signal).then((outcome) => this.#afterAttempt(state, outcome, done));
      } else {
        this.#afterAttempt(state, this.#interpret(result, state.name, state.type, server, state.started), done);
      }
    });
  }

  /** After an attempt: done, or the next attempt. */
  #afterAttempt(state: AskState, outcome: DnsOutcome | 'retry-without-edns', done: (outcome: DnsOutcome) => void): void {
    if (outcome === 'retry-without-edns') {
      state.edns = false;
      this.#ask(state, done);
      return;
    }
    if (outcome.status !== 'error' || !retryable(outcome.code) || state.attempt + 1 >= this.#options.attempts) {
      if (outcome.status === 'error' && outcome.code === 'DNS_TIMEOUT' && state.sawMismatch) {
        done({ ...outcome, code: 'DNS_ID_MISMATCH', message: `${dnsErrorCodes.DNS_ID_MISMATCH} (${state.name} ${state.type})` });
      } else done(outcome);
      return;
    }
    state.attempt++;
    this.#ask(state, done);
  }

  #interpret(result: AttemptResult, name: string, type: RecordType, server: DnsServer, started: number): DnsOutcome | 'retry-without-edns' {
    const ms = () => performance.now() - started;
    switch (result.kind) {
      case 'timeout':
        return this.#error(name, type, 'DNS_TIMEOUT', `no answer from ${formatServer(server)} within ${this.#options.timeoutMs} ms`, server, ms());
      case 'malformed':
        return this.#error(name, type, 'DNS_MALFORMED', `${formatServer(server)} answered with something that is not a DNS message`, server, ms());
      case 'network':
        return this.#error(name, type, 'DNS_NETWORK', `cannot ask ${formatServer(server)}: ${result.message}`, server, ms());
      case 'aborted':
        return this.#error(name, type, 'DNS_ABORTED', 'abandoned by its caller', server, ms());
      case 'response':
        return this.#fromResponse(result.response, name, type, server, ms(), 'udp');
    }
  }

  async #overTcp(name: string, type: RecordType, server: DnsServer, started: number, signal: AbortSignal | undefined): Promise<DnsOutcome | 'retry-without-edns'> {
    const ms = () => performance.now() - started;
    const tcp = await tcpQuery(server, encodeTcpQuery(randomInt(0, 0x10000), name, type, false), this.#options.timeoutMs, signal);
    if (tcp.kind === 'aborted') return this.#error(name, type, 'DNS_ABORTED', 'abandoned by its caller', server, ms());
    if (tcp.kind === 'timeout')
      return this.#error(name, type, 'DNS_TIMEOUT', `truncated over UDP, and no answer over TCP from ${formatServer(server)} within ${this.#options.timeoutMs} ms`, server, ms());
    if (tcp.kind === 'network') return this.#error(name, type, 'DNS_NETWORK', `truncated over UDP, and TCP to ${formatServer(server)} failed: ${tcp.message}`, server, ms());
    const response = decodeResponse(tcp.message);
    if (!response) return this.#error(name, type, 'DNS_MALFORMED', `${formatServer(server)} answered over TCP with something that is not a DNS message`, server, ms());
    if (!answersQuestion(response, name, type)) return this.#error(name, type, 'DNS_ID_MISMATCH', `${formatServer(server)} answered another question over TCP`, server, ms());
    return this.#fromResponse(response, name, type, server, ms(), 'tcp');
  }

  #fromResponse(response: Response, name: string, type: RecordType, server: DnsServer, ms: number, via: 'udp' | 'tcp'): DnsOutcome | 'retry-without-edns' {
    const base = { name, type, server: formatServer(server), ms, fromCache: false };
    switch (response.rcode) {
      case 'NOERROR': {
        const records = recordsOf(response, type);
        if (records.length === 0) return { ...base, status: 'nodata', ttl: negativeTtl(response), via };
        return { ...base, status: 'answer', records, ttl: Math.min(...records.map((record) => record.ttl)), via };
      }
      case 'NXDOMAIN':
        return { ...base, status: 'nxdomain', ttl: negativeTtl(response), via };
      case 'SERVFAIL':
        return this.#error(name, type, 'DNS_SERVFAIL', `${formatServer(server)} answered SERVFAIL`, server, ms);
      case 'REFUSED':
        return this.#error(name, type, 'DNS_REFUSED', `${formatServer(server)} refused the query`, server, ms);
      case 'FORMERR':
        // An old server that does not speak EDNS0 may say FORMERR to an OPT record (RFC 6891 §7).
        if (response.additionals?.every((record) => record.type !== 'OPT')) return 'retry-without-edns';
        return this.#error(name, type, 'DNS_RCODE', `${formatServer(server)} answered FORMERR`, server, ms);
      default:
        return this.#error(name, type, 'DNS_RCODE', `${formatServer(server)} answered ${response.rcode ?? 'an unknown response code'}`, server, ms);
    }
  }

  #error(name: string, type: RecordType, code: DnsErrorCode, message: string, server: DnsServer | undefined, ms: number): DnsOutcome {
    return { name, type, server: server ? formatServer(server) : '', ms, fromCache: false, status: 'error', code, message };
  }

  close(): void {
    for (const channel of this.#channels) channel.close();
  }
}

interface AskState {
  name: string;
  type: RecordType;
  signal: AbortSignal | undefined;
  started: number;
  /** Index of the server the first attempt goes to. */
  first: number;
  attempt: number;
  edns: boolean;
  sawMismatch: boolean;
}

/** Worth asking again (the next server, or the same one later): not a definitive refusal of the name. */
function retryable(code: DnsErrorCode): boolean {
  return code === 'DNS_TIMEOUT' || code === 'DNS_SERVFAIL' || code === 'DNS_MALFORMED' || code === 'DNS_NETWORK' || code === 'DNS_REFUSED';
}
