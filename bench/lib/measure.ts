/**
 * What the benchmarks share: a seeded random source, medians and percentiles, the
 * record of wrong answers, a server in a child process of the bench's own script,
 * and a checked HTTP load. Not a benchmark itself (bench/run.ts lists the .ts files
 * of bench/, not of bench/lib/).
 */
import { type ChildProcess, type ForkOptions, fork } from 'node:child_process';
import autocannon from 'autocannon';

/** mulberry32: the same sequence for the same seed, every run. */
export function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export function percentiles(latencies: readonly number[]): { p50: number; p99: number; max: number } {
  const sorted = Float64Array.from(latencies).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? NaN };
}

/** Wrong answers a bench saw: counted, the first ten kept to show; any fails the bench. */
export class Mismatches {
  readonly shown: string[] = [];
  count = 0;
  /** Answers checked, right or wrong. */
  checked = 0;

  add(what: string): void {
    this.count++;
    if (this.shown.length < 10) this.shown.push(what);
  }
}

/**
 * A server in a child process running the bench's own script (`fork(script, args)`): it
 * says `{ type: 'ready', … }` once, then answers each message sent with one reply, in order,
 * and exits on `{ type: 'stop' }`.
 */
export class ServerChild<To extends { type: string }, From extends { type: string }> {
  readonly process: ChildProcess;
  readonly ready: Promise<Extract<From, { type: 'ready' }>>;
  readonly #replies: ((message: From) => void)[] = [];
  readonly #exited: Promise<void>;

  constructor(what: string, script: string, args: readonly string[], options: ForkOptions = {}) {
    this.process = fork(script, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], ...options });
    this.#exited = new Promise((done) => this.process.once('exit', () => done()));
    this.ready = new Promise((done, fail) => {
      this.process.once('exit', (code) => fail(new Error(`the ${what} exited (${code}) before it was ready`)));
      this.process.on('message', (message: From) => {
        if (message.type === 'ready') done(message as Extract<From, { type: 'ready' }>);
        else this.#replies.shift()?.(message);
      });
    });
  }

  /** Sends a message; its reply is the one of the same type. */
  ask<T extends To['type'] & From['type']>(message: To & { type: T }): Promise<Extract<From, { type: T }>>;
  /** Sends a message whose reply is of another type, or unused. */
  ask(message: To): Promise<From>;
  ask(message: To): Promise<From> {
    return new Promise((done) => {
      this.#replies.push(done as (message: From) => void);
      this.process.send(message);
    });
  }

  async stop(): Promise<void> {
    if (this.process.exitCode === null) this.process.send({ type: 'stop' });
    await this.#exited;
  }
}

/**
 * GET requests for `seconds` over `connections` keep-alive connections: question q goes to
 * `pathOf(q)` (called once per request: it may make every URL new) and must be answered 200
 * with exactly `expectedBody(q)`; anything else is a mismatch. Questions are taken from
 * `sequence` in turn.
 */
export async function checkedGets(options: {
  port: number;
  seconds: number;
  connections: number;
  token: string;
  sequence: readonly number[];
  pathOf: (q: number) => string;
  expectedBody: (q: number) => string;
  mismatches: Mismatches;
  /** Put before each mismatch's text (which server). */
  label?: string;
}): Promise<{ answers: number; latencies: number[]; duration: number; errors: number; timeouts: number }> {
  const { sequence, pathOf, expectedBody, mismatches } = options;
  const label = options.label ? `${options.label} ` : '';
  let next = 0;
  let answers = 0;
  const latencies: number[] = [];
  const result = await autocannon({
    url: `http://127.0.0.1:${options.port}`,
    connections: options.connections,
    duration: options.seconds,
    headers: { authorization: `Bearer ${options.token}` },
    requests: [
      {
        method: 'GET',
        setupRequest: (request, context) => {
          const q = sequence[next++ % sequence.length]!;
          const path = pathOf(q);
          Object.assign(context, { q, path, sent: performance.now() });
          return { ...request, path };
        },
        onResponse: (status, body, context) => {
          const { q, path, sent } = context as { q: number; path: string; sent: number };
          latencies.push(performance.now() - sent);
          answers++;
          if (status !== 200) mismatches.add(`${label}GET ${path}: HTTP ${status} ${body.slice(0, 200)}`);
          else if (body !== expectedBody(q)) mismatches.add(`${label}GET ${path}: unexpected body ${body.slice(0, 200)}`);
        },
      },
    ],
  });
  mismatches.checked += answers;
  return { answers, latencies, duration: result.duration, errors: result.errors, timeouts: result.timeouts };
}
