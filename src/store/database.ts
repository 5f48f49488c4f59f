import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { MailscopeError } from '../core/errors.ts';
import { migrations as allMigrations, type Migration } from './migrations.ts';

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

/**
 * The embedded store: one SQLite file in WAL mode. node:sqlite is synchronous,
 * so a transaction runs start to commit without another task in between.
 */
export class Database {
  readonly db: DatabaseSync;
  readonly path: string;
  readonly migrated: { from: number; to: number };
  readonly #statements = new Map<string, StatementSync>();
  #open = true;

  private constructor(db: DatabaseSync, path: string, migrations: readonly Migration[]) {
    this.db = db;
    this.path = path;
    db.exec('PRAGMA journal_mode = WAL');
    // WAL + NORMAL survives a killed process (SIGKILL); only a power loss may drop the last commits.
    db.exec('PRAGMA synchronous = NORMAL');
    db.exec('PRAGMA foreign_keys = ON');
    db.exec('PRAGMA busy_timeout = 5000');
    this.migrated = migrate(db, migrations);
  }

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
      return new Database(db, path, options.migrations ?? allMigrations);
    } catch (error) {
      db.close();
      if (error instanceof MailscopeError) throw error;
      throw new MailscopeError('STORE_UNAVAILABLE', `cannot use the store at ${path}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** True when the store answers a query now (for readiness). */
  ping(): boolean {
    if (!this.#open) return false;
    try {
      this.statement('SELECT 1').get();
      return true;
    } catch {
      return false;
    }
  }

  /** A prepared statement, compiled once per SQL text. */
  statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Inside a transaction: fn's writes, or none of them, while the transaction goes on either way. */
  savepoint<T>(fn: () => T): T {
    this.db.exec('SAVEPOINT part');
    try {
      const result = fn();
      this.db.exec('RELEASE part');
      return result;
    } catch (error) {
      this.db.exec('ROLLBACK TO part');
      this.db.exec('RELEASE part');
      throw error;
    }
  }

  /** Run fn in one transaction: all of its writes, or none. */
  transaction<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }

  get schemaVersion(): number {
    return userVersion(this.db);
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#statements.clear();
    try {
      this.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    } finally {
      this.db.close();
    }
  }
}
