import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { freshDatabase, postgresServer } from './postgres.ts';

async function databaseExists(name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: postgresServer().href });
  await client.connect();
  try {
    return (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
  } finally {
    await client.end();
  }
}

describe('the postgres tier’s helpers', () => {
  let previous: string | undefined;

  it('give each test a database of its own, as a role that is no superuser', async () => {
    const one = await freshDatabase();
    const two = await freshDatabase();
    expect(one.name).not.toBe(two.name);
    const { rows } = await one.pool().query('SELECT current_database() AS db, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser');
    expect(rows).toEqual([{ db: one.name, superuser: false }]);
    expect(await databaseExists(two.name)).toBe(true);
    previous = one.name;
  });

  it('drop it when the test finishes, its connections cut', () => expect(databaseExists(previous!)).resolves.toBe(false));

  it('cut one instance off through its proxy, refused or stalled, while the others go on', async () => {
    const db = await freshDatabase();
    const direct = db.pool();
    const { pool, proxy } = await db.proxiedPool({ connectionTimeoutMillis: 1_000 });
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);

    proxy.stall();
    const stalled = pool.query({ text: 'SELECT 2 AS two', query_timeout: 500 } as pg.QueryConfig);
    await expect(stalled).rejects.toThrow(/timeout/i);
    expect((await direct.query('SELECT 3 AS three')).rows).toEqual([{ three: 3 }]);

    await proxy.down();
    await expect(pool.query('SELECT 4')).rejects.toThrow();
    expect((await direct.query('SELECT 5 AS five')).rows).toEqual([{ five: 5 }]);
  });
});
