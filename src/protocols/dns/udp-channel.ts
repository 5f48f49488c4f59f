import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { IdAllocator } from './id-allocator.ts';
import { answersQuestion, decodeResponse, encodeQuery, type Response } from './message.ts';
import { RateLimiter } from './rate-limiter.ts';
import { RttEstimator } from './rtt-estimator.ts';
import type { DnsServer, RecordType } from './types.ts';

/** What one attempt over UDP came to. */
export type AttemptResult = { kind: 'response'; response: Response } | { kind: 'timeout'; mismatched: boolean } | { kind: 'malformed' } | { kind: 'network'; message: string } | { kind: 'aborted' };

interface Pending {
  id: number;
  /** Lower-case, as answers are compared. */
  name: string;
  type: RecordType;
  message: Buffer;
  sentAt: number;
  /** The attempt's end: the configured timeout after the first send. */
  deadline: number;
  /** When to send the same query again if nothing came (0: never). */
  resendAt: number;
  resends: number;
  mismatched: boolean;
  malformed: boolean;
  resolve(result: AttemptResult): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

interface Waiting {
  name: string;
  type: RecordType;
  edns: boolean;
  signal: AbortSignal | undefined;
  resolve(result: AttemptResult): void;
}

export interface ChannelOptions {
  timeoutMs: number;
  /** Queries in flight at once on this socket; more wait their turn. */
  maxInFlight: number;
  /** Queries per second to this server; 0 = no limit. */
  rateLimit: number;
  /** Bytes; large enough for a burst of answers (the kernel caps it at net.core.rmem_max). */
  receiveBuffer: number;
  /** Send an unanswered query again (same id) before its deadline, after the estimated round trip. */
  resend: boolean;
}

/** Never resend sooner than this, whatever the round trips look like. */
const minResendMs = 50;

/**
 * One UDP socket to one server: many queries in flight, each with an id unique
 * among those in flight, answers matched by id AND question (an answer with our id
 * but another question is ignored and remembered), from the server's own address
 * only. A datagram lost on the way is sent again after the estimated round trip
 * (then twice that, and so on) rather than waiting out the whole timeout; the
 * attempt still ends at its deadline. One timer serves every deadline and resend.
 */
export class UdpChannel {
  readonly #server: DnsServer;
  readonly #options: ChannelOptions;
  readonly #ids = new IdAllocator();
  readonly #pending = new Map<number, Pending>();
  readonly #limiter: RateLimiter;
  readonly #queue: Waiting[] = [];
  readonly #rtt: RttEstimator;
  #queueHead = 0;
  #timerAt = Number.POSITIVE_INFINITY;
  #socket: Socket | undefined;
  #connected = false;
  #timer: NodeJS.Timeout | undefined;
  #pumpTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Answers that matched nothing in flight (late, spoofed or duplicated). */
  stray = 0;

  constructor(server: DnsServer, options: ChannelOptions) {
    this.#server = server;
    this.#options = options;
    this.#limiter = new RateLimiter(options.rateLimit);
    this.#rtt = new RttEstimator({ minMs: minResendMs, maxMs: Math.max(minResendMs, options.timeoutMs / 2) });
  }

  /** Queries sent again because nothing came back in time. */
  resent = 0;

  get inFlight(): number {
    return this.#pending.size;
  }

  /** One attempt: send the query; `resolve` gets its answer, or what became of it at its deadline. */
  attempt(name: string, type: RecordType, edns: boolean, signal: AbortSignal | undefined, resolve: (result: AttemptResult) => void): void {
    if (this.#closed) {
      resolve({ kind: 'network', message: 'the DNS client is closed' });
      return;
    }
    if (signal?.aborted) {
      resolve({ kind: 'aborted' });
      return;
    }
    this.#queue.push({ name, type, edns, signal, resolve });
    this.#pump();
  }

  #socketFor(): Socket {
    if (this.#socket) return this.#socket;
    const socket = createSocket({ type: isIPv6(this.#server.host) ? 'udp6' : 'udp4' });
    socket.on('message', (message, remote) => this.#receive(message, remote.address, remote.port));
    // Sends carry no callback (a synchronous send would still schedule one per packet):
    // errors come here. On a connected socket, a refused port (ICMP) shows up as one.
    socket.on('error', (error) => {
      for (const pending of [...this.#pending.values()]) this.#settle(pending, { kind: 'network', message: error.message });
    });
    // Connected: no address lookup per send, and the kernel delivers only the server's packets.
    // The implicit bind picks a random source port.
    socket.connect(this.#server.port, this.#server.host, () => {
      try {
        socket.setRecvBufferSize(this.#options.receiveBuffer);
      } catch {
        // Not allowed to grow it: the default buffer still works, bursts may drop.
      }
      this.#connected = true;
      this.#pump();
    });
    socket.unref();
    this.#socket = socket;
    return socket;
  }

  #pump(): void {
    // Sending waits for the socket's connect (its callback calls #pump again).
    this.#socketFor();
    if (!this.#connected) return;
    while (this.#queueHead < this.#queue.length && this.#pending.size < this.#options.maxInFlight) {
      const wait = this.#limiter.take();
      if (wait > 0) {
        this.#pumpTimer ??= setTimeout(() => {
          this.#pumpTimer = undefined;
          this.#pump();
        }, wait);
        return;
      }
      const next = this.#queue[this.#queueHead]!;
      this.#queue[this.#queueHead++] = undefined as unknown as Waiting;
      if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
        this.#queue.splice(0, this.#queueHead);
        this.#queueHead = 0;
      }
      if (next.signal?.aborted) {
        next.resolve({ kind: 'aborted' });
        continue;
      }
      this.#send(next);
    }
  }

  #send(waiting: Waiting): void {
    const id = this.#ids.take();
    if (id === undefined) {
      waiting.resolve({ kind: 'network', message: 'no free query id' });
      return;
    }
    const now = performance.now();
    const message = encodeQuery(id, waiting.name, waiting.type, waiting.edns);
    const pending: Pending = {
      id,
      name: waiting.name,
      type: waiting.type,
      message,
      sentAt: now,
      deadline: now + this.#options.timeoutMs,
      resendAt: this.#options.resend ? now + this.#rtt.timeoutMs : 0,
      resends: 0,
      mismatched: false,
      malformed: false,
      resolve: waiting.resolve,
      signal: waiting.signal,
      onAbort: undefined,
    };
    if (waiting.signal) {
      pending.onAbort = () => this.#settle(pending, { kind: 'aborted' });
      waiting.signal.addEventListener('abort', pending.onAbort, { once: true });
    }
    this.#pending.set(id, pending);
    this.#socketFor().send(message);
    this.#wakeAt(pending.resendAt || pending.deadline);
  }

  /** The one timer: fires at the earliest deadline or resend. */
  #wakeAt(at: number): void {
    if (at >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#tick(), Math.max(1, at - performance.now()));
  }

  #settle(pending: Pending, result: AttemptResult): void {
    if (this.#pending.get(pending.id) !== pending) return;
    this.#pending.delete(pending.id);
    this.#ids.release(pending.id);
    if (pending.onAbort) pending.signal?.removeEventListener('abort', pending.onAbort);
    pending.resolve(result);
    this.#pump();
  }

  #tick(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const pending of [...this.#pending.values()]) {
      if (pending.deadline <= now) {
        this.#settle(pending, pending.malformed ? { kind: 'malformed' } : { kind: 'timeout', mismatched: pending.mismatched });
        continue;
      }
      if (pending.resendAt && pending.resendAt <= now) {
        this.#socket?.send(pending.message);
        this.resent++;
        pending.resends++;
        pending.resendAt = now + this.#rtt.timeoutMs * 2 ** pending.resends;
        if (pending.resendAt >= pending.deadline) pending.resendAt = 0;
      }
      next = Math.min(next, pending.deadline, pending.resendAt || Number.POSITIVE_INFINITY);
    }
    if (next !== Number.POSITIVE_INFINITY) this.#wakeAt(next);
  }

  #receive(message: Buffer, address: string, port: number): void {
    // Only the server we asked may answer (a different source is someone guessing ids).
    if (port !== this.#server.port || !sameAddress(address, this.#server.host) || message.length < 12) {
      this.stray++;
      return;
    }
    const pending = this.#pending.get(message.readUInt16BE(0));
    if (!pending) {
      this.stray++;
      return;
    }
    const response = decodeResponse(message);
    if (!response) {
      // Keep waiting: a good answer may still come; at the deadline this is DNS_MALFORMED.
      pending.malformed = true;
      return;
    }
    if (!answersQuestion(response, pending.name, pending.type)) {
      pending.mismatched = true;
      return;
    }
    if (pending.resends === 0) this.#rtt.sample(performance.now() - pending.sentAt);
    this.#settle(pending, { kind: 'response', response });
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timerAt = Number.POSITIVE_INFINITY;
    clearTimeout(this.#pumpTimer);
    for (const pending of [...this.#pending.values()]) this.#settle(pending, { kind: 'aborted' });
    for (let i = this.#queueHead; i < this.#queue.length; i++) this.#queue[i]?.resolve({ kind: 'aborted' });
    this.#queue.length = 0;
    this.#queueHead = 0;
    this.#socket?.close();
    this.#socket = undefined;
    this.#connected = false;
  }
}

function sameAddress(a: string, b: string): boolean {
  return a === b || a === `::ffff:${b}` || b === `::ffff:${a}`;
}
