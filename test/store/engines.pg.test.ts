/**
 * The store on PostgreSQL, where it differs from SQLite: the schema (the same tables
 * and columns), migrating (once, however many instances start at once; refusing a
 * newer schema), and a database that goes away (an error with a reason; a
 * transaction cut in the middle leaves nothing; the password never in a message).
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Database } from '../../src/store/database.ts';
import { latestVersion } from '../../src/store/migrations.ts';
import { clusterTables } from '../../src/store/postgres-migrations.ts';
import { freshDatabase, postgresServer } from '../helpers/postgres.ts';
import { tcpProxyThread } from '../helpers/tcp-proxy.ts';
import { tempDir } from '../helpers/temp.ts';

const run = promisify(execFile);

/** Columns by table, with the type each engine's affinity comes to: integer, real, text or blob. */
function sqliteColumns(): Map<string, string> {
  const db = Database.open(':memory:');
  const columns = new Map<string, string>();
  for (const { name } of db.statement("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]) {
    for (const column of db.sqlite.prepare(`PRAGMA table_info(${name})`).all() as { name: string; type: string }[]) {
      columns.set(`${name}.${column.name}`, column.type.toLowerCase());
    }
  }
  db.close();
  return columns;
}

const postgresType: Record<string, string> = { bigint: 'integer', 'double precision': 'real', text: 'text', bytea: 'blob' };

describe('the store on PostgreSQL', () => {
  it('has the tables and columns of the SQLite schema, in their PostgreSQL types, and the cluster’s own', async () => {
    const database = await freshDatabase();
    const db = Database.connect({ url: database.url });
    expect(db.migrated).toEqual({ from: 0, to: latestVersion });
    expect(db.schemaVersion).toBe(latestVersion);
    const rows = db.statement("SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position").all() as {
      table_name: string;
      column_name: string;
      data_type: string;
    }[];
    const cluster = new Set<string>(clusterTables);
    const onPostgres = new Map(
      rows.filter((row) => !cluster.has(row.table_name) && row.column_name !== 'rowid').map((row) => [`${row.table_name}.${row.column_name}`, postgresType[row.data_type] ?? row.data_type]),
    );
    expect(Object.fromEntries(onPostgres)).toEqual(Object.fromEntries(sqliteColumns()));
    expect([...new Set(rows.map((row) => row.table_name))].filter((table) => cluster.has(table)).sort()).toEqual([...clusterTables].sort());
    db.close();
  });

  it('migrates once when three instances start at once, and a second start changes nothing', async () => {
    const database = await freshDatabase();
    const script = join(tempDir(), 'connect.ts');
    writeFileSync(
      script,
      `import { Database } from ${JSON.stringify(new URL('../../src/store/database.ts', import.meta.url).pathname)};
       const db = Database.connect({ url: process.argv[2] }); console.log(JSON.stringify(db.migrated)); db.close();`,
    );
    const started = await Promise.all([1, 2, 3].map(() => run(process.execPath, [script, database.url])));
    const migrated = started.map((result) => JSON.parse(result.stdout) as { from: number; to: number });
    expect(migrated.filter((step) => step.from === 0)).toHaveLength(1);
    expect(migrated.filter((step) => step.from === latestVersion)).toHaveLength(2);
    const again = Database.connect({ url: database.url });
    expect(again.migrated).toEqual({ from: latestVersion, to: latestVersion });
    again.close();
  });

  it('refuses a database written by a newer Mailscope, and leaves it as it was', async () => {
    const database = await freshDatabase();
    Database.connect({ url: database.url }).close();
    const pool = database.pool();
    await pool.query('UPDATE mailscope_schema SET version = 999');
    expect(() => Database.connect({ url: database.url })).toThrow(expect.objectContaining({ code: 'STORE_TOO_NEW', message: expect.stringMatching(/schema version 999; this one knows up to \d+/) }));
    expect((await pool.query('SELECT version FROM mailscope_schema')).rows).toEqual([{ version: 999 }]);
  });

  it('runs one write transaction at a time across instances, as SQLite has one writer: the second waits for the first', async () => {
    const database = await freshDatabase();
    const db = Database.connect({ url: database.url });
    // Another instance's write transaction, in another process, holding the store's lock for a second.
    const other = execFile('psql', [
      database.url,
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      "BEGIN; SELECT pg_advisory_xact_lock(hashtext('mailscope.store')); SELECT pg_sleep(1); INSERT INTO outbox (line, created_at) VALUES ('first f=1', 1); COMMIT;",
    ]);
    const finished = new Promise<number | null>((resolve) => other.on('exit', resolve));
    // Until that session holds the lock.
    const pool = database.pool();
    for (let held = false; !held; ) {
      const { rows } = await pool.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
      );
      held = Number(rows[0]!.n) > 0;
    }
    const started = performance.now();
    db.transaction(() => {
      db.statement('INSERT INTO outbox (line, created_at) VALUES (?, ?)').run('second f=1', 2);
    });
    expect(performance.now() - started).toBeGreaterThan(500);
    expect(await finished).toBe(0);
    expect((db.statement('SELECT line FROM outbox ORDER BY id').all() as { line: string }[]).map((row) => row.line)).toEqual(['first f=1', 'second f=1']);
    db.close();
  });

  it('says why it cannot reach the database, without the password', async () => {
    const url = new URL(postgresServer().href);
    url.password = 'do-not-show-me';
    url.port = '1';
    const error = (() => {
      try {
        Database.connect({ url: url.href, connectTimeoutMs: 1_000 });
      } catch (thrown) {
        return thrown as Error & { code: string };
      }
    })();
    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringMatching(/ECONNREFUSED/) });
    expect(`${error?.message} ${JSON.stringify(error)}`).not.toContain('do-not-show-me');
    expect(error?.message).toContain(':***@');
  });

  it('keeps nothing of a transaction whose connection was cut, refuses its other statements, and goes on after the rollback', async () => {
    const database = await freshDatabase();
    const db = Database.connect({ url: database.url });
    const insert = db.statement('INSERT INTO outbox (line, created_at) VALUES (?, ?)');
    insert.run('first f=1', 1);
    const backend = () => Number(db.statement('SELECT pg_backend_pid() AS pid').get()?.pid);
    const before = backend();
    let after: unknown;
    expect(() =>
      db.transaction(() => {
        insert.run('second f=1', 2);
        // The server ends this connection in the middle of the transaction.
        try {
          db.statement('SELECT pg_terminate_backend(pg_backend_pid())').get();
        } catch (error) {
          after = error;
        }
        insert.run('third f=1', 3);
      }),
    ).toThrow(expect.objectContaining({ code: 'STORE_UNAVAILABLE', message: expect.stringMatching(/lost inside this transaction/) }));
    expect(after).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    // A new connection, and only what was committed before.
    expect(backend()).not.toBe(before);
    expect((db.statement('SELECT line FROM outbox ORDER BY id').all() as { line: string }[]).map((row) => row.line)).toEqual(['first f=1']);
    db.close();
  });

  it('fails a statement the database does not answer within the statement timeout, then at once while it cannot connect, and answers again once it can', async () => {
    const database = await freshDatabase();
    const server = postgresServer();
    const proxy = await tcpProxyThread({ host: server.hostname, port: Number(server.port) });
    const url = new URL(database.url);
    url.port = String(proxy.port);
    const db = Database.connect({ url: url.href, statementTimeoutMs: 500, connectTimeoutMs: 1_000 });
    await proxy.stall();
    const count = db.statement('SELECT count(*) AS n FROM outbox');
    const timed = () => {
      const started = performance.now();
      expect(() => count.get()).toThrow(expect.objectContaining({ code: 'STORE_UNAVAILABLE' }));
      return performance.now() - started;
    };
    // The statement: its timeout. Then a new connection: its timeout. Then the database is down: at once.
    const statement = timed();
    expect(statement).toBeGreaterThan(400);
    expect(statement).toBeLessThan(10_000);
    const connecting = timed();
    expect(connecting).toBeGreaterThan(900);
    expect(connecting).toBeLessThan(10_000);
    const down = [timed(), timed(), timed()];
    expect(Math.max(...down)).toBeLessThan(50);
    // Once the database answers again, the worker's next attempt (every half second) brings it back.
    await proxy.flow();
    const back = performance.now();
    for (;;) {
      try {
        expect(count.get()).toEqual({ n: 0 });
        break;
      } catch (error) {
        expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE' });
        expect(performance.now() - back).toBeLessThan(5_000);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    db.close();
  });
});
