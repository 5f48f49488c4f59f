/**
 * The PostgreSQL server the postgres tier (*.pg.test.ts) runs against: Debian's
 * cluster on 127.0.0.1. This file is that tier's vitest global setup, once for
 * the run: PostgreSQL is installed when missing (as the lab installs its packages:
 * apt-get, daemons kept from starting), its cluster started when down, and a test
 * role made when missing. The tests reach the server as that role with a password
 * over TCP, which works whatever pg_hba.conf says for 127.0.0.1: `trust` (the
 * development machines) or Debian's default `scram-sha-256` (a fresh install). The
 * role is made through the Unix socket as the `postgres` user (Debian's `peer`
 * auth): no pg_hba.conf is edited and no server reloaded.
 *
 * MAILSCOPE_TEST_POSTGRES_URL names another server instead (a role that may
 * CREATE DATABASE): then nothing is installed, started or made.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { installDebianPackages } from './debian.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A role that may CREATE DATABASE, connected to its maintenance database (`postgres`). */
    postgresUrl: string;
  }
}

export const postgresPackage = 'postgresql';
export const testRole = 'mailscope_test';
const testPassword = 'mailscope_test';

interface Cluster {
  version: string;
  name: string;
  port: number;
  online: boolean;
}

/** Debian's clusters (pg_lsclusters); none when postgresql-common is not installed. */
function clusters(): Cluster[] {
  const result = spawnSync('pg_lsclusters', ['--no-header'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) return [];
  return result.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [version = '', name = '', port = '', status = ''] = line.trim().split(/\s+/);
      return { version, name, port: Number(port), online: status.startsWith('online') };
    });
}

function urlFor(port: number): string {
  return `postgres://${testRole}:${testPassword}@127.0.0.1:${port}/postgres`;
}

/** Connects once: undefined when it works, else the server's error code (28P01: bad password, 28000: no such role) or message. */
async function tryConnect(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code ?? (error as Error).message;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Makes the test role, or gives it its password again, as the `postgres` superuser through the Unix socket. */
function makeRole(cluster: Cluster): void {
  const sql = `DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${testRole}') THEN CREATE ROLE ${testRole} LOGIN CREATEDB; END IF;
    ALTER ROLE ${testRole} LOGIN CREATEDB PASSWORD '${testPassword}';
  END $$;`;
  execFileSync('runuser', ['-u', 'postgres', '--', 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-p', String(cluster.port), '-d', 'postgres', '-c', sql], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Installs, starts and opens PostgreSQL as needed; returns the URL the tests
 * connect with. The cluster is the first pg_lsclusters lists (Debian's `main`)
 * unless `only` names one.
 */
export async function ensurePostgres(log: (line: string) => void, only?: { version: string; name: string }): Promise<string> {
  const root = process.getuid?.() === 0;
  const pick = () => clusters().find((cluster) => !only || (cluster.version === only.version && cluster.name === only.name));
  let cluster = pick();
  if (!cluster) {
    if (!root) throw new Error(`the postgres tests need PostgreSQL: install Debian's ${postgresPackage} (apt-get install ${postgresPackage}), or run npm test as root, which installs it`);
    // The package's postinst makes the cluster (`main`) but may not start it: policy-rc.d says no.
    installDebianPackages([postgresPackage], log);
    cluster = pick();
    if (!cluster) throw new Error(`${postgresPackage} is installed but pg_lsclusters lists no cluster: make one (pg_createcluster <version> main)`);
  }
  if (!cluster.online) {
    log(`starting PostgreSQL ${cluster.version}/${cluster.name}`);
    // No init system here: pg_ctlcluster itself, which waits until the server accepts connections.
    execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', cluster.version, cluster.name, 'start'], { stdio: 'inherit' });
  }
  const url = urlFor(cluster.port);
  const failure = await tryConnect(url);
  if (failure === undefined) return url;
  if (failure !== '28P01' && failure !== '28000') throw new Error(`cannot connect to PostgreSQL ${cluster.version}/${cluster.name} on 127.0.0.1:${cluster.port}: ${failure}`);
  if (!root) throw new Error(`the postgres tests connect as the role ${testRole} (password ${testPassword}, CREATEDB): make it, or run npm test as root, which makes it`);
  log(`making the PostgreSQL role ${testRole}`);
  makeRole(cluster);
  const again = await tryConnect(url);
  if (again !== undefined) throw new Error(`made the role ${testRole} but still cannot connect to 127.0.0.1:${cluster.port}: ${again}`);
  return url;
}

export default async function setup(project: TestProject): Promise<void> {
  const given = process.env.MAILSCOPE_TEST_POSTGRES_URL;
  const url = given || (await ensurePostgres((line) => process.stderr.write(`postgres tests: ${line}\n`)));
  project.provide('postgresUrl', url);
}
