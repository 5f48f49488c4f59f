import { describe, expect, it } from 'vitest';
import type { Observation } from '../../src/core/observation.ts';
import { Database } from '../../src/store/database.ts';
import { record } from '../../src/store/record.ts';
import { listObservations } from '../../src/store/runs.ts';
import { tempDir } from '../helpers/temp.ts';

function listing(listed: boolean | undefined, time: string, target = '203.0.113.9'): Observation {
  const fields: Observation['fields'] = { status: listed === undefined ? 'error' : listed ? 'listed' : 'not_listed', query_ms: 1 };
  if (listed !== undefined) fields.listed = listed;
  if (listed === undefined) fields.error_code = 'DNS_TIMEOUT';
  return { measurement: 'blacklist', tags: { target, target_kind: 'ip', list: 'spamcop' }, fields, time: new Date(time) };
}

function run(db: Database, ...observations: Observation[]) {
  const time = observations[0]!.time;
  return record(db, { probeId: 'bl', kind: 'blacklist', trigger: 'schedule', startedAt: time, finishedAt: time, durationMs: 1, success: true, observations });
}

const sinceOf = (db: Database) =>
  listObservations(db, { measurement: 'blacklist', limit: 1 })[0]?.fields.listed_since;

describe('listed since: a listing’s first sighting, kept across runs', () => {
  it('starts at the first listed run, holds through listed runs and errors, ends when not listed', () => {
    const db = Database.open(tempDir());
    run(db, listing(true, '2026-11-23T10:00:00Z'));
    const first = Date.parse('2026-11-23T10:00:00Z');
    expect(sinceOf(db)).toBe(first);
    run(db, listing(true, '2026-11-23T10:05:00Z'));
    expect(sinceOf(db)).toBe(first);
    // An error says nothing about the listing: it neither ends it nor shows it.
    run(db, listing(undefined, '2026-11-23T10:10:00Z'));
    expect(sinceOf(db)).toBeUndefined();
    run(db, listing(true, '2026-11-23T10:15:00Z'));
    expect(sinceOf(db)).toBe(first);
    run(db, listing(false, '2026-11-23T10:20:00Z'));
    expect(sinceOf(db)).toBeUndefined();
    run(db, listing(true, '2026-11-23T10:25:00Z'));
    expect(sinceOf(db)).toBe(Date.parse('2026-11-23T10:25:00Z'));
    db.close();
  });

  it('keeps one state per series: another target has its own', () => {
    const db = Database.open(tempDir());
    run(db, listing(true, '2026-11-23T10:00:00Z', '203.0.113.9'));
    const recorded = run(db, listing(true, '2026-11-23T10:05:00Z', '203.0.113.9'), listing(true, '2026-11-23T10:05:00Z', '203.0.113.10'));
    expect(recorded.observations.filter((o) => o.measurement === 'blacklist').map((o) => [o.tags.target, o.fields.listed_since])).toEqual([
      ['203.0.113.9', Date.parse('2026-11-23T10:00:00Z')],
      ['203.0.113.10', Date.parse('2026-11-23T10:05:00Z')],
    ]);
    const lines = (db.db.prepare("SELECT line FROM outbox WHERE line LIKE 'blacklist,%' ORDER BY id").all() as { line: string }[]).map((row) => row.line);
    expect(lines.at(-1)).toContain(`listed_since=${Date.parse('2026-11-23T10:05:00Z')}i`);
    db.close();
  });
});
