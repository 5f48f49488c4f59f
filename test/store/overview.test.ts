/**
 * The overview's reads (store/overview.ts): the newest sweep of each probe (a
 * failed run after it does not hide it), a week of placement, the newest record
 * change per domain, DMARC per domain over a window, reports per kind — and each
 * through an index, never a scan of observations, runs or DMARC rows.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Observation } from '../../src/core/observation.ts';
import { Database } from '../../src/store/database.ts';
import { dmarcByDomain, lastRecordChanges, latestSweeps, placementTrend, reportCounts } from '../../src/store/overview.ts';
import { record } from '../../src/store/record.ts';
import { insertDmarcRows, insertReport } from '../../src/store/reports.ts';

function open() {
  const db = Database.open(':memory:');
  onTestFinished(() => db.close());
  return db;
}

function run(db: Database, probeId: string, kind: string, at: number, observations: Observation[], success = true) {
  const time = new Date(at);
  return record(db, {
    probeId,
    kind,
    trigger: 'schedule',
    startedAt: time,
    finishedAt: time,
    durationMs: 1,
    success,
    ...(success ? {} : { error: { code: 'PROBE_TIMEOUT', message: 'too long' } }),
    observations,
  });
}

const listing = (target: string, listed: boolean, at: number): Observation => ({
  measurement: 'blacklist',
  tags: { target, target_kind: 'ip', list: 'spamcop' },
  fields: { status: listed ? 'listed' : 'not_listed', listed, query_ms: 1 },
  time: new Date(at),
});

const spf = (domain: string, value: string, at: number): Observation => ({
  measurement: 'dns_auth',
  tags: { domain, check: 'spf' },
  fields: { status: 'pass', level: 0, message: 'ok', findings: '', record: value, digest: `digest-of-${value}` },
  time: new Date(at),
});

/**
 * The steps of a statement's plan. On PostgreSQL with sequential scans priced out, so a
 * "Seq Scan" left in the plan is one no index could avoid (small tables are read whole otherwise).
 */
function queryPlan(db: Database, sql: string, parameters: number[]): string[] {
  if (db.kind === 'sqlite') return (db.sqlite.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...parameters) as { detail: string }[]).map((step) => step.detail);
  return db.transaction(() => {
    db.engine.exec('SET LOCAL enable_seqscan = off');
    return (db.statement(`EXPLAIN ${sql}`).all(...parameters) as { 'QUERY PLAN': string }[]).map((step) => step['QUERY PLAN'].trim());
  });
}

describe('the overview reads', () => {
  it('finds the newest run with observations of each probe, past a failed run', () => {
    const db = open();
    run(db, 'bl', 'blacklist', 1_000, [listing('203.0.113.5', true, 1_000)]);
    const newest = run(db, 'bl', 'blacklist', 2_000, [listing('203.0.113.5', true, 2_000), listing('203.0.113.6', false, 2_000)]);
    run(db, 'bl', 'blacklist', 3_000, [], false);
    const [sweep, ...others] = latestSweeps(db, ['bl', 'never-ran']);
    expect(others).toEqual([]);
    expect(sweep!.run.id).toBe(newest.runId);
    const listed = sweep!.observations.filter((o) => o.measurement === 'blacklist');
    expect(listed.map((o) => [o.tags.target, o.fields.listed_since])).toEqual([
      ['203.0.113.5', 1_000],
      ['203.0.113.6', undefined],
    ]);
  });

  it('reads placement since a time, the newest record change per domain, DMARC over a window and the reports per kind', () => {
    const db = open();
    for (const [at, rate] of [
      [1_000, 1],
      [5_000, 0.5],
    ] as const) {
      run(db, 'seeds', 'placement', at, [
        {
          measurement: 'placement_provider',
          tags: { provider: 'gmail' },
          fields: { seeds: 2, inbox: rate * 2, spam: 0, category: 0, missing: 0, rejected: 0, errors: 0, inbox_rate: rate },
          time: new Date(at),
        },
      ]);
    }
    expect(placementTrend(db, 2_000)).toEqual([{ probe: 'seeds', time: 0, provider: 'gmail', inboxRate: 0.5 }]);

    run(db, 'auth', 'dns-auth', 1_000, [spf('a.example', 'v=spf1 -all', 1_000), spf('b.example', 'v=spf1 -all', 1_000)]);
    run(db, 'auth', 'dns-auth', 2_000, [spf('a.example', 'v=spf1 ~all', 2_000), spf('b.example', 'v=spf1 -all', 2_000)]);
    run(db, 'auth', 'dns-auth', 3_000, [spf('a.example', 'v=spf1 ?all', 3_000), spf('b.example', 'v=spf1 -all', 3_000)]);
    const changes = lastRecordChanges(db);
    expect([...changes.keys()]).toEqual(['a.example']);
    expect(changes.get('a.example')).toMatchObject({ time: 3_000, oldRecord: 'v=spf1 ~all', newRecord: 'v=spf1 ?all', tags: { check: 'spf' } });

    const report = (domain: string, endAt: number, key: string) =>
      insertReport(db, { kind: 'dmarc-aggregate', dedupeKey: key, source: 's', org: 'r', reportId: key, domain, beginAt: endAt - 10, endAt, receivedAt: endAt, messages: 0, summary: {} });
    const row = { dkim: [], spf: [], overrides: [], headerFrom: 'x', disposition: 'none' };
    const old = report('a.example', 500, 'old');
    insertDmarcRows(db, { id: old, domain: 'a.example', reporter: 'r', endAt: 500 }, [{ ...row, sourceIp: '192.0.2.1', source: 'x', count: 1000, dkimAligned: false, spfAligned: false }]);
    const recent = report('a.example', 5_000, 'recent');
    insertDmarcRows(db, { id: recent, domain: 'a.example', reporter: 'r', endAt: 5_000 }, [
      { ...row, sourceIp: '192.0.2.1', source: 'ours', count: 90, dkimAligned: true, spfAligned: false },
      { ...row, sourceIp: '198.51.100.1', source: 'spoofer', count: 10, dkimAligned: false, spfAligned: false },
    ]);
    expect(dmarcByDomain(db, { since: 1_000, until: 10_000 })).toEqual([{ domain: 'a.example', messages: 100, aligned: 90, unalignedSources: 1, reports: 1 }]);
    insertReport(db, { kind: 'arf', dedupeKey: 'c1', source: 's', org: 'r', reportId: 'c1', domain: 'a.example', beginAt: 6_000, endAt: 6_000, receivedAt: 6_000, messages: 1, summary: {} });
    expect(reportCounts(db, 1_000)).toEqual({ 'dmarc-aggregate': 1, arf: 1 });
  });

  it('reads through indexes: no query scans observations, runs, DMARC rows or reports', () => {
    const db = open();
    const statements: string[] = [];
    const prepare = db.statement.bind(db);
    db.statement = (sql: string) => {
      statements.push(sql);
      return prepare(sql);
    };
    latestSweeps(db, ['bl']);
    run(db, 'bl', 'blacklist', 1_000, [listing('203.0.113.5', true, 1_000)]);
    latestSweeps(db, ['bl']);
    placementTrend(db, 0);
    lastRecordChanges(db);
    dmarcByDomain(db, { since: 0, until: 1 });
    reportCounts(db, 0);
    const reads = [...new Set(statements)].filter((sql) => /^\s*SELECT/i.test(sql));
    expect(reads.length).toBeGreaterThanOrEqual(7);
    for (const sql of reads) {
      const parameters = sql.split('?').length - 1;
      const plan = queryPlan(db, sql, Array(parameters).fill(1));
      expect(
        plan.filter((step) => /^SCAN (observations|probe_runs|dmarc_rows|reports)\b|Seq Scan on (observations|probe_runs|dmarc_rows|reports)\b/.test(step)),
        `${sql}\n${plan.join('\n')}`,
      ).toEqual([]);
    }
  });
});
