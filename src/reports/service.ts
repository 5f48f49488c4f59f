/**
 * The report service: takes one input (a mail from a report mailbox, a file, an
 * uploaded body), reads the feedback reports it carries (protocols/reports),
 * and records them in ONE transaction: each report once (its dedupe key), its
 * DMARC rows, its points (dmarc, dmarc_domain, tls_rpt, tls_rpt_mx, complaints)
 * with the alert rules seeing them, the bounces and complaints it carries
 * counted as traffic, and every part that could not be read in the quarantine
 * with its reason. Whoever acknowledges the input (moves the mail, the file)
 * does so only after intake() resolved.
 */
import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { getDomain } from 'tldts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Observation } from '../core/observation.ts';
import { peerExcerpt } from '../core/redact.ts';
import type { TrafficEvent } from '../core/traffic.ts';
import { enhancedCodeIn, replyCodeIn } from '../protocols/mail/bounce-class.ts';
import { reverseName, sameAddress } from '../protocols/dns/addresses.ts';
import type { Resolver } from '../protocols/dns/types.ts';
import { readFeedback, type ReadOutcome } from '../protocols/reports/read.ts';
import { defaultReportLimits } from '../protocols/reports/limits.ts';
import type { AggregateReport, BounceReport, ComplaintReport, FeedbackReport, ReportLimits, TlsReport } from '../protocols/reports/types.ts';
import type { IntakeOutcome, IntakeResult } from '../sources/define.ts';
import { tlsFailureField } from '../sources/feedback.ts';
import type { Database } from '../store/database.ts';
import { recordPoint } from '../store/record.ts';
import { dmarcRowWriter, insertReport, ipNames, type IpName, isKnownSource, quarantineInput, reportByKey, saveIpName } from '../store/reports.ts';
import { deliveredSince } from '../store/traffic.ts';
import type { PreparedTraffic, TrafficService } from '../traffic/service.ts';

export interface ReportSettings {
  limits: ReportLimits;
  /** Look up the reverse DNS of report source IPs (and confirm it forward). */
  nameSources: boolean;
  /** Source IPs named per report at most (the rest are named by their IP until a later report). */
  namesPerReport: number;
}

/** How long a name is trusted before it is asked again; a failed lookup is asked again sooner. */
const nameTtlMs = 7 * 86_400_000;
const failedNameTtlMs = 3_600_000;
const complaintWindowMs = 86_400_000;

const round = (value: number) => Math.round(value * 1e6) / 1e6;

/** The dedupe key of a report: reporters reuse report ids across date ranges, so the range is part of it. */
export function dedupeKeyOf(report: FeedbackReport, input: { digest: string; part?: string | undefined }): string {
  switch (report.kind) {
    case 'dmarc-aggregate':
      return JSON.stringify(['dmarc', report.org.toLowerCase(), report.reportId, report.policy.domain.toLowerCase(), report.begin.getTime(), report.end.getTime()]);
    case 'tls-rpt':
      return JSON.stringify(['tls-rpt', report.org.toLowerCase(), report.reportId, report.begin.getTime(), report.end.getTime()]);
    default:
      // A complaint or a bounce has no id of its own that every reporter sets: the mail that carried it is the report.
      return JSON.stringify([report.kind, input.digest, input.part ?? '']);
  }
}

const domainOfAddress = (address: string | undefined) => {
  const at = address?.lastIndexOf('@') ?? -1;
  return at < 0
    ? undefined
    : address!
        .slice(at + 1)
        .toLowerCase()
        .replace(/[>\s]+$/, '') || undefined;
};

interface Prepared {
  outcome: ReadOutcome;
  key?: string;
  traffic?: PreparedTraffic;
  events?: TrafficEvent[];
}

export class ReportService {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #dns: Resolver | undefined;
  readonly #traffic: TrafficService;
  readonly #settings: ReportSettings;
  readonly #evaluate: ((observations: readonly Observation[]) => void) | undefined;
  readonly #own: (ip: string) => boolean;

  constructor(options: {
    db: Database;
    clock: Clock;
    log: Logger;
    dns?: Resolver | undefined;
    traffic: TrafficService;
    settings: ReportSettings;
    evaluate?: (observations: readonly Observation[]) => void;
    /** Whether a source IP is one of the platform's own (a blacklist probe target, a traffic source IP). */
    own?: (ip: string) => boolean;
  }) {
    this.#db = options.db;
    this.#clock = options.clock;
    this.#log = options.log.child({ component: 'reports' });
    this.#dns = options.dns;
    this.#traffic = options.traffic;
    this.#settings = options.settings;
    this.#evaluate = options.evaluate;
    this.#own = options.own ?? (() => false);
  }

  /** Whether a source IP is one of the platform's own. */
  isOwn(ip: string): boolean {
    return this.#own(ip);
  }

  get limits(): ReportLimits {
    return this.#settings.limits;
  }

  /** Read one input and record what it carries (see the module comment). `source` names where it came from. */
  async intake(input: Buffer | Readable, origin: { source: string; name: string }): Promise<IntakeResult> {
    const hash = createHash('sha256');
    let size = 0;
    let reading: Buffer | Readable;
    if (Buffer.isBuffer(input)) {
      hash.update(input);
      size = input.length;
      reading = input;
    } else {
      const counted = new PassThrough();
      counted.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        size += chunk.length;
      });
      input.on('error', (error) => counted.destroy(error));
      reading = input.pipe(counted);
    }
    const outcomes = await readFeedback(reading, this.#settings.limits);
    const digest = hash.digest('hex');
    const now = this.#clock.now().getTime();

    const prepared: Prepared[] = [];
    for (const outcome of outcomes) {
      if (!outcome.ok) {
        prepared.push({ outcome });
        continue;
      }
      const key = dedupeKeyOf(outcome.report, { digest, part: outcome.part });
      const item: Prepared = { outcome, key };
      // Known already: nothing to prepare (checked again in the transaction).
      if (reportByKey(this.#db, key) === undefined) {
        const events = this.#trafficEvents(outcome.report, now);
        if (events.length > 0) {
          item.events = events;
          item.traffic = await this.#traffic.prepare(events);
        }
      }
      prepared.push(item);
    }
    const aggregates = prepared.flatMap((item) =>
      item.outcome.ok && item.outcome.report.kind === 'dmarc-aggregate' && item.key && reportByKey(this.#db, item.key) === undefined ? [item.outcome.report] : [],
    );
    const names = await this.#namesOf(aggregates);

    const result = this.#db.transaction(() => {
      const result: IntakeResult = { recorded: 0, duplicates: 0, quarantined: 0, outcomes: [] };
      // Each point is recorded as it is made; the alert rules see them all at the end (kept only for them).
      const points: Observation[] = [];
      const record = (made: readonly Observation[]) => {
        for (const point of made) {
          recordPoint(this.#db, point);
          if (this.#evaluate) points.push(point);
        }
      };
      const complaints: { provider: string; ip: string; campaign: string }[] = [];
      for (const item of prepared) {
        const part = item.outcome.part !== undefined ? { part: item.outcome.part } : {};
        if (!item.outcome.ok) {
          const { error } = item.outcome;
          quarantineInput(this.#db, {
            digest,
            part: item.outcome.part ?? '',
            source: origin.source,
            name: peerExcerpt(origin.name),
            size,
            code: error.code,
            reason: peerExcerpt(error.message),
            receivedAt: now,
          });
          result.quarantined++;
          result.outcomes.push({ status: 'quarantined', ...part, code: error.code, reason: peerExcerpt(error.message) });
          continue;
        }
        const report = item.outcome.report;
        const described = describe(report);
        const existing = reportByKey(this.#db, item.key!);
        if (existing !== undefined) {
          result.duplicates++;
          result.outcomes.push({ status: 'duplicate', kind: report.kind, ...part, id: existing, ...described });
          continue;
        }
        const id = insertReport(this.#db, {
          kind: report.kind,
          dedupeKey: item.key!,
          source: origin.source,
          ...this.#entryOf(report, now),
          receivedAt: now,
        });
        if (report.kind === 'dmarc-aggregate') record(this.#recordAggregate(report, id, names));
        if (report.kind === 'tls-rpt') record(tlsPoints(report));
        if (item.traffic) {
          item.traffic.apply();
          for (const event of item.events ?? []) {
            if (event.outcome !== 'complained') continue;
            complaints.push({ provider: item.traffic.providers.get(event.recipientDomain) ?? 'other', ip: event.ip ?? '', campaign: event.campaign ?? '' });
          }
        }
        result.recorded++;
        result.outcomes.push({ status: 'recorded', kind: report.kind, ...part, id, ...described });
      }
      record(this.#complaintPoints(complaints, now));
      if (points.length > 0) this.#evaluate?.(points);
      return result;
    });
    this.#log.info({ source: origin.source, name: peerExcerpt(origin.name, 200), recorded: result.recorded, duplicates: result.duplicates, quarantined: result.quarantined }, 'report input read');
    return result;
  }

  #entryOf(report: FeedbackReport, now: number): { org: string; reportId: string; domain: string; beginAt: number; endAt: number; messages: number; summary: unknown } {
    switch (report.kind) {
      case 'dmarc-aggregate':
        return {
          org: report.org,
          reportId: report.reportId,
          domain: report.policy.domain.toLowerCase(),
          beginAt: report.begin.getTime(),
          endAt: report.end.getTime(),
          messages: report.messages,
          summary: { ...(report.orgEmail ? { orgEmail: report.orgEmail } : {}), policy: report.policy, errors: report.errors, rows: report.rows.length },
        };
      case 'tls-rpt':
        return {
          org: report.org,
          reportId: report.reportId,
          domain: [...new Set(report.policies.map((policy) => policy.policyDomain.toLowerCase()))].join(',').slice(0, 253),
          beginAt: report.begin.getTime(),
          endAt: report.end.getTime(),
          messages: report.successes + report.failures,
          summary: {
            ...(report.contact ? { contact: report.contact } : {}),
            successes: report.successes,
            failures: report.failures,
            policies: report.policies.map((policy) => ({ ...policy, failureDetails: policy.failureDetails.slice(0, 100) })),
          },
        };
      case 'arf': {
        const at = report.arrivalDate?.getTime() ?? now;
        return {
          org: report.reporter ?? '',
          reportId: report.original.messageId ?? '',
          domain: report.reportedDomain ?? domainOfAddress(report.original.from) ?? '',
          beginAt: at,
          endAt: at,
          messages: 1,
          summary: { ...report, kind: undefined },
        };
      }
      case 'dsn': {
        const at = report.arrivalDate?.getTime() ?? now;
        const first = report.recipients[0];
        return {
          org: report.reportingMta ?? '',
          reportId: report.original.messageId ?? '',
          domain: domainOfAddress(first?.original ?? first?.final) ?? '',
          beginAt: at,
          endAt: at,
          messages: report.recipients.length,
          summary: { ...report, kind: undefined },
        };
      }
    }
  }

  /** The bounces and complaints a report carries, as traffic events (within the window traffic counts). */
  #trafficEvents(report: FeedbackReport, now: number): TrafficEvent[] {
    const { oldest, newest } = this.#traffic.keptWindow();
    const timeOf = (date: Date | undefined) => {
      const at = date?.getTime();
      return at === undefined || !Number.isFinite(at) || at > newest ? new Date(now) : new Date(at);
    };
    const events: TrafficEvent[] = [];
    if (report.kind === 'dsn') {
      for (const recipient of report.recipients) {
        const outcome = recipient.action === 'failed' ? 'bounced' : recipient.action === 'delayed' ? 'deferred' : undefined;
        const recipientDomain = domainOfAddress(recipient.original ?? recipient.final);
        if (!outcome || !recipientDomain) continue;
        const enhancedCode = recipient.status && /^[245]\.\d{1,3}\.\d{1,3}$/.test(recipient.status) ? recipient.status : enhancedCodeIn(recipient.diagnostic);
        const smtpCode = replyCodeIn(recipient.diagnostic);
        events.push({
          time: timeOf(report.arrivalDate),
          outcome,
          recipientDomain,
          ...(enhancedCode ? { enhancedCode } : {}),
          ...(smtpCode !== undefined ? { smtpCode } : {}),
          ...(recipient.diagnostic ? { reply: recipient.diagnostic } : {}),
          ...(report.original.campaign ? { campaign: report.original.campaign } : {}),
        });
      }
    }
    if (report.kind === 'arf' && report.feedbackType.toLowerCase() !== 'not-spam') {
      const recipientDomain = domainOfAddress(report.originalRcptTo) ?? report.reporter;
      if (recipientDomain) {
        events.push({
          time: timeOf(report.arrivalDate),
          outcome: 'complained',
          recipientDomain,
          ...(report.sourceIp ? { ip: report.sourceIp } : {}),
          ...(report.original.campaign ? { campaign: report.original.campaign } : {}),
        });
      }
    }
    return events.filter((event) => event.time.getTime() >= oldest);
  }

  /**
   * The rows of an aggregate report, and its points: per source and alignment,
   * and per domain. Each row is written and counted into its group as it is met:
   * a large report (250,000 rows) is recorded without a copy of its rows.
   */
  #recordAggregate(report: AggregateReport, id: number, names: ReadonlyMap<string, IpName>): Observation[] {
    const domain = report.policy.domain.toLowerCase();
    const write = dmarcRowWriter(this.#db, { id, domain, reporter: report.org, endAt: report.end.getTime() });
    // One dmarc point per source, not aligned and aligned, counted into as rows are met (the point is the group: a large
    // report has 100,000 of them). Points in the order they were met; the maps hold their index.
    const bySource = [new Map<string, number>(), new Map<string, number>()] as const;
    const points: Observation[] = [];
    const known: boolean[] = [];
    const own: boolean[] = [];
    const time = report.end;
    let sources = 0;
    let newSources = 0;
    let aligned = 0;
    for (const row of report.rows) {
      const name = names.get(row.sourceIp);
      const source = name?.confirmed && name.base ? name.base : row.sourceIp;
      const dkimAligned = row.dkimAligned === 'pass';
      const spfAligned = row.spfAligned === 'pass';
      write({
        sourceIp: row.sourceIp,
        source,
        count: row.count,
        disposition: row.disposition,
        dkimAligned,
        spfAligned,
        headerFrom: row.headerFrom,
        envelopeFrom: row.envelopeFrom,
        dkim: row.dkim,
        spf: row.spf,
        overrides: row.overrides,
      });
      const isAligned = dkimAligned || spfAligned;
      let at = bySource[isAligned ? 1 : 0].get(source);
      if (at === undefined) {
        const other = bySource[isAligned ? 0 : 1].get(source);
        let seen = other === undefined ? undefined : known[other];
        if (seen === undefined) {
          // First met: this report's own rows are not "before" it.
          seen = isKnownSource(this.#db, domain, source, id);
          sources++;
          if (!seen) newSources++;
        }
        at = points.length;
        points.push({
          measurement: 'dmarc',
          tags: { domain, reporter: report.org, source, aligned: String(isAligned), own: 'false' },
          fields: { messages: 0, rows: 0, dkim_aligned: 0, spf_aligned: 0, quarantined: 0, rejected: 0, overridden: 0, new_source_messages: 0, report_id: report.reportId },
          time,
        });
        known.push(seen);
        own.push(false);
        bySource[isAligned ? 1 : 0].set(source, at);
      }
      const point = points[at]!;
      const fields = point.fields as Record<string, number>;
      if (!own[at] && this.#own(row.sourceIp)) {
        own[at] = true;
        point.tags.own = 'true';
      }
      fields.messages! += row.count;
      fields.rows!++;
      if (dkimAligned) fields.dkim_aligned! += row.count;
      if (spfAligned) fields.spf_aligned! += row.count;
      if (row.disposition === 'quarantine') fields.quarantined! += row.count;
      if (row.disposition === 'reject') fields.rejected! += row.count;
      if (row.overrides.length > 0) fields.overridden! += row.count;
      if (!known[at]) fields.new_source_messages! += row.count;
      if (isAligned) aligned += row.count;
    }
    const dmarcPoints = foldSmallSources(points);
    dmarcPoints.push({
      measurement: 'dmarc_domain',
      tags: { domain, reporter: report.org },
      fields: {
        messages: report.messages,
        aligned,
        ...(report.messages > 0 ? { pass_rate: round(aligned / report.messages) } : {}),
        sources,
        new_sources: newSources,
        report_id: report.reportId,
      },
      time,
    });
    return dmarcPoints;
  }

  /** One complaints point per provider, IP and campaign in the batch, with the last day's rate where deliveries are counted. */
  #complaintPoints(complaints: readonly { provider: string; ip: string; campaign: string }[], now: number): Observation[] {
    const groups = new Map<string, { provider: string; ip: string; campaign: string; count: number }>();
    for (const complaint of complaints) {
      const key = JSON.stringify([complaint.provider, complaint.ip, complaint.campaign]);
      const group = groups.get(key);
      if (group) group.count++;
      else groups.set(key, { ...complaint, count: 1 });
    }
    return [...groups.values()].map((group) => {
      const window = deliveredSince(this.#db, { provider: group.provider, ...(group.ip ? { ip: group.ip } : {}), since: now - complaintWindowMs });
      return {
        measurement: 'complaints',
        tags: { provider: group.provider, ...(group.ip ? { ip: group.ip } : {}), ...(group.campaign ? { campaign: group.campaign } : {}) },
        fields: {
          complaints: group.count,
          complaints_24h: window.complained,
          delivered_24h: window.delivered,
          ...(window.delivered > 0 ? { complaint_rate: round(window.complained / window.delivered) } : {}),
        },
        time: new Date(now),
      };
    });
  }

  /** The names of the source IPs of these reports: from the store while fresh, else asked of DNS (PTR, then confirmed by A/AAAA). */
  async #namesOf(reports: readonly AggregateReport[]): Promise<Map<string, IpName>> {
    const distinct = new Set<string>();
    for (const report of reports) for (const row of report.rows) distinct.add(row.sourceIp);
    const ips = [...distinct];
    const names = ipNames(this.#db, ips);
    if (!this.#settings.nameSources || !this.#dns) return names;
    const now = this.#clock.now().getTime();
    const stale = ips.filter((ip) => {
      const known = names.get(ip);
      return !known || now - known.resolvedAt > (known.error ? failedNameTtlMs : nameTtlMs);
    });
    const asked = stale.slice(0, this.#settings.namesPerReport);
    let next = 0;
    const worker = async () => {
      while (next < asked.length) {
        const ip = asked[next++]!;
        const name = await this.#lookUp(ip, now);
        names.set(ip, name);
      }
    };
    await Promise.all(Array.from({ length: Math.min(16, asked.length) }, worker));
    if (asked.length > 0) {
      this.#db.transaction(() => {
        for (const ip of asked) saveIpName(this.#db, names.get(ip)!);
      });
    }
    return names;
  }

  async #lookUp(ip: string, now: number): Promise<IpName> {
    const dns = this.#dns!;
    let reverse: string;
    try {
      reverse = reverseName(ip);
    } catch {
      return { ip, confirmed: false, error: 'not an IP address', resolvedAt: now };
    }
    const ptr = await dns.query(reverse, 'PTR');
    if (ptr.status === 'error') return { ip, confirmed: false, error: ptr.code, resolvedAt: now };
    const name = ptr.status === 'answer' ? ptr.records.find((record) => record.type === 'PTR')?.data : undefined;
    if (typeof name !== 'string') return { ip, confirmed: false, resolvedAt: now };
    const host = name.replace(/\.$/, '').toLowerCase();
    const forward = await dns.query(host, ip.includes(':') ? 'AAAA' : 'A');
    if (forward.status === 'error') return { ip, name: host, confirmed: false, error: forward.code, resolvedAt: now };
    const addresses = forward.status === 'answer' ? forward.records.map((record) => String(record.data)) : [];
    const confirmed = addresses.some((address) => sameAddress(address, ip));
    const base = getDomain(host, { allowPrivateDomains: true }) ?? host;
    return { ip, name: host, base, confirmed, resolvedAt: now };
  }
}

/** dmarc points per report at most: the sources with the most messages each; the rest are summed up as source "(other)". */
export const sourcePointsPerReport = 1_000;

/**
 * A report from a large sender names tens of thousands of sources (every IP without a confirmed
 * name is its own): as many series would swamp the time-series database and the rules. The
 * largest keep their own point; the rest are summed per alignment and ownership as "(other)".
 * Every row stays in the store (GET /v1/dmarc/sources lists them all).
 */
export function foldSmallSources(points: Observation[]): Observation[] {
  if (points.length <= sourcePointsPerReport) return points;
  const messages = (point: Observation) => point.fields.messages as number;
  const order = points.map((_, index) => index).sort((a, b) => messages(points[b]!) - messages(points[a]!) || a - b);
  const kept = new Set(order.slice(0, sourcePointsPerReport));
  const folded = new Map<string, Observation>();
  const result: Observation[] = [];
  points.forEach((point, index) => {
    if (kept.has(index)) {
      result.push(point);
      return;
    }
    const key = `${point.tags.aligned}/${point.tags.own}`;
    let other = folded.get(key);
    if (!other) {
      other = { ...point, tags: { ...point.tags, source: '(other)' }, fields: { ...point.fields } };
      folded.set(key, other);
      result.push(other);
      return;
    }
    for (const [field, value] of Object.entries(point.fields)) if (typeof value === 'number') (other.fields as Record<string, number>)[field]! += value;
  });
  return result;
}

function describe(report: FeedbackReport): Pick<IntakeOutcome, 'reportId' | 'org' | 'domain'> {
  switch (report.kind) {
    case 'dmarc-aggregate':
      return { reportId: report.reportId, org: report.org, domain: report.policy.domain };
    case 'tls-rpt':
      return { reportId: report.reportId, org: report.org, domain: report.policies[0]?.policyDomain ?? '' };
    case 'arf':
      return { ...(report.reporter ? { org: report.reporter } : {}), ...(report.reportedDomain ? { domain: report.reportedDomain } : {}) };
    case 'dsn':
      return { ...(report.reportingMta ? { org: report.reportingMta } : {}) };
  }
}

/** A TLS report's points: per policy, and per receiving MX that failed. */
export function tlsPoints(report: TlsReport): Observation[] {
  const points: Observation[] = [];
  for (const policy of report.policies) {
    const domain = policy.policyDomain.toLowerCase();
    const fields: Record<string, number | string> = { successes: policy.successes, failures: policy.failures, report_id: report.reportId };
    const total = policy.successes + policy.failures;
    if (total > 0) fields.failure_rate = round(policy.failures / total);
    const byMx = new Map<string, { failures: number; types: Set<string> }>();
    for (const detail of policy.failureDetails) {
      const field = tlsFailureField(detail.resultType);
      fields[field] = Number(fields[field] ?? 0) + detail.failedSessions;
      const mx = (detail.receivingMxHostname ?? detail.receivingIp ?? '').toLowerCase().replace(/\.$/, '');
      if (!mx) continue;
      const entry = byMx.get(mx) ?? { failures: 0, types: new Set<string>() };
      entry.failures += detail.failedSessions;
      entry.types.add(detail.resultType);
      byMx.set(mx, entry);
    }
    points.push({ measurement: 'tls_rpt', tags: { domain, reporter: report.org, policy_type: policy.policyType }, fields, time: report.end });
    for (const [mx, entry] of byMx) {
      points.push({
        measurement: 'tls_rpt_mx',
        tags: { domain, reporter: report.org, mx },
        fields: { failures: entry.failures, result_types: [...entry.types].sort().join(',').slice(0, 500) },
        time: report.end,
      });
    }
  }
  return points;
}

export type { BounceReport, ComplaintReport };
/** What one input may cost unless `reports:` says otherwise. */
export { defaultReportLimits };
