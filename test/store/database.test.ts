import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { Database, databaseFileName } from '../../src/store/database.ts';
import { latestVersion, migrations } from '../../src/store/migrations.ts';
import { postgresMigrations } from '../../src/store/postgres-migrations.ts';
import { tempDir } from '../helpers/temp.ts';

function tables(db: Database): string[] {
  return (db.sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((row) => row.name);
}

describe('store: open and migrate', () => {
  it('creates a fresh data dir at the newest schema, in WAL mode', () => {
    const dir = join(tempDir(), 'nested', 'data');
    const db = Database.open(dir);
    expect(db.migrated).toEqual({ from: 0, to: latestVersion });
    expect(db.schemaVersion).toBe(latestVersion);
    expect((db.sqlite.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode).toBe('wal');
    expect((db.sqlite.prepare('PRAGMA foreign_keys').get() as { foreign_keys: number }).foreign_keys).toBe(1);
    expect(tables(db)).toEqual([
      'alerts',
      'audit_log',
      'console_sessions',
      'control_alerts',
      'control_pushes',
      'controls',
      'dmarc_rows',
      'held_messages',
      'ip_names',
      'notifications',
      'observations',
      'outbox',
      'outbox_quarantine',
      'probe_runs',
      'report_quarantine',
      'reports',
      'series_digest',
      'series_state',
      'silences',
      'source_checkpoints',
      'traffic_minutes',
      'traffic_reasons',
    ]);
    db.close();
  });

  it('migrates a data dir written by the previous version and keeps its rows', () => {
    const dir = tempDir();
    const old = Database.open(dir, { migrations: migrations.slice(0, -1) });
    expect(old.schemaVersion).toBe(latestVersion - 1);
    old.sqlite
      .prepare(
        `INSERT INTO probe_runs (probe_id, kind, trigger, started_at, finished_at, duration_ms, success, observation_count)
         VALUES ('old-probe', 'tcp', 'schedule', 1000, 2000, 1000, 1, 0)`,
      )
      .run();
    old.sqlite.prepare("INSERT INTO outbox (line, created_at) VALUES ('m f=1 1000', 2000)").run();
    old.close();

    const db = Database.open(dir);
    expect(db.migrated).toEqual({ from: latestVersion - 1, to: latestVersion });
    expect(db.sqlite.prepare('SELECT probe_id FROM probe_runs').all()).toEqual([{ probe_id: 'old-probe' }]);
    expect(db.sqlite.prepare('SELECT line FROM outbox').all()).toEqual([{ line: 'm f=1 1000' }]);
    expect(tables(db)).toContain('audit_log');
    db.close();

    const again = Database.open(dir);
    expect(again.migrated).toEqual({ from: latestVersion, to: latestVersion });
    again.close();
  });

  it('refuses a data dir from a newer version and changes nothing', () => {
    const dir = tempDir();
    const raw = new DatabaseSync(join(dir, databaseFileName));
    raw.exec('PRAGMA user_version = 99');
    raw.close();
    expect(() => Database.open(dir)).toThrow(
      expect.objectContaining({
        code: 'STORE_TOO_NEW',
        message: `the data directory was written by a newer Mailscope (schema version 99; this one knows up to ${latestVersion}): upgrade Mailscope, or point dataDir elsewhere`,
      }),
    );
    const after = new DatabaseSync(join(dir, databaseFileName));
    expect(after.prepare('PRAGMA user_version').get()).toEqual({ user_version: 99 });
    expect(after.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get()).toEqual({ n: 0 });
    after.close();
  });

  it('rolls a failing migration back whole and stays at the version before it', () => {
    const dir = tempDir();
    const broken = [...migrations, { version: latestVersion + 1, name: 'broken', sql: 'CREATE TABLE half_done (a); CREATE TABLE oops (' }];
    expect(() => Database.open(dir, { migrations: broken })).toThrow(
      expect.objectContaining({ code: 'STORE_MIGRATION_FAILED', message: expect.stringMatching(new RegExp(`^migration ${latestVersion + 1} \\(broken\\) failed: `)) }),
    );
    const db = Database.open(dir);
    expect(db.schemaVersion).toBe(latestVersion);
    expect(tables(db)).not.toContain('half_done');
    db.close();
  });

  it('reports a data dir it cannot create as STORE_UNAVAILABLE', () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, 'not a directory');
    expect(() => Database.open(join(file, 'data'))).toThrow(expect.objectContaining({ code: 'STORE_UNAVAILABLE' }));
  });

  it('rolls back a transaction that throws', () => {
    const db = Database.open(tempDir());
    expect(() =>
      db.transaction(() => {
        db.sqlite.prepare("INSERT INTO outbox (line, created_at) VALUES ('x f=1', 1)").run();
        throw new Error('midway');
      }),
    ).toThrow('midway');
    expect(db.sqlite.prepare('SELECT count(*) AS n FROM outbox').get()).toEqual({ n: 0 });
    db.close();
  });

  it('has a PostgreSQL twin of every migration after the PostgreSQL baseline (12), with the same version', () => {
    const baseline = postgresMigrations[0]!.version;
    expect(baseline).toBe(12);
    expect(postgresMigrations.map((migration) => migration.version)).toEqual([baseline, ...migrations.filter((migration) => migration.version > baseline).map((migration) => migration.version)]);
  });

  it('never edits an applied migration (checksums of every released migration)', () => {
    // A data dir that already ran migration N never runs it again: changing it would
    // leave old and new installations with different schemas. Add migration N+1 instead.
    const released: Record<number, string> = {
      1: '6e5193e3c3c73f8b',
      2: 'c71b005bc5f8dc46',
      3: '9aaaacb1fb0fdcbc',
      4: '42130bd85adf52cf',
      5: '9a76bf8c8a80d209',
      6: '20b38ec86dda598c',
      7: '01709a0fb97cf10f',
      8: '96c62efe1a484db1',
      9: '4f26b10644d16528',
      10: '532a5c8fe5f51d6c',
      11: '8fe04f88478b6eef',
      12: '112546fb61629884',
    };
    for (const migration of migrations) {
      const sum = createHash('sha256').update(migration.sql).digest('hex').slice(0, 16);
      expect({ version: migration.version, sum }).toEqual({ version: migration.version, sum: released[migration.version] });
    }
  });
});
