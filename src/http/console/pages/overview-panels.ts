/**
 * The overview's panels, built from what the store returns: each panel is plain
 * data for its view (views/overview/<id>.eta) and a state — bad, warn, ok or
 * empty — by which the page puts what is wrong first. The states only order the
 * page; what each cell says comes from the observations as they were recorded.
 */
import { escapeControls } from '../../../core/text.ts';
import type { TrafficTotals } from '../../../queries/index.ts';

/** Worst first. */
export const panelStates = ['bad', 'warn', 'ok', 'empty'] as const;
export type PanelState = (typeof panelStates)[number];

/** The fields of the store's observations, as the panels read them. */
interface ObservationLike {
  measurement: string;
  time: string;
  tags: Record<string, string>;
  fields: Record<string, string | number | boolean>;
}

interface SweepLike {
  run: { probe: string; startedAt: string };
  observations: readonly ObservationLike[];
}

const text = (value: unknown) => (value === undefined || value === null ? undefined : String(value));
const number = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** Addresses as people count them: 203.0.113.9 before 203.0.113.10. */
const natural = new Intl.Collator('en', { numeric: true });

// ── blocklists ─────────────────────────────────────────────────────────────────

export interface MatrixCell {
  /** none: the list does not apply to the target (a domain list and an IP) or did not answer for it. */
  state: 'listed' | 'error' | 'clean' | 'none';
  /** Listed: since when (ms). */
  since?: number;
  /** Error: its code. */
  code?: string;
  /** What the list said: the reason, the codes' meanings, the error in words. */
  detail?: string;
  delistUrl?: string;
}

export interface MatrixRow {
  target: string;
  kind: string;
  range?: string;
  listed: number;
  errors: number;
  cells: MatrixCell[];
}

export interface BlocklistPanel {
  state: PanelState;
  lists: string[];
  rows: MatrixRow[];
  listed: number;
  errors: number;
  /** The sweeps shown: each probe and when it ran. */
  sweeps: { probe: string; at: string }[];
}

/**
 * Targets × lists from the latest sweep of each blacklist probe: the newest
 * observation of each (target, list) pair. Rows listed-first, then with errors;
 * lists with listings first.
 */
export function blocklistPanel(sweeps: readonly SweepLike[]): BlocklistPanel {
  const pairs = new Map<string, Map<string, ObservationLike>>();
  const targets = new Map<string, { kind: string; range?: string }>();
  for (const sweep of sweeps) {
    for (const observation of sweep.observations) {
      if (observation.measurement !== 'blacklist') continue;
      const { target, list, target_kind: kind, range } = observation.tags;
      if (target === undefined || list === undefined) continue;
      let row = pairs.get(target);
      if (!row) pairs.set(target, (row = new Map()));
      const known = row.get(list);
      if (!known || known.time < observation.time) row.set(list, observation);
      if (!targets.has(target)) targets.set(target, { kind: kind ?? '', ...(range ? { range } : {}) });
    }
  }
  const listCounts = new Map<string, { listed: number; errors: number }>();
  const cellOf = (observation: ObservationLike | undefined): MatrixCell => {
    if (!observation) return { state: 'none' };
    const { fields } = observation;
    if (fields.status === 'listed') {
      const since = number(fields.listed_since);
      const detail = [text(fields.reason), text(fields.meanings), text(fields.codes)].filter(Boolean).join(' · ');
      return { state: 'listed', ...(since !== undefined ? { since } : {}), ...(detail ? { detail } : {}), ...(fields.delist_url ? { delistUrl: String(fields.delist_url) } : {}) };
    }
    if (fields.status === 'error') return { state: 'error', code: text(fields.error_code) ?? 'ERROR', ...(fields.error ? { detail: String(fields.error) } : {}) };
    return { state: 'clean' };
  };
  for (const row of pairs.values()) {
    for (const [list, observation] of row) {
      const counts = listCounts.get(list) ?? { listed: 0, errors: 0 };
      if (observation.fields.status === 'listed') counts.listed++;
      if (observation.fields.status === 'error') counts.errors++;
      listCounts.set(list, counts);
    }
  }
  const lists = [...listCounts.entries()].sort(([a, x], [b, y]) => y.listed - x.listed || y.errors - x.errors || byText(a, b)).map(([list]) => list);
  const rows: MatrixRow[] = [...pairs.entries()].map(([target, row]) => {
    const cells = lists.map((list) => cellOf(row.get(list)));
    return {
      target,
      ...targets.get(target)!,
      listed: cells.filter((cell) => cell.state === 'listed').length,
      errors: cells.filter((cell) => cell.state === 'error').length,
      cells,
    };
  });
  rows.sort((a, b) => b.listed - a.listed || b.errors - a.errors || natural.compare(a.target, b.target));
  const listed = rows.reduce((sum, row) => sum + row.listed, 0);
  const errors = rows.reduce((sum, row) => sum + row.errors, 0);
  return {
    state: rows.length === 0 ? 'empty' : listed > 0 ? 'bad' : errors > 0 ? 'warn' : 'ok',
    lists,
    rows,
    listed,
    errors,
    sweeps: sweeps.filter((sweep) => sweep.observations.some((o) => o.measurement === 'blacklist')).map((sweep) => ({ probe: sweep.run.probe, at: sweep.run.startedAt })),
  };
}

// ── inbox placement ────────────────────────────────────────────────────────────

export interface PlacementRow {
  probe: string;
  provider: string;
  at: string;
  seeds: number;
  inbox: number;
  spam: number;
  category: number;
  missing: number;
  rejected: number;
  errors: number;
  inboxRate?: number;
  spamRate?: number;
  categoryRate?: number;
  missingRate?: number;
  rejectedRate?: number;
}

export interface Chart {
  x: number[];
  series: string[];
  y: (number | null)[][];
  percent: boolean;
  range: [number, number];
  height: number;
  /** The x axis' extent, in seconds (the chart's window, whatever points fall in it). */
  xRange?: [number, number];
}

export interface PlacementPanel {
  state: PanelState;
  rows: PlacementRow[];
  /** Inbox rate per provider and run over the trend's window; absent with no run in it. */
  chart?: Chart;
}

/** Below this inbox rate at a provider, placement is what is wrong; below `warnBelow`, worth a look. */
const placementBadBelow = 0.5;
const placementWarnBelow = 0.9;

/** The last run's placement per provider (lowest inbox rate first), and the inbox rate per provider and run. */
export function placementPanel(
  sweeps: readonly SweepLike[],
  trend: readonly { probe: string; time: number; provider: string; inboxRate?: number }[],
  window?: { since: number; until: number },
): PlacementPanel {
  const rows: PlacementRow[] = [];
  for (const sweep of sweeps) {
    for (const observation of sweep.observations) {
      if (observation.measurement !== 'placement_provider') continue;
      const f = observation.fields;
      const count = (name: string) => number(f[name]) ?? 0;
      const rate = (name: string) => {
        const value = number(f[name]);
        return value === undefined ? {} : { [`${name.replace(/_rate$/, '')}Rate`]: value };
      };
      rows.push({
        probe: sweep.run.probe,
        provider: observation.tags.provider ?? '',
        at: observation.time,
        seeds: count('seeds'),
        inbox: count('inbox'),
        spam: count('spam'),
        category: count('category'),
        missing: count('missing'),
        rejected: count('rejected'),
        errors: count('errors'),
        ...rate('inbox_rate'),
        ...rate('spam_rate'),
        ...rate('category_rate'),
        ...rate('missing_rate'),
        ...rate('rejected_rate'),
      });
    }
  }
  // Unknown (every seed an error) first: unknown is not clean.
  rows.sort((a, b) => (a.inboxRate ?? -1) - (b.inboxRate ?? -1) || byText(a.provider, b.provider));
  const probes = new Set(sweeps.map((sweep) => sweep.run.probe));
  const several = probes.size > 1;
  const points = trend.filter((point) => probes.has(point.probe));
  let chart: Chart | undefined;
  if (points.length > 0) {
    const x = [...new Set(points.map((point) => Math.floor(point.time / 1000)))].sort((a, b) => a - b);
    const column = new Map(x.map((second, index) => [second, index]));
    const series = [...new Set(points.map((point) => (several ? `${point.probe}/${point.provider}` : point.provider)))].sort(byText);
    const y = series.map(() => x.map((): number | null => null));
    for (const point of points) {
      const name = several ? `${point.probe}/${point.provider}` : point.provider;
      if (point.inboxRate !== undefined) y[series.indexOf(name)]![column.get(Math.floor(point.time / 1000))!] = point.inboxRate;
    }
    chart = { x, series, y, percent: true, range: [0, 1], height: 160, ...(window ? { xRange: [Math.floor(window.since / 1000), Math.ceil(window.until / 1000)] as [number, number] } : {}) };
  }
  // A provider whose seeds could not be read is unknown: worth a look, like a list that could not answer.
  const lowest = Math.min(...rows.map((row) => row.inboxRate ?? 1));
  const unknown = rows.some((row) => row.inboxRate === undefined || row.errors > 0);
  const state: PanelState = rows.length === 0 ? 'empty' : lowest < placementBadBelow ? 'bad' : lowest < placementWarnBelow || unknown ? 'warn' : 'ok';
  return { state, rows, ...(chart ? { chart } : {}) };
}

// ── DNS authentication ─────────────────────────────────────────────────────────

const levelRank: Record<string, number> = { fail: 0, error: 1, warn: 2, pass: 3 };

export interface DnsCheck {
  label: string;
  status: string;
  message: string;
  errorCode?: string;
}

export interface DnsDomain {
  domain: string;
  status: string;
  at: string;
  checks: DnsCheck[];
  change?: { label: string; time: number; oldRecord: string; newRecord: string };
}

export interface DnsPanel {
  state: PanelState;
  domains: DnsDomain[];
  failures: number;
}

/** A record as written: one line per record seen, each without control characters (escaping is the template's). */
const recordLines = (record: string) => record.split(/\r?\n/).map(escapeControls).join('\n');

const checkLabel = (tags: Record<string, string>) => [tags.check, tags.selector ?? tags.ip].filter(Boolean).join(':');

/** Each domain's checks from the latest sweep (worst first), with its last record change. */
export function dnsPanel(sweeps: readonly SweepLike[], changes: ReadonlyMap<string, { tags: Record<string, string>; time: number; oldRecord: string; newRecord: string }>): DnsPanel {
  const domains = new Map<string, DnsDomain>();
  for (const sweep of sweeps) {
    for (const observation of sweep.observations) {
      if (observation.measurement !== 'dns_auth') continue;
      const name = observation.tags.domain ?? '';
      let domain = domains.get(name);
      if (!domain) domains.set(name, (domain = { domain: name, status: 'pass', at: observation.time, checks: [] }));
      const status = String(observation.fields.status ?? 'error');
      const code = text(observation.fields.error_code);
      domain.checks.push({ label: checkLabel(observation.tags), status, message: String(observation.fields.message ?? ''), ...(code ? { errorCode: code } : {}) });
    }
  }
  for (const domain of domains.values()) {
    domain.checks.sort((a, b) => (levelRank[a.status] ?? 1) - (levelRank[b.status] ?? 1) || byText(a.label, b.label));
    domain.status = domain.checks[0]?.status ?? 'pass';
    const change = changes.get(domain.domain);
    if (change) domain.change = { label: checkLabel(change.tags), time: change.time, oldRecord: recordLines(change.oldRecord), newRecord: recordLines(change.newRecord) };
  }
  const list = [...domains.values()].sort((a, b) => (levelRank[a.status] ?? 1) - (levelRank[b.status] ?? 1) || byText(a.domain, b.domain));
  const failures = list.reduce((sum, domain) => sum + domain.checks.filter((check) => check.status === 'fail').length, 0);
  const worst = list[0]?.status;
  return { state: list.length === 0 ? 'empty' : worst === 'fail' ? 'bad' : worst === 'pass' ? 'ok' : 'warn', domains: list, failures };
}

// ── traffic and complaints ─────────────────────────────────────────────────────

export interface TrafficRow {
  provider: string;
  attempts: number;
  delivered: number;
  deferred: number;
  bounced: number;
  complained: number;
  deliveryRate?: number;
  deferralRate?: number;
  bounceRate?: number;
  complaintRate?: number;
}

/** Rates as the API's /v1/traffic gives them: of attempts (delivered + deferred + bounced + expired); complaints of delivered. */
export function trafficRows(totals: readonly TrafficTotals[]): TrafficRow[] {
  return totals.map(({ key, counts }) => {
    const attempts = counts.delivered + counts.deferred + counts.bounced + counts.expired;
    return {
      provider: key,
      attempts,
      delivered: counts.delivered,
      deferred: counts.deferred,
      bounced: counts.bounced + counts.expired,
      complained: counts.complained,
      ...(attempts > 0 ? { deliveryRate: counts.delivered / attempts, deferralRate: counts.deferred / attempts, bounceRate: (counts.bounced + counts.expired) / attempts } : {}),
      ...(counts.delivered > 0 ? { complaintRate: counts.complained / counts.delivered } : {}),
    };
  });
}

/** Bounces and deferrals past these rates make traffic what is wrong (bad) or worth a look (warn). */
const bounceBad = 0.05;
const deferralBad = 0.2;
const bounceWarn = 0.02;
const deferralWarn = 0.05;

export interface TrafficPanel {
  state: PanelState;
  rows: TrafficRow[];
}

/** The last hour per provider, most bounced and deferred first. */
export function trafficPanel(totals: readonly TrafficTotals[]): TrafficPanel {
  const rows = trafficRows(totals)
    .filter((row) => row.attempts > 0)
    .sort((a, b) => (b.bounceRate ?? 0) + (b.deferralRate ?? 0) - ((a.bounceRate ?? 0) + (a.deferralRate ?? 0)) || b.attempts - a.attempts || byText(a.provider, b.provider));
  const worse = (bounce: number, deferral: number) => rows.some((row) => (row.bounceRate ?? 0) >= bounce || (row.deferralRate ?? 0) >= deferral);
  return { state: rows.length === 0 ? 'empty' : worse(bounceBad, deferralBad) ? 'bad' : worse(bounceWarn, deferralWarn) ? 'warn' : 'ok', rows };
}

/** Complaints per delivered message past these rates (the mailbox providers' published limits: 0.3 %, and 0.1 % to stay under). */
const complaintBad = 0.003;
const complaintWarn = 0.001;
/** Below these DMARC pass rates, a domain's mail is failing authentication somewhere. */
const dmarcBad = 0.9;
const dmarcWarn = 0.98;

export interface FeedbackPanel {
  state: PanelState;
  dmarc: { domain: string; messages: number; aligned: number; unaligned: number; passRate?: number; unalignedSources: number; reports: number }[];
  complaints: TrafficRow[];
  /** Reports received over the window, per kind. */
  received: Record<string, number>;
}

/** DMARC per domain over the window (most unaligned first), complaints per provider (highest rate first), the reports received. */
export function feedbackPanel(
  dmarc: readonly { domain: string; messages: number; aligned: number; unalignedSources: number; reports: number }[],
  complaintTotals: readonly TrafficTotals[],
  received: Record<string, number>,
): FeedbackPanel {
  const domains = dmarc.map((row) => ({ ...row, unaligned: row.messages - row.aligned, ...(row.messages > 0 ? { passRate: row.aligned / row.messages } : {}) }));
  const complaints = trafficRows(complaintTotals)
    .filter((row) => row.complained > 0)
    .sort((a, b) => (b.complaintRate ?? 1) - (a.complaintRate ?? 1) || b.complained - a.complained || byText(a.provider, b.provider));
  const anything = domains.length > 0 || complaints.length > 0 || Object.keys(received).length > 0;
  const worse = (complaint: number, pass: number) => complaints.some((row) => (row.complaintRate ?? 1) >= complaint) || domains.some((row) => row.passRate !== undefined && row.passRate < pass);
  return { state: !anything ? 'empty' : worse(complaintBad, dmarcBad) ? 'bad' : worse(complaintWarn, dmarcWarn) ? 'warn' : 'ok', dmarc: domains, complaints, received };
}
