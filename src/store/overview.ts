/**
 * What the console's overview reads: the latest sweep of each probe, a week of
 * placement per provider, the last DNS record change per domain, a week of DMARC
 * results per domain and the reports received. Each query goes through an index
 * to the rows it shows: none reads the observations of older runs (the page is
 * asked on every change, with 30 days of runs every 5 minutes in the store).
 */
import type { Database } from './database.ts';
import { getRun, observationsOfRun, type StoredObservation, type StoredRun } from './runs.ts';

export interface LatestSweep {
  run: StoredRun;
  observations: StoredObservation[];
}

/**
 * The newest run of each probe that recorded observations (a run that failed as a
 * whole has none: the sweep before it still says what is known), with its
 * observations. Through probe_runs_by_probe, newest first, then observations_by_run.
 */
export function latestSweeps(db: Database, probeIds: readonly string[]): LatestSweep[] {
  const newest = db.statement('SELECT id FROM probe_runs WHERE probe_id = ? AND observation_count > 0 ORDER BY started_at DESC, id DESC LIMIT 1');
  const sweeps: LatestSweep[] = [];
  for (const probeId of probeIds) {
    const row = newest.get(probeId) as { id: number } | undefined;
    const run = row ? getRun(db, Number(row.id)) : undefined;
    if (run) sweeps.push({ run, observations: observationsOfRun(db, run.id) });
  }
  return sweeps;
}

export interface PlacementPoint {
  probe: string;
  /** ms since the epoch */
  time: number;
  provider: string;
  /** Absent when no seed of the provider had a known outcome that run. */
  inboxRate?: number;
}

/** Inbox rate per provider and run since `since`, oldest first: placement_provider rows only, through observations_by_measurement. */
export function placementTrend(db: Database, since: number): PlacementPoint[] {
  // Hourly: a week of runs every 5 minutes is 2,000 points per provider, more than a chart of its width shows.
  const rows = db
    .statement(
      `SELECT probe_id, (time / 3600000) * 3600000 AS hour, ${db.dialect.jsonText('tags', 'provider')} AS provider, avg(${db.dialect.jsonNumber('fields', 'inbox_rate')}) AS inbox_rate
       FROM observations WHERE measurement = 'placement_provider' AND time >= ? GROUP BY probe_id, hour, provider ORDER BY hour`,
    )
    .all(since) as { probe_id: string; hour: number; provider: string | null; inbox_rate: number | null }[];
  return rows.map((row) => ({
    probe: row.probe_id,
    time: Number(row.hour),
    provider: String(row.provider ?? ''),
    ...(typeof row.inbox_rate === 'number' ? { inboxRate: row.inbox_rate } : {}),
  }));
}

export interface RecordChange {
  probe: string;
  time: number;
  tags: Record<string, string>;
  oldRecord: string;
  newRecord: string;
}

/**
 * The newest DNS authentication record change of each domain: dns_auth_change rows
 * only (one per changed record, not per run), through observations_by_measurement.
 */
export function lastRecordChanges(db: Database): Map<string, RecordChange> {
  const rows = db
    .statement(
      // The newest row of each domain (row_number, not SQLite's bare columns beside max(): PostgreSQL has none).
      `SELECT domain, time, probe_id, tags, fields FROM (
         SELECT ${db.dialect.jsonText('tags', 'domain')} AS domain, time, probe_id, tags, fields,
                row_number() OVER (PARTITION BY ${db.dialect.jsonText('tags', 'domain')} ORDER BY time DESC, id DESC) AS n
         FROM observations WHERE measurement = 'dns_auth_change') AS newest WHERE n = 1`,
    )
    .all() as { domain: string | null; time: number; probe_id: string; tags: string; fields: string }[];
  const changes = new Map<string, RecordChange>();
  for (const row of rows) {
    if (row.domain === null) continue;
    const fields = JSON.parse(row.fields) as Record<string, unknown>;
    changes.set(row.domain, {
      probe: row.probe_id,
      time: Number(row.time),
      tags: JSON.parse(row.tags) as Record<string, string>,
      oldRecord: String(fields.old_record ?? ''),
      newRecord: String(fields.new_record ?? ''),
    });
  }
  return changes;
}

export interface DmarcDomainTotals {
  domain: string;
  messages: number;
  /** Messages that passed DMARC: DKIM or SPF aligned. */
  aligned: number;
  /** Senders (source, as named) of messages that passed neither. */
  unalignedSources: number;
  reports: number;
}

/**
 * DMARC results per domain over a window (report end times in it), most unaligned
 * first: the domains from reports_by_domain, then each one's rows of the window
 * through dmarc_rows_by_domain.
 */
export function dmarcByDomain(db: Database, window: { since: number; until: number }): DmarcDomainTotals[] {
  const rows = db
    .statement(
      `SELECT domain, sum(count) AS messages,
              sum(CASE WHEN dkim_aligned = 1 OR spf_aligned = 1 THEN count ELSE 0 END) AS aligned,
              count(DISTINCT CASE WHEN dkim_aligned = 0 AND spf_aligned = 0 THEN source END) AS unaligned_sources,
              count(DISTINCT report) AS reports
       FROM dmarc_rows
       WHERE domain IN (SELECT DISTINCT domain FROM reports WHERE kind = 'dmarc-aggregate' AND end_at >= ? AND end_at < ?)
         AND end_at >= ? AND end_at < ?
       GROUP BY domain`,
    )
    .all(window.since, window.until, window.since, window.until) as Record<string, unknown>[];
  return rows
    .map((row) => ({
      domain: String(row.domain),
      messages: Number(row.messages),
      aligned: Number(row.aligned),
      unalignedSources: Number(row.unaligned_sources),
      reports: Number(row.reports),
    }))
    .sort((a, b) => b.messages - b.aligned - (a.messages - a.aligned) || (a.domain < b.domain ? -1 : 1));
}

/**
 * Reports received since `since`, per kind (dmarc-aggregate, tls-rpt, arf, dsn), through reports_by_received
 * (SQLite's `+kind`: grouping by the kind index would read every report kept).
 */
export function reportCounts(db: Database, since: number): Record<string, number> {
  const rows = db.statement(`SELECT kind, count(*) AS n FROM reports WHERE received_at >= ? GROUP BY ${db.dialect.noIndex('kind')}`).all(since) as { kind: string; n: number }[];
  return Object.fromEntries(rows.map((row) => [row.kind, Number(row.n)]));
}
