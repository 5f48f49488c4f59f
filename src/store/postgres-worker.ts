/**
 * The PostgreSQL connection of one store, in a worker thread: the store's thread
 * posts a statement and waits on a shared word (Atomics.wait) until this thread
 * has the answer, so the store stays synchronous on PostgreSQL as on node:sqlite
 * (see postgres.ts). One connection, one statement at a time.
 *
 * A connection lost inside a transaction leaves the transaction broken: every
 * statement is refused until the store's ROLLBACK, so no statement of a failed
 * transaction runs on a new connection outside it.
 *
 * A database that cannot be connected to is marked down (the shared word's second
 * slot): the store's thread then fails each statement at once instead of waiting
 * out another connection attempt, while this thread tries again every half second
 * and marks it up when a connection answers.
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import pg from 'pg';

export interface WorkerSettings {
  url: string;
  /** [0]: set when a reply is posted; [1]: 1 while the database cannot be connected to. */
  signal: Int32Array;
  port: MessagePort;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  applicationName: string;
}

/** `query`: one statement with parameters, prepared once per connection (by name); `exec`: SQL text as it is, several statements allowed. */
export type WorkerRequest = { op: 'query'; sql: string; params: unknown[] } | { op: 'exec'; sql: string } | { op: 'close' };
export type WorkerReply = { ok: true; rows: Record<string, unknown>[]; rowCount: number } | { ok: false; message: string; code: string; connection: boolean };

const settings = workerData as WorkerSettings;

// Integers are BIGINT (times in milliseconds): numbers, as node:sqlite gives them. numeric (avg, sum) too.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (value) => Number(value));

let client: pg.Client | undefined;
let state: 'idle' | 'transaction' | 'broken' = 'idle';
const names = new Map<string, string>();

async function connected(): Promise<pg.Client> {
  if (client) return client;
  const created = new pg.Client({
    connectionString: settings.url,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    statement_timeout: settings.statementTimeoutMs,
    // A server that stops answering (a partition) fails the statement here, a little after the server would have.
    query_timeout: settings.statementTimeoutMs + 1_000,
    application_name: settings.applicationName,
  });
  created.on('error', () => lose(created));
  try {
    await created.connect();
  } catch (error) {
    created.end().catch(() => {});
    markDown();
    throw error;
  }
  client = created;
  return created;
}

const isDown = () => Atomics.load(settings.signal, 1) === 1;
let probing = false;

/** Down until a connection answers: tried again every half second, in this thread only. */
function markDown(): void {
  Atomics.store(settings.signal, 1, 1);
  if (probing) return;
  probing = true;
  void (async () => {
    while (isDown()) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      try {
        await (await connected()).query('SELECT 1');
        Atomics.store(settings.signal, 1, 0);
      } catch {
        // Still down.
      }
    }
    probing = false;
  })();
}

function lose(lost: pg.Client): void {
  if (client !== lost) return;
  client = undefined;
  lost.end().catch(() => {});
  if (state === 'transaction') state = 'broken';
}

const verb = (sql: string) => /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? '';

async function answer(request: WorkerRequest): Promise<WorkerReply> {
  if (request.op === 'close') {
    const closing = client;
    client = undefined;
    await closing?.end().catch(() => {});
    return { ok: true, rows: [], rowCount: 0 };
  }
  const first = verb(request.sql);
  const plainRollback = first === 'ROLLBACK' && !/^\s*ROLLBACK\s+TO\b/i.test(request.sql);
  if (isDown()) {
    // No connection, so no transaction left open on one: a ROLLBACK has nothing to do.
    if (plainRollback) {
      state = 'idle';
      return { ok: true, rows: [], rowCount: 0 };
    }
    return { ok: false, message: 'the database cannot be reached; trying again in the background', code: 'connection', connection: true };
  }
  if (state === 'broken') {
    if (plainRollback) {
      state = 'idle';
      return { ok: true, rows: [], rowCount: 0 };
    }
    return { ok: false, message: 'the connection to PostgreSQL was lost inside this transaction; it was rolled back', code: 'connection', connection: true };
  }
  let using: pg.Client | undefined;
  try {
    using = await connected();
    const result = request.op === 'exec' ? await using.query(request.sql) : await using.query({ name: nameOf(request.sql), text: request.sql, values: request.params });
    if (first === 'BEGIN') state = 'transaction';
    else if (first === 'COMMIT' || plainRollback) state = 'idle';
    // A multi-statement exec answers with one result per statement.
    const last = Array.isArray(result) ? result.at(-1) : result;
    return { ok: true, rows: last?.rows ?? [], rowCount: last?.rowCount ?? 0 };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    // SQLSTATE class 08 (connection exception), 57P0x (the server going away), or no SQLSTATE at all (the client's own timeout, a socket error).
    const connection = typeof code !== 'string' || code.startsWith('08') || code.startsWith('57P');
    if (connection && using) lose(using);
    else if (connection && state === 'transaction') state = 'broken';
    return { ok: false, message: (error as Error).message, code: typeof code === 'string' ? code : 'connection', connection };
  }
}

function nameOf(sql: string): string {
  let name = names.get(sql);
  if (!name) {
    name = `mailscope_${names.size + 1}`;
    names.set(sql, name);
  }
  return name;
}

settings.port.on('message', async (request: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    reply = await answer(request);
  } catch (error) {
    reply = { ok: false, message: (error as Error).message, code: 'internal', connection: false };
  }
  settings.port.postMessage(reply);
  Atomics.store(settings.signal, 0, 1);
  Atomics.notify(settings.signal, 0);
});
