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

const sinceOf = (db: Database) => listObservations(db, { measurement: 'blacklist', limit: 1 })[0]?.fields.listed_since;

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
    const lines = (db.statement("SELECT line FROM outbox WHERE line LIKE 'blacklist,%' ORDER BY id").all() as { line: string }[]).map((row) => row.line);
    expect(lines.at(-1)).toContain(`listed_since=${Date.parse('2026-11-23T10:05:00Z')}i`);
    db.close();
  });
});

describe('listed since over a run of many pairs (written in slices)', () => {
  it('keeps each of 300 series apart across runs: kept, ended, started, in the observations and the store', () => {
    const db = Database.open(tempDir());
    const targets = Array.from({ length: 300 }, (_, n) => `198.51.${Math.floor(n / 250)}.${n % 250}`);
    const at = (minute: number) => `2026-11-23T10:${String(minute).padStart(2, '0')}:00Z`;
    run(db, ...targets.map((target, n) => listing(n % 2 === 0, at(0), target)));
    // Every third flips: listed ones end, unlisted ones start; the others hold.
    const second = run(db, ...targets.map((target, n) => listing(n % 3 === 0 ? n % 2 !== 0 : n % 2 === 0, at(5), target)));
    const since = new Map(second.observations.filter((o) => o.measurement === 'blacklist').map((o) => [o.tags.target, o.fields.listed_since]));
    targets.forEach((target, n) => {
      const listedNow = n % 3 === 0 ? n % 2 !== 0 : n % 2 === 0;
      const listedBefore = n % 2 === 0;
      const expected = !listedNow ? undefined : listedBefore ? Date.parse(at(0)) : Date.parse(at(5));
      expect([target, since.get(target)]).toEqual([target, expected]);
    });
    const stored = Number((db.statement('SELECT count(*) AS n FROM series_state').get() as { n: number }).n);
    expect(stored).toBe(targets.filter((_, n) => (n % 3 === 0 ? n % 2 !== 0 : n % 2 === 0)).length);
    db.close();
  });

  it('takes a series seen twice in one run in order, as one observation at a time would', () => {
    const db = Database.open(tempDir());
    const recorded = run(db, listing(true, '2026-11-23T10:00:00Z'), listing(false, '2026-11-23T10:00:00Z'), listing(true, '2026-11-23T10:00:00Z'));
    expect(recorded.observations.filter((o) => o.measurement === 'blacklist').map((o) => o.fields.listed_since)).toEqual([
      Date.parse('2026-11-23T10:00:00Z'),
      undefined,
      Date.parse('2026-11-23T10:00:00Z'),
    ]);
    expect(Number((db.statement('SELECT count(*) AS n FROM series_state').get() as { n: number }).n)).toBe(1);
    db.close();
  });
});

function authCheck(record: string | undefined, time: string, check = 'tls_rpt'): Observation {
  const fields: Observation['fields'] = { status: record === undefined ? 'error' : 'pass', level: record === undefined ? 3 : 0, message: 'm', findings: '' };
  if (record !== undefined) {
    fields.record = record;
    fields.digest = `d-${record.length}-${record.at(-2) ?? ''}`;
  } else fields.error_code = 'DNS_TIMEOUT';
  return { measurement: 'dns_auth', tags: { domain: 'example.com', check }, fields, time: new Date(time) };
}

function authRun(db: Database, ...observations: Observation[]) {
  const time = observations[0]!.time;
  return record(db, { probeId: 'auth', kind: 'dns-auth', trigger: 'schedule', startedAt: time, finishedAt: time, durationMs: 1, success: true, observations });
}

const changes = (recorded: ReturnType<typeof authRun>) => recorded.observations.filter((o) => o.measurement === 'dns_auth_change');

describe('change detection: a record that differs from the last run’s', () => {
  it('is silent on the first sighting and on unchanged runs; a change yields exactly one observation with old and new', () => {
    const db = Database.open(tempDir());
    expect(changes(authRun(db, authCheck('v=1 a', '2026-11-23T10:00:00Z')))).toEqual([]);
    expect(changes(authRun(db, authCheck('v=1 a', '2026-11-23T10:05:00Z')))).toEqual([]);
    const changed = changes(authRun(db, authCheck('v=1 ab', '2026-11-23T10:10:00Z')));
    expect(changed).toEqual([
      {
        measurement: 'dns_auth_change',
        tags: { domain: 'example.com', check: 'tls_rpt', probe: 'auth' },
        fields: { old_record: 'v=1 a', new_record: 'v=1 ab', old_digest: 'd-5- ', new_digest: 'd-6-a' },
        time: new Date('2026-11-23T10:10:00Z'),
      },
    ]);
    expect(changes(authRun(db, authCheck('v=1 ab', '2026-11-23T10:15:00Z')))).toEqual([]);
    // Stored, not just returned: the change observation is in the store and the outbox.
    expect(listObservations(db, { measurement: 'dns_auth_change', limit: 10 })).toHaveLength(1);
    db.close();
  });

  it('an error (record unknown) is not a change, and does not forget the last record', () => {
    const db = Database.open(tempDir());
    authRun(db, authCheck('v=1 a', '2026-11-23T10:00:00Z'));
    expect(changes(authRun(db, authCheck(undefined, '2026-11-23T10:05:00Z')))).toEqual([]);
    expect(changes(authRun(db, authCheck('v=1 a', '2026-11-23T10:10:00Z')))).toEqual([]);
    expect(changes(authRun(db, authCheck('', '2026-11-23T10:15:00Z'))).map((o) => [o.fields.old_record, o.fields.new_record])).toEqual([['v=1 a', '']]);
    db.close();
  });

  it('keeps one record per series: a change in one check is not a change in another', () => {
    const db = Database.open(tempDir());
    authRun(db, authCheck('v=1 a', '2026-11-23T10:00:00Z', 'tls_rpt'), authCheck('v=1 a', '2026-11-23T10:00:00Z', 'bimi'));
    const recorded = authRun(db, authCheck('v=1 ab', '2026-11-23T10:05:00Z', 'tls_rpt'), authCheck('v=1 a', '2026-11-23T10:05:00Z', 'bimi'));
    expect(changes(recorded).map((o) => o.tags.check)).toEqual(['tls_rpt']);
    db.close();
  });
});
