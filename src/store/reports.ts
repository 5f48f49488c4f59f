/**
 * Feedback reports in the store: the reports (one row each, deduplicated by
 * their key), the rows of DMARC aggregate reports, the quarantine of inputs
 * that could not be read, and the reverse DNS of report source IPs.
 */
import type { Database } from './database.ts';

export interface ReportEntry {
  kind: string;
  dedupeKey: string;
  source: string;
  org: string;
  reportId: string;
  domain: string;
  beginAt: number;
  endAt: number;
  receivedAt: number;
  messages: number;
  summary: unknown;
}

export interface DmarcRowEntry {
  sourceIp: string;
  source: string;
  count: number;
  disposition: string;
  dkimAligned: boolean;
  spfAligned: boolean;
  headerFrom: string;
  envelopeFrom?: string | undefined;
  dkim: unknown;
  spf: unknown;
  overrides: unknown;
}

export interface QuarantineEntry {
  digest: string;
  part: string;
  source: string;
  name: string;
  size: number;
  code: string;
  reason: string;
  receivedAt: number;
}

/** The id of the report recorded under this key, if any. */
export function reportByKey(db: Database, dedupeKey: string): number | undefined {
  const row = db.statement('SELECT id FROM reports WHERE dedupe_key = ?').get(dedupeKey) as { id: number } | undefined;
  return row?.id;
}

export function insertReport(db: Database, entry: ReportEntry): number {
  const result = db
    .statement(
      `INSERT INTO reports (kind, dedupe_key, source, org, report_id, domain, begin_at, end_at, received_at, messages, summary)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    )
    .get(entry.kind, entry.dedupeKey, entry.source, entry.org, entry.reportId, entry.domain, entry.beginAt, entry.endAt, entry.receivedAt, entry.messages, JSON.stringify(entry.summary));
  return Number((result as { id: number }).id);
}

export function insertDmarcRows(db: Database, report: { id: number; domain: string; reporter: string; endAt: number }, rows: Iterable<DmarcRowEntry>): void {
  const write = dmarcRowWriter(db, report);
  for (const row of rows) write(row);
}

/** Frozen lists whose JSON is kept per writer, at most. */
const jsonKept = 1_000;

/**
 * Inserts one report's DMARC rows one at a time, as they are given: a large
 * report (250,000 rows) is written without a copy of its rows. The JSON of a
 * frozen list of results or overrides is made once: the parser shares them
 * between rows (a large report has a few hundred different ones).
 */
export function dmarcRowWriter(db: Database, report: { id: number; domain: string; reporter: string; endAt: number }): (row: DmarcRowEntry) => void {
  const insert = db.statement(
    `INSERT INTO dmarc_rows (report, domain, reporter, end_at, source_ip, source, count, disposition, dkim_aligned, spf_aligned, header_from, envelope_from, dkim, spf, overrides)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const kept = new Map<object, string>();
  const json = (value: unknown): string => {
    // Only a frozen value is the same the next time it is met.
    if (typeof value !== 'object' || value === null || !Object.isFrozen(value)) return JSON.stringify(value);
    let text = kept.get(value);
    if (text === undefined) {
      text = JSON.stringify(value);
      if (kept.size < jsonKept) kept.set(value, text);
    }
    return text;
  };
  return (row) => {
    insert.run(
      report.id,
      report.domain,
      report.reporter,
      report.endAt,
      row.sourceIp,
      row.source,
      row.count,
      row.disposition,
      row.dkimAligned ? 1 : 0,
      row.spfAligned ? 1 : 0,
      row.headerFrom,
      row.envelopeFrom ?? null,
      json(row.dkim),
      json(row.spf),
      json(row.overrides),
    );
  };
}

/** The sources (of these) that sent as the domain in a report recorded before `beforeReport`. */
export function knownSources(db: Database, domain: string, sources: Iterable<string>, beforeReport: number): Set<string> {
  const known = new Set<string>();
  for (const source of sources) if (isKnownSource(db, domain, source, beforeReport)) known.add(source);
  return known;
}

/** Whether this source sent as the domain in a report recorded before `beforeReport`. */
export function isKnownSource(db: Database, domain: string, source: string, beforeReport: number): boolean {
  return db.statement('SELECT 1 FROM dmarc_rows WHERE domain = ? AND source = ? AND report < ? LIMIT 1').get(domain, source, beforeReport) !== undefined;
}

/** Keep an input that could not be read; false when this input (digest and part) is already there. */
export function quarantineInput(db: Database, entry: QuarantineEntry): boolean {
  const result = db
    .statement('INSERT OR IGNORE INTO report_quarantine (digest, part, source, name, size, code, reason, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
    .run(entry.digest, entry.part, entry.source, entry.name, entry.size, entry.code, entry.reason, entry.receivedAt);
  return Number(result.changes) > 0;
}

// ── names of source IPs ────────────────────────────────────────────────────────

export interface IpName {
  ip: string;
  name?: string;
  base?: string;
  confirmed: boolean;
  error?: string;
  resolvedAt: number;
}

export function ipNames(db: Database, ips: Iterable<string>): Map<string, IpName> {
  const found = new Map<string, IpName>();
  const query = db.statement('SELECT * FROM ip_names WHERE ip = ?');
  for (const ip of ips) {
    const row = query.get(ip) as Record<string, unknown> | undefined;
    if (row) found.set(ip, toIpName(row));
  }
  return found;
}

export function saveIpName(db: Database, name: IpName): void {
  db.statement(
    `INSERT INTO ip_names (ip, name, base, confirmed, error, resolved_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (ip) DO UPDATE SET name = excluded.name, base = excluded.base, confirmed = excluded.confirmed, error = excluded.error, resolved_at = excluded.resolved_at`,
  ).run(name.ip, name.name ?? null, name.base ?? null, name.confirmed ? 1 : 0, name.error ?? null, name.resolvedAt);
}

function toIpName(row: Record<string, unknown>): IpName {
  return {
    ip: String(row.ip),
    ...(row.name !== null ? { name: String(row.name) } : {}),
    ...(row.base !== null ? { base: String(row.base) } : {}),
    confirmed: row.confirmed === 1,
    ...(row.error !== null ? { error: String(row.error) } : {}),
    resolvedAt: Number(row.resolved_at),
  };
}

// ── reading back ───────────────────────────────────────────────────────────────

export interface ReportFilter {
  kind?: string | undefined;
  domain?: string | undefined;
  since: number;
  until: number;
  limit: number;
  /** Reports with an id below this (paging, newest first). */
  before?: number | undefined;
}

export interface StoredReport extends Omit<ReportEntry, 'summary' | 'dedupeKey'> {
  id: number;
  summary: Record<string, unknown>;
}

function toReport(row: Record<string, unknown>): StoredReport {
  return {
    id: Number(row.id),
    kind: String(row.kind),
    source: String(row.source),
    org: String(row.org),
    reportId: String(row.report_id),
    domain: String(row.domain),
    beginAt: Number(row.begin_at),
    endAt: Number(row.end_at),
    receivedAt: Number(row.received_at),
    messages: Number(row.messages),
    summary: JSON.parse(String(row.summary)) as Record<string, unknown>,
  };
}

/** Reports received in the window, newest first. */
export function listReports(db: Database, filter: ReportFilter): StoredReport[] {
  const clauses = ['received_at >= ?', 'received_at < ?'];
  const params: (string | number)[] = [filter.since, filter.until];
  if (filter.kind !== undefined) {
    clauses.push('kind = ?');
    params.push(filter.kind);
  }
  if (filter.domain !== undefined) {
    clauses.push('domain = ?');
    params.push(filter.domain);
  }
  if (filter.before !== undefined) {
    clauses.push('id < ?');
    params.push(filter.before);
  }
  return (db.statement(`SELECT * FROM reports WHERE ${clauses.join(' AND ')} ORDER BY id DESC LIMIT ?`).all(...params, filter.limit) as Record<string, unknown>[]).map(toReport);
}

export function getReport(db: Database, id: number): StoredReport | undefined {
  const row = db.statement('SELECT * FROM reports WHERE id = ?').get(id) as Record<string, unknown> | undefined;
  return row ? toReport(row) : undefined;
}

export interface StoredDmarcRow extends DmarcRowEntry {
  reporter: string;
}

export function dmarcRowsOf(db: Database, report: number, limit: number): StoredDmarcRow[] {
  return (db.statement('SELECT * FROM dmarc_rows WHERE report = ? ORDER BY count DESC, rowid LIMIT ?').all(report, limit) as Record<string, unknown>[]).map((row) => ({
    reporter: String(row.reporter),
    sourceIp: String(row.source_ip),
    source: String(row.source),
    count: Number(row.count),
    disposition: String(row.disposition),
    dkimAligned: row.dkim_aligned === 1,
    spfAligned: row.spf_aligned === 1,
    headerFrom: String(row.header_from),
    ...(row.envelope_from !== null ? { envelopeFrom: String(row.envelope_from) } : {}),
    dkim: JSON.parse(String(row.dkim)),
    spf: JSON.parse(String(row.spf)),
    overrides: JSON.parse(String(row.overrides)),
  }));
}

export interface DmarcSourceTotals {
  sourceIp: string;
  source: string;
  messages: number;
  aligned: number;
  dkimAligned: number;
  spfAligned: number;
  /** Messages the receiver let through by an override (forwarded, mailing_list, ...). */
  overridden: number;
  quarantined: number;
  rejected: number;
  reporters: string[];
  firstSeen: number;
  lastSeen: number;
}

/** Who sent as the domain over a window (report end times in it), per source IP; most messages first. */
export function dmarcSources(db: Database, filter: { domain: string; since: number; until: number; limit: number }): DmarcSourceTotals[] {
  const rows = db
    .statement(
      `SELECT source_ip, source, sum(count) AS messages,
              sum(CASE WHEN dkim_aligned = 1 OR spf_aligned = 1 THEN count ELSE 0 END) AS aligned,
              sum(CASE WHEN dkim_aligned = 1 THEN count ELSE 0 END) AS dkim_aligned,
              sum(CASE WHEN spf_aligned = 1 THEN count ELSE 0 END) AS spf_aligned,
              sum(CASE WHEN overrides <> '[]' THEN count ELSE 0 END) AS overridden,
              sum(CASE WHEN disposition = 'quarantine' THEN count ELSE 0 END) AS quarantined,
              sum(CASE WHEN disposition = 'reject' THEN count ELSE 0 END) AS rejected,
              ${db.dialect.joinDistinct('reporter')} AS reporters, min(end_at) AS first_seen, max(end_at) AS last_seen
       FROM dmarc_rows WHERE domain = ? AND end_at >= ? AND end_at < ?
       GROUP BY source_ip, source ORDER BY messages DESC, source_ip LIMIT ?`,
    )
    .all(filter.domain, filter.since, filter.until, filter.limit) as Record<string, unknown>[];
  return rows.map((row) => ({
    sourceIp: String(row.source_ip),
    source: String(row.source),
    messages: Number(row.messages),
    aligned: Number(row.aligned),
    dkimAligned: Number(row.dkim_aligned),
    spfAligned: Number(row.spf_aligned),
    overridden: Number(row.overridden),
    quarantined: Number(row.quarantined),
    rejected: Number(row.rejected),
    reporters: String(row.reporters ?? '')
      .split(',')
      .filter(Boolean)
      .sort(),
    firstSeen: Number(row.first_seen),
    lastSeen: Number(row.last_seen),
  }));
}

/** What the DMARC reports say of one source IP, per domain it sent as (report end times in the window); most messages first. */
export interface DmarcDomainOfSource {
  domain: string;
  messages: number;
  aligned: number;
  quarantined: number;
  rejected: number;
  reporters: string[];
  lastSeen: number;
}

/** The domains one source IP sent as, from the DMARC aggregate rows (a person's drill-down: it reads every row in the window). */
export function dmarcDomainsOfSource(db: Database, filter: { ip: string; since: number; until: number; limit: number }): DmarcDomainOfSource[] {
  const rows = db
    .statement(
      `SELECT domain, sum(count) AS messages,
              sum(CASE WHEN dkim_aligned = 1 OR spf_aligned = 1 THEN count ELSE 0 END) AS aligned,
              sum(CASE WHEN disposition = 'quarantine' THEN count ELSE 0 END) AS quarantined,
              sum(CASE WHEN disposition = 'reject' THEN count ELSE 0 END) AS rejected,
              ${db.dialect.joinDistinct('reporter')} AS reporters, max(end_at) AS last_seen
       FROM dmarc_rows WHERE source_ip = ? AND end_at >= ? AND end_at < ?
       GROUP BY domain ORDER BY messages DESC, domain LIMIT ?`,
    )
    .all(filter.ip, filter.since, filter.until, filter.limit) as Record<string, unknown>[];
  return rows.map((row) => ({
    domain: String(row.domain),
    messages: Number(row.messages),
    aligned: Number(row.aligned),
    quarantined: Number(row.quarantined),
    rejected: Number(row.rejected),
    reporters: String(row.reporters ?? '')
      .split(',')
      .filter(Boolean)
      .sort(),
    lastSeen: Number(row.last_seen),
  }));
}

export interface StoredQuarantine extends QuarantineEntry {
  id: number;
}

export function listReportQuarantine(db: Database, filter: { since: number; limit: number; before?: number | undefined }): StoredQuarantine[] {
  const rows = db
    .statement('SELECT * FROM report_quarantine WHERE received_at >= ? AND id < ? ORDER BY id DESC LIMIT ?')
    .all(filter.since, filter.before ?? Number.MAX_SAFE_INTEGER, filter.limit) as Record<string, unknown>[];
  return rows.map((row) => ({
    id: Number(row.id),
    digest: String(row.digest),
    part: String(row.part),
    source: String(row.source),
    name: String(row.name),
    size: Number(row.size),
    code: String(row.code),
    reason: String(row.reason),
    receivedAt: Number(row.received_at),
  }));
}
