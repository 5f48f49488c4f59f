/**
 * The store suites on PostgreSQL: the setup file of the `postgres-store` project
 * (vitest.config.ts), which runs the unit tier's store test files a second time
 * with every `Database.open` answered by a PostgreSQL database of its own (fresh
 * for `:memory:`, the same one again for a data dir opened twice), so the same
 * tests hold on both engines. The databases are dropped when the file finishes.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, inject } from 'vitest';
import { Database } from '../../src/store/database.ts';
import { PostgresEngine } from '../../src/store/postgres.ts';

const server = new URL(inject('postgresUrl'));
const admin = new PostgresEngine({ url: server.href, applicationName: 'mailscope-test-admin' });
const created: string[] = [];
const byDir = new Map<string, string>();

function urlOf(name: string): string {
  const url = new URL(server.href);
  url.pathname = `/${name}`;
  return url.href;
}

Database.open = (dataDir: string) => {
  let name = dataDir === ':memory:' ? undefined : byDir.get(dataDir);
  if (!name) {
    name = `mailscope_store_${randomBytes(6).toString('hex')}`;
    admin.exec(`CREATE DATABASE ${name}`);
    created.push(name);
    if (dataDir !== ':memory:') byDir.set(dataDir, name);
  }
  return Database.connect({ url: urlOf(name), applicationName: 'mailscope-test' });
};

afterAll(() => {
  for (const name of created) admin.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  admin.close();
});
