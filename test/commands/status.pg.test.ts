/**
 * `mailscope status` with the store on PostgreSQL: the cluster as the database
 * sees it — every instance (its id, whether it is alive, stopped or silent, where
 * its API answers, its last heartbeat, the leases it holds) and every lease (its
 * holder, its epoch, its expiry) — as a table or as JSON; from rows written the way
 * the cluster writes them, and from real Clusters (ha/cluster.ts) in this process.
 * The URL's password never shows.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Cluster } from '../../src/ha/cluster.ts';
import { Database } from '../../src/store/database.ts';
import { postgresMigrations } from '../../src/store/postgres-migrations.ts';
import { cli, type CliResult } from '../helpers/cli.ts';
import { captureLog } from '../helpers/log.ts';
import { freshDatabase, type TestDatabase } from '../helpers/postgres.ts';
import { tempDir } from '../helpers/temp.ts';

const schema = postgresMigrations.at(-1)!.version;

async function project() {
  const database = await freshDatabase();
  const dir = tempDir();
  writeFileSync(join(dir, 'mailscope.yaml'), 'store: { kind: postgres, url: "${DATABASE_URL}", heartbeat: 5s }\n');
  mkdirSync(join(dir, 'probes'));
  const status = async (...argv: string[]): Promise<CliResult> => {
    const result = await cli(['status', ...argv], { cwd: dir, env: { DATABASE_URL: database.url } });
    expectNoPassword(database, result);
    return result;
  };
  return { database, status };
}

/** The URL's password is nowhere in what the command printed: the location shows `***` in its place. */
function expectNoPassword(database: TestDatabase, result: CliResult): void {
  const url = new URL(database.url);
  expect(url.password).not.toBe('');
  const printed = `${result.stdout}${result.stderr}`;
  expect(printed).not.toContain(`:${url.password}@`);
  expect(printed).not.toContain(`:${decodeURIComponent(url.password)}@`);
  expect(printed).not.toContain(database.url);
}

/** Where the store is, as status shows it: the URL with `***` for its password. */
function shownLocation(database: TestDatabase): string {
  const url = new URL(database.url);
  url.password = '***';
  return url.href;
}

/** The table's rows below its header (the first line that starts with `header`), each split into its cells. */
function rowsOf(stdout: string, header: string): string[][] {
  const lines = stdout.split('\n');
  const start = lines.findIndex((line) => line.startsWith(header));
  expect(start).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 1)) {
    if (line === '') break;
    rows.push(line.split(/\s{2,}/));
  }
  return rows;
}

describe('mailscope status on PostgreSQL', () => {
  it('shows each instance (alive, silent, stopped; API, heartbeat, leases) and each lease (holder, epoch), as a table and as JSON', async () => {
    const { database, status } = await project();
    // The first run of a command migrates the database; no instance has joined yet.
    const empty = await status();
    expect(empty).toEqual({
      code: 0,
      stdout: `store: PostgreSQL at ${shownLocation(database)} (schema ${schema})\nno instance has joined the cluster yet (mailscope run)\n`,
      stderr: '',
    });

    const pool = database.pool();
    // As Cluster.start, its heartbeats, and Cluster.stop write them.
    await pool.query(
      `INSERT INTO instances (id, host, pid, version, api, started_at, heartbeat_at, stopped_at) VALUES
         ('mx1:101:a1a1a1', 'mx1', 101, '1.4.0', '10.0.0.1:8025', clock_timestamp() - interval '1 hour', clock_timestamp(), NULL),
         ('mx2:102:b2b2b2', 'mx2', 102, '1.4.0', '10.0.0.2:8025', clock_timestamp() - interval '1 hour', clock_timestamp() - interval '10 minutes', NULL),
         ('mx3:103:c3c3c3', 'mx3', 103, '1.3.9', '10.0.0.3:8025', clock_timestamp() - interval '2 hours', clock_timestamp() - interval '5 minutes', clock_timestamp() - interval '5 minutes')`,
    );
    // As LeaseManager.acquire writes a lease: the leader's, held by mx1 in its fourth tenure; another, last held by mx3, expired a minute ago.
    const { rows: leaseRows } = await pool.query<{ name: string; expires_at: Date }>(
      `INSERT INTO leases (name, holder, epoch, expires_at) VALUES
         ('leader', 'mx1:101:a1a1a1', 4, now() + interval '15 seconds'),
         ('reports', 'mx3:103:c3c3c3', 2, now() - interval '1 minute')
       RETURNING name, expires_at`,
    );
    const expiresAt = (name: string) => leaseRows.find((row) => row.name === name)!.expires_at.toISOString();
    const leaderExpires = expiresAt('leader');

    const text = await status();
    expect(text.code).toBe(0);
    expect(text.stderr).toBe('');
    expect(text.stdout.split('\n')[0]).toBe(`store: PostgreSQL at ${shownLocation(database)} (schema ${schema})`);
    expect(text.stdout).toMatch(/^INSTANCE\s+STATE\s+API\s+VERSION\s+HEARTBEAT\s+LEASES$/m);
    const instances = rowsOf(text.stdout, 'INSTANCE');
    expect(instances).toEqual([
      ['mx1:101:a1a1a1', 'alive', '10.0.0.1:8025', '1.4.0', expect.stringMatching(/^(now|\d+s ago)$/), 'leader'],
      ['mx2:102:b2b2b2', 'silent', '10.0.0.2:8025', '1.4.0', '10m ago', '-'],
      ['mx3:103:c3c3c3', 'stopped', '10.0.0.3:8025', '1.3.9', '5m ago', '-'],
    ]);
    expect(text.stdout).toMatch(/^LEASE\s+HOLDER\s+EPOCH\s+EXPIRES$/m);
    expect(rowsOf(text.stdout, 'LEASE')).toEqual([
      ['leader', 'mx1:101:a1a1a1', '4', leaderExpires],
      ['reports', '(free; last mx3:103:c3c3c3)', '2', '-'],
    ]);

    const json = await status('--json');
    expect(json.code).toBe(0);
    expect(json.stderr).toBe('');
    const document = JSON.parse(json.stdout) as { store: unknown; cluster: { instances: Record<string, unknown>[]; leases: Record<string, unknown>[] } };
    expect(document.store).toEqual({ kind: 'postgres', location: shownLocation(database), schema });
    expect(document.cluster.instances).toEqual([
      expect.objectContaining({ id: 'mx1:101:a1a1a1', host: 'mx1', pid: 101, version: '1.4.0', api: '10.0.0.1:8025', alive: true, leases: ['leader'] }),
      expect.objectContaining({ id: 'mx2:102:b2b2b2', api: '10.0.0.2:8025', alive: false, leases: [] }),
      expect.objectContaining({ id: 'mx3:103:c3c3c3', api: '10.0.0.3:8025', alive: false, leases: [], stoppedAt: expect.any(String) }),
    ]);
    expect(document.cluster.instances[0]).not.toHaveProperty('stoppedAt');
    expect(document.cluster.instances[1]).not.toHaveProperty('stoppedAt');
    expect(document.cluster.instances[0]!.heartbeatAgeMs).toBeLessThan(15_000);
    expect(document.cluster.instances[1]!.heartbeatAgeMs).toBeGreaterThanOrEqual(600_000);
    expect(Date.parse(String(document.cluster.instances[1]!.heartbeatAt))).toBeLessThan(Date.parse(String(document.cluster.instances[0]!.heartbeatAt)));
    expect(document.cluster.leases).toEqual([
      { name: 'leader', holder: 'mx1:101:a1a1a1', epoch: 4, expiresAt: leaderExpires, live: true },
      { name: 'reports', holder: 'mx3:103:c3c3c3', epoch: 2, expiresAt: expiresAt('reports'), live: false },
    ]);
  });

  it('shows the Clusters of this process as they join, lead, stop and hand the lease over', async () => {
    const { database, status } = await project();
    const store = Database.connect({ url: database.url });
    onTestFinished(() => store.close());
    const join = async (version: string, api: string) => {
      const cluster = new Cluster({ url: database.url, db: store, log: captureLog().log, version, leaseTtlMs: 15_000, heartbeatMs: 1_000, onControlsChanged: () => {} });
      onTestFinished(() => cluster.stop());
      await cluster.start(api);
      return cluster;
    };

    const first = await join('2.0.0', '127.0.0.1:8101');
    expect(first.active()).toBe(true);
    expect(first.epoch).toBe(1);
    const leading = await status();
    expect(rowsOf(leading.stdout, 'INSTANCE')).toEqual([[first.id, 'alive', '127.0.0.1:8101', '2.0.0', expect.stringMatching(/^(now|\d+s ago)$/), 'leader']]);
    expect(rowsOf(leading.stdout, 'LEASE')).toEqual([['leader', first.id, '1', expect.stringMatching(/^\d{4}-\d\d-\d\dT/)]]);

    // A second instance joins: alive, without the lease.
    const second = await join('2.0.0', '127.0.0.1:8102');
    expect(second.active()).toBe(false);
    const both = JSON.parse((await status('--json')).stdout) as { cluster: { instances: { id: string; alive: boolean; leases: string[] }[]; leases: unknown[] } };
    expect(both.cluster.instances.map(({ id, alive, leases }) => ({ id, alive, leases }))).toEqual(
      expect.arrayContaining([
        { id: first.id, alive: true, leases: ['leader'] },
        { id: second.id, alive: true, leases: [] },
      ]),
    );
    expect(both.cluster.instances).toHaveLength(2);
    expect(both.cluster.leases).toEqual([{ name: 'leader', holder: first.id, epoch: 1, expiresAt: expect.any(String), live: true }]);

    // The leader stops: it says so and releases the lease, which the other takes at its next heartbeat, in a new epoch.
    await first.stop();
    await expect.poll(() => second.active(), { timeout: 5_000 }).toBe(true);
    expect(second.epoch).toBe(2);
    const handedOver = await status();
    expect(rowsOf(handedOver.stdout, 'INSTANCE')).toEqual([
      [second.id, 'alive', '127.0.0.1:8102', '2.0.0', expect.stringMatching(/^(now|\d+s ago)$/), 'leader'],
      [first.id, 'stopped', '127.0.0.1:8101', '2.0.0', expect.stringMatching(/^(now|\d+s ago)$/), '-'],
    ]);
    expect(rowsOf(handedOver.stdout, 'LEASE')).toEqual([['leader', second.id, '2', expect.stringMatching(/^\d{4}-\d\d-\d\dT/)]]);
  });
});
