import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { MailscopeError } from '../core/errors.ts';
import { type Dialect, dialects, type Engine, type EngineKind, type Row, type Statement } from './engine.ts';
import { migrations as allMigrations, type Migration } from './migrations.ts';
import { PostgresEngine, type PostgresOptions } from './postgres.ts';
import { postgresMigrations } from './postgres-migrations.ts';

export const databaseFileName = 'mailscope.db';

function userVersion(db: DatabaseSync): number {
  return Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
}

/** Bring the schema to the newest version; each step is its own transaction. */
export function migrate(db: DatabaseSync, migrations: readonly Migration[] = allMigrations): { from: number; to: number } {
  const from = userVersion(db);
  const newest = migrations.at(-1)?.version ?? 0;
  if (from > newest) {
    throw new MailscopeError(
      'STORE_TOO_NEW',
      `the data directory was written by a newer Mailscope (schema version ${from}; this one knows up to ${newest}): upgrade Mailscope, or point dataDir elsewhere`,
      { details: { version: from, known: newest } },
    );
  }
  for (const migration of migrations) {
    if (migration.version <= from) continue;
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(migration.sql);
      db.exec(`PRAGMA user_version = ${migration.version}`);
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw new MailscopeError('STORE_MIGRATION_FAILED', `migration ${migration.version} (${migration.name}) failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  return { from, to: Math.max(from, newest) };
}

/** Bring a PostgreSQL schema to the newest version: one transaction, under a lock, so instances starting at once migrate once. */
export function migratePostgres(engine: PostgresEngine, migrations: readonly Migration[] = postgresMigrations): { from: number; to: number } {
  const newest = migrations.at(-1)?.version ?? 0;
  engine.execNative('BEGIN');
  try {
    engine.execNative(`SELECT pg_advisory_xact_lock(hashtext('mailscope.schema'))`);
    engine.execNative('CREATE TABLE IF NOT EXISTS mailscope_schema (version INTEGER NOT NULL)');
    const from = Number(engine.prepare('SELECT max(version) AS version FROM mailscope_schema').get()?.version ?? 0);
    if (from > newest) {
      throw new MailscopeError('STORE_TOO_NEW', `the database at ${engine.location} was written by a newer Mailscope (schema version ${from}; this one knows up to ${newest}): upgrade Mailscope`, {
        details: { version: from, known: newest },
      });
    }
    for (const migration of migrations) {
      if (migration.version <= from) continue;
      try {
        engine.execNative(migration.sql);
      } catch (error) {
        throw new MailscopeError('STORE_MIGRATION_FAILED', `migration ${migration.version} (${migration.name}) failed: ${(error as Error).message}`, { cause: error });
      }
    }
    if (newest > from) {
      engine.execNative('DELETE FROM mailscope_schema');
      engine.prepare('INSERT INTO mailscope_schema (version) VALUES (?)').run(newest);
    }
    engine.execNative('COMMIT');
    return { from, to: Math.max(from, newest) };
  } catch (error) {
    try {
      engine.execNative('ROLLBACK');
    } catch {
      // The connection is gone: the server rolled back.
    }
    throw error;
  }
}

class SqliteEngine implements Engine {
  readonly kind = 'sqlite' as const;
  readonly begin = 'BEGIN IMMEDIATE';
  readonly db: DatabaseSync;
  readonly location: string;

  constructor(db: DatabaseSync, location: string) {
    this.db = db;
    this.location = location;
  }

  prepare(sql: string): Statement {
    const statement = this.db.prepare(sql);
    return {
      run: (...parameters) => ({ changes: Number(statement.run(...parameters).changes) }),
      get: (...parameters) => statement.get(...parameters) as Row | undefined,
      all: (...parameters) => statement.all(...parameters) as Row[],
    };
  }

  exec(sql: string): void {
    this.db.exec(sql);
  }

  close(): void {
    try {
      this.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    } finally {
      this.db.close();
    }
  }
}

/** Where the store lives: a data dir (SQLite, the default), or a PostgreSQL database several instances share. */
export type StoreLocation = { kind: 'sqlite'; dataDir: string } | ({ kind: 'postgres' } & PostgresOptions);

/**
 * The store, on one of two engines (engine.ts): SQLite, one file in WAL mode in the
 * data dir; or PostgreSQL, shared by several instances. Both are synchronous, so a
 * transaction runs start to commit without another task in between.
 */
export class Database {
  readonly engine: Engine;
  readonly kind: EngineKind;
  readonly dialect: Dialect;
  /** The file, or the database's URL without its password. */
  readonly path: string;
  readonly migrated: { from: number; to: number };
  readonly #statements = new Map<string, Statement>();
  #open = true;

  private constructor(engine: Engine, migrated: { from: number; to: number }) {
    this.engine = engine;
    this.kind = engine.kind;
    this.dialect = dialects[engine.kind];
    this.path = engine.location;
    this.migrated = migrated;
  }

  /** The SQLite store in `dataDir` (`:memory:` for one that lives as long as the process). */
  static open(dataDir: string, options: { migrations?: readonly Migration[] } = {}): Database {
    const path = dataDir === ':memory:' ? ':memory:' : join(dataDir, databaseFileName);
    let db: DatabaseSync;
    try {
      if (dataDir !== ':memory:') mkdirSync(dataDir, { recursive: true });
      db = new DatabaseSync(path);
    } catch (error) {
      throw new MailscopeError('STORE_UNAVAILABLE', `cannot open the store at ${path}: ${(error as Error).message}`, { cause: error });
    }
    try {
      db.exec('PRAGMA journal_mode = WAL');
      // WAL + NORMAL survives a killed process (SIGKILL); only a power loss may drop the last commits.
      db.exec('PRAGMA synchronous = NORMAL');
      db.exec('PRAGMA foreign_keys = ON');
      db.exec('PRAGMA busy_timeout = 5000');
      return new Database(new SqliteEngine(db, path), migrate(db, options.migrations ?? allMigrations));
    } catch (error) {
      db.close();
      if (error instanceof MailscopeError) throw error;
      throw new MailscopeError('STORE_UNAVAILABLE', `cannot use the store at ${path}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** The store in a PostgreSQL database, migrated to the newest schema. */
  static connect(options: PostgresOptions & { migrations?: readonly Migration[] }): Database {
    const engine = new PostgresEngine(options);
    try {
      return new Database(engine, migratePostgres(engine, options.migrations));
    } catch (error) {
      engine.close();
      if (error instanceof MailscopeError) throw error;
      throw new MailscopeError('STORE_UNAVAILABLE', `cannot use the store at ${engine.location}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** The store where the configuration says. */
  static at(location: StoreLocation): Database {
    return location.kind === 'sqlite' ? Database.open(location.dataDir) : Database.connect(location);
  }

  /** The SQLite database itself, for what only SQLite has (PRAGMA, EXPLAIN QUERY PLAN): tests and tools. */
  get sqlite(): DatabaseSync {
    if (!(this.engine instanceof SqliteEngine)) throw new Error(`the store is on ${this.kind}, not SQLite`);
    return this.engine.db;
  }

  /** True when the store answers a query now (for readiness). */
  ping(): boolean {
    if (!this.#open) return false;
    try {
      this.statement('SELECT 1 AS one').get();
      return true;
    } catch {
      return false;
    }
  }

  /** A prepared statement, compiled once per SQL text. */
  statement(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.engine.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Inside a transaction: fn's writes, or none of them, while the transaction goes on either way. */
  savepoint<T>(fn: () => T): T {
    this.engine.exec('SAVEPOINT part');
    try {
      const result = fn();
      this.engine.exec('RELEASE SAVEPOINT part');
      return result;
    } catch (error) {
      this.engine.exec('ROLLBACK TO SAVEPOINT part');
      this.engine.exec('RELEASE SAVEPOINT part');
      throw error;
    }
  }

  /** Run fn in one transaction: all of its writes, or none. */
  transaction<T>(fn: () => T): T {
    this.engine.exec(this.engine.begin);
    try {
      const result = fn();
      this.engine.exec('COMMIT');
      return result;
    } catch (error) {
      try {
        this.engine.exec('ROLLBACK');
      } catch {
        // The connection is gone: the database rolled back; the first error says why.
      }
      throw error;
    }
  }

  /**
   * Changes when another process committed to the store since the last look (SQLite's
   * data_version). On PostgreSQL it counts every commit to the controls, their pushes
   * and held mail (a trigger, which also NOTIFYs \`mailscope_controls\`), this
   * process's own included: a reader then reads again once more than it must.
   */
  dataVersion(): number {
    if (this.engine instanceof SqliteEngine) return Number((this.statement('PRAGMA data_version').get() as { data_version: number }).data_version);
    return Number(this.statement('SELECT version FROM store_version').get()?.version ?? 0);
  }

  get schemaVersion(): number {
    if (this.engine instanceof SqliteEngine) return userVersion(this.engine.db);
    return Number(this.statement('SELECT max(version) AS version FROM mailscope_schema').get()?.version ?? 0);
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#statements.clear();
    this.engine.close();
  }
}
