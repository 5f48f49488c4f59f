import { describe, expect, it, onTestFinished } from 'vitest';
import { storeQueries } from '../../src/queries/index.ts';
import { Database } from '../../src/store/database.ts';

function openQueries() {
  const db = Database.open(':memory:');
  onTestFinished(() => db.close());
  return storeQueries(db);
}

describe('storeQueries: the store as the API reads it, bound to one database', () => {
  it('answers reads with the database already given', () => {
    const queries = openQueries();
    expect(queries.ping()).toBe(true);
    expect(queries.runs.list({ limit: 10 })).toEqual([]);
    expect(queries.runs.get(1)).toBeUndefined();
    expect(queries.controls.list({ limit: 10 })).toEqual([]);
    expect(queries.notifications.list({ status: 'pending', limit: 10 })).toEqual([]);
    expect(queries.outbox.quarantine(10)).toEqual([]);
  });

  it('makes a silence, finds it, and ends it once', () => {
    const queries = openQueries();
    const silence = queries.silences.create({ matchers: { rule: 'ip-listed' }, startsAt: 1_000, endsAt: 9_000, comment: 'delisting asked', createdBy: 'ops', createdAt: 1_000 });
    expect(queries.silences.list({ activeAt: 2_000 }).map((one) => one.id)).toEqual([silence.id]);
    expect(queries.silences.end(silence.id, 'ops', 3_000)).toBe(true);
    expect(queries.silences.end(silence.id, 'ops', 3_000)).toBe(false);
    expect(queries.silences.get(silence.id)).toMatchObject({ deletedBy: 'ops', deletedAt: 3_000 });
    expect(queries.silences.list({ activeAt: 4_000 })).toEqual([]);
  });
});
