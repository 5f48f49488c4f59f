/**
 * PostgreSQL for the postgres tier (*.pg.test.ts): the server its global setup
 * ensured (helpers/postgres-server.ts), a fresh database per test, dropped when
 * the test finishes, and pools to it — directly, or through a proxy the test can
 * take down or stall to cut one instance off from the database.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject, onTestFinished } from 'vitest';
import { type TcpProxy, tcpProxy } from './tcp-proxy.ts';

export interface TestDatabase {
  name: string;
  /** A connection string to this database, straight to the server. */
  url: string;
  /** A pool to this database, ended when the test finishes. */
  pool(config?: pg.PoolConfig): pg.Pool;
  /** A pool to this database through a proxy of its own: one instance the test can cut off. */
  proxiedPool(config?: pg.PoolConfig): Promise<{ pool: pg.Pool; proxy: TcpProxy }>;
}

/** The server's address, as the tier's global setup provided it. */
export function postgresServer(): URL {
  return new URL(inject('postgresUrl'));
}

async function asAdmin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: postgresServer().href });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** A database of its own for the running test, named at random; dropped (its connections cut) when the test finishes. */
export async function freshDatabase(): Promise<TestDatabase> {
  const name = `mailscope_test_${randomBytes(6).toString('hex')}`;
  await asAdmin((client) => client.query(`CREATE DATABASE ${name}`));
  // Registered first, so it runs after the pools' and proxies' own clean-up.
  onTestFinished(async () => {
    await asAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  });
  const server = postgresServer();
  const urlOf = (host: string, port: string) => {
    const url = new URL(server.href);
    url.hostname = host;
    url.port = port;
    url.pathname = `/${name}`;
    return url.href;
  };
  const pool = (config: pg.PoolConfig = {}, url = urlOf(server.hostname, server.port)) => {
    const created = new pg.Pool({ connectionString: url, connectionTimeoutMillis: 5_000, ...config });
    // An idle client whose connection is cut emits 'error' on the pool: unheard, it would end the worker.
    created.on('error', () => {});
    onTestFinished(async () => {
      // A test may have ended it itself (an instance that died).
      if (!created.ending) await created.end();
    });
    return created;
  };
  return {
    name,
    url: urlOf(server.hostname, server.port),
    pool,
    async proxiedPool(config = {}) {
      const proxy = await tcpProxy({ host: server.hostname, port: Number(server.port) });
      const proxied = pool(config, urlOf('127.0.0.1', String(proxy.port)));
      // Down before the pool ends (onTestFinished runs last registered first): a pool cannot say goodbye through a stalled proxy.
      onTestFinished(proxy.down);
      return { pool: proxied, proxy };
    },
  };
}
