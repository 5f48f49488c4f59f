/**
 * The store on PostgreSQL, synchronous like node:sqlite: the connection lives in a
 * worker thread (postgres-worker.ts) and each statement is posted to it while this
 * thread waits on a shared word (Atomics.wait) for the answer.
 *
 * Why synchronous: every part of Mailscope that writes (the recorder, the alert
 * engine, the control service, the traffic flusher, the report service) was built
 * on transactions that run from BEGIN to COMMIT with no other task of the process
 * in between. Keeping that on PostgreSQL keeps one store contract and one set of
 * store code for both engines. The price: while a statement is out, the process's
 * event loop waits (a loopback round trip is a fraction of a millisecond), and a
 * database that stops answering holds it until the statement timeout — which is
 * why that timeout is short (`store.statementTimeout`, 5 s by default) and the
 * policy answers that must never wait are served from memory.
 *
 * Write transactions take one advisory lock (see `begin`): one at a time in the cluster, as
 * SQLite has one writer at a time.
 *
 * The SQL is the store's own (SQLite's, written to be portable): `?` parameters
 * become `$1…`, `BEGIN IMMEDIATE` becomes `BEGIN`, `INSERT OR IGNORE` becomes
 * `INSERT … ON CONFLICT DO NOTHING`. What differs beyond that is in engine.ts's dialects.
 */
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { MailscopeError } from '../core/errors.ts';
import type { Engine, Row, SqlValue, Statement } from './engine.ts';
import type { WorkerReply, WorkerRequest, WorkerSettings } from './postgres-worker.ts';

export interface PostgresOptions {
  url: string;
  /** How long one statement may take before it fails (and the worker is replaced when it does not answer at all). */
  statementTimeoutMs?: number;
  connectTimeoutMs?: number;
  applicationName?: string;
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.href;
  } catch {
    return 'postgres (an unparseable URL)';
  }
}

/** The store's SQL, PostgreSQL's way: `?` → `$n` outside quotes, and the few SQLite-only phrases. */
export function translate(sql: string): string {
  let out = '';
  let n = 0;
  let quote: string | undefined;
  for (const char of sql) {
    if (quote) {
      if (char === quote) quote = undefined;
      out += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      out += char;
    } else if (char === '?') {
      n += 1;
      out += `$${n}`;
    } else out += char;
  }
  out = out.replace(/^\s*BEGIN\s+IMMEDIATE\b/i, 'BEGIN');
  if (/^\s*INSERT\s+OR\s+IGNORE\s+INTO\b/i.test(out)) {
    out = out.replace(/^\s*INSERT\s+OR\s+IGNORE\s+INTO\b/i, 'INSERT INTO');
    const returning = /\sRETURNING\s/i.exec(out);
    out = returning ? `${out.slice(0, returning.index)} ON CONFLICT DO NOTHING${out.slice(returning.index)}` : `${out} ON CONFLICT DO NOTHING`;
  }
  if (/\bINSERT\s+OR\s+\w+/i.test(out) || /\bPRAGMA\b/i.test(out)) throw new Error(`the store's SQL has a phrase PostgreSQL does not know: ${sql.slice(0, 120)}`);
  return out;
}

export class PostgresEngine implements Engine {
  readonly kind = 'postgres' as const;
  /**
   * One write transaction at a time in the whole cluster, as SQLite has one writer at a time
   * (BEGIN IMMEDIATE): each takes the store's advisory lock first, held until it ends. The
   * store's read-then-write steps (an alert's next state, a report recorded once) then see
   * what the transaction before them committed, on every instance, as on SQLite.
   */
  readonly begin = `BEGIN; SELECT pg_advisory_xact_lock(hashtext('mailscope.store'))`;
  readonly location: string;
  readonly #options: Required<PostgresOptions>;
  #worker: Worker | undefined;
  #port: MessagePort | undefined;
  #signal: Int32Array | undefined;
  readonly #translated = new Map<string, string>();
  #closed = false;

  constructor(options: PostgresOptions) {
    this.#options = { statementTimeoutMs: 5_000, connectTimeoutMs: 5_000, applicationName: 'mailscope', ...options };
    this.location = redactUrl(options.url);
  }

  #start(): void {
    const { port1, port2 } = new MessageChannel();
    const signal = new Int32Array(new SharedArrayBuffer(8));
    const settings: WorkerSettings = {
      url: this.#options.url,
      signal,
      port: port2,
      connectTimeoutMs: this.#options.connectTimeoutMs,
      statementTimeoutMs: this.#options.statementTimeoutMs,
      applicationName: this.#options.applicationName,
    };
    const worker = new Worker(new URL('./postgres-worker.ts', import.meta.url), { workerData: settings, transferList: [port2] });
    // The worker must not keep a finished process alive, nor end it with an error nobody hears.
    worker.unref();
    worker.on('error', () => {});
    this.#worker = worker;
    this.#port = port1;
    this.#signal = signal;
  }

  #call(request: WorkerRequest): Extract<WorkerReply, { ok: true }> {
    if (this.#closed) throw new Error('database is not open');
    if (!this.#worker) this.#start();
    const port = this.#port as MessagePort;
    const signal = this.#signal as Int32Array;
    // The database could not be connected to a moment ago: fail now rather than wait out another attempt
    // (the worker keeps trying). A ROLLBACK still goes: the worker answers it at once.
    if (Atomics.load(signal, 1) === 1 && !(request.op === 'exec' && /^\s*ROLLBACK\s*$/i.test(request.sql))) {
      throw new MailscopeError('STORE_UNAVAILABLE', `PostgreSQL at ${this.location} cannot be reached; trying again in the background`);
    }
    Atomics.store(signal, 0, 0);
    port.postMessage(request);
    // The worker answers within its own timeouts (connect, then the statement); past both, it is stuck: replace it.
    const limit = this.#options.connectTimeoutMs + this.#options.statementTimeoutMs + 5_000;
    if (Atomics.wait(signal, 0, 0, limit) === 'timed-out') {
      this.#stop();
      throw new MailscopeError('STORE_UNAVAILABLE', `PostgreSQL at ${this.location} did not answer within ${limit} ms`);
    }
    const reply = receiveMessageOnPort(port)?.message as WorkerReply | undefined;
    if (!reply) {
      this.#stop();
      throw new MailscopeError('STORE_UNAVAILABLE', `the PostgreSQL connection of the store at ${this.location} went away`);
    }
    if (!reply.ok) {
      if (reply.connection) throw new MailscopeError('STORE_UNAVAILABLE', `PostgreSQL at ${this.location}: ${reply.message}`, { details: { code: reply.code } });
      throw Object.assign(new Error(reply.message), { code: reply.code });
    }
    return reply;
  }

  #stop(): void {
    this.#worker?.terminate();
    this.#port?.close();
    this.#worker = undefined;
    this.#port = undefined;
    this.#signal = undefined;
  }

  #sql(sql: string): string {
    let text = this.#translated.get(sql);
    if (text === undefined) {
      text = translate(sql);
      this.#translated.set(sql, text);
    }
    return text;
  }

  prepare(sql: string): Statement {
    const text = this.#sql(sql);
    const query = (parameters: SqlValue[]) => this.#call({ op: 'query', sql: text, params: parameters });
    return {
      run: (...parameters) => ({ changes: query(parameters).rowCount }),
      get: (...parameters) => query(parameters).rows[0] as Row | undefined,
      all: (...parameters) => query(parameters).rows as Row[],
    };
  }

  exec(sql: string): void {
    this.#call({ op: 'exec', sql: this.#sql(sql) });
  }

  /** Plain SQL, not translated (migrations written for PostgreSQL). */
  execNative(sql: string): void {
    this.#call({ op: 'exec', sql });
  }

  close(): void {
    if (this.#closed) return;
    if (this.#worker) {
      try {
        this.#call({ op: 'close' });
      } catch {
        // Closing anyway.
      }
    }
    this.#closed = true;
    this.#stop();
  }
}
