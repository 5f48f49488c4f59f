import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MailscopeError } from '../../core/errors.ts';
import type { StoredReport } from '../../queries/index.ts';
import { findSource } from '../../sources/index.ts';
import { cursorParam, errorResponses, filterParam, iso, limitParam, NextCursor, NumericIdParams, paged, timeParam, timeWindow } from '../schemas.ts';
import type { ApiServices } from '../services.ts';

const reportKinds = ['dmarc-aggregate', 'tls-rpt', 'arf', 'dsn'] as const;

const Outcome = z
  .object({
    status: z.enum(['recorded', 'duplicate', 'quarantined']),
    kind: z.string().optional(),
    part: z.string().optional(),
    id: z.int().optional().describe('the stored report (GET /v1/reports/{id})'),
    reportId: z.string().optional(),
    org: z.string().optional(),
    domain: z.string().optional(),
    code: z.string().optional().describe('why it was refused: too-large, bomb, zip-members, doctype, xml-limits, malformed, unknown'),
    reason: z.string().optional(),
  })
  .meta({ id: 'ReportOutcome' });

const Report = z
  .object({
    id: z.int(),
    kind: z.string(),
    source: z.string().describe('the source that brought it (or cli)'),
    org: z.string().describe('the reporter (organization, reporting domain or MTA)'),
    reportId: z.string(),
    domain: z.string(),
    begin: z.string(),
    end: z.string(),
    receivedAt: z.string(),
    messages: z.int(),
    summary: z.record(z.string(), z.unknown()).describe('what the report says beyond its rows, by kind'),
  })
  .meta({ id: 'Report' });

const Quarantined = z
  .object({ id: z.int(), source: z.string(), name: z.string(), part: z.string(), size: z.int(), digest: z.string(), code: z.string(), reason: z.string(), receivedAt: z.string() })
  .meta({ id: 'QuarantinedReport' });

const DmarcRow = z.object({
  sourceIp: z.string(),
  source: z.string(),
  count: z.int(),
  disposition: z.string(),
  dkimAligned: z.boolean(),
  spfAligned: z.boolean(),
  headerFrom: z.string(),
  envelopeFrom: z.string().optional(),
  dkim: z.unknown(),
  spf: z.unknown(),
  overrides: z.unknown(),
});

const DmarcSource = z
  .object({
    sourceIp: z.string(),
    source: z.string().describe("who sent: the base domain of the IP's forward-confirmed reverse DNS, else the IP"),
    name: z.string().optional().describe('the reverse DNS name'),
    confirmed: z.boolean().describe('the name resolves back to the IP'),
    nameError: z.string().optional().describe('why the name could not be looked up (asked again later)'),
    own: z.boolean().describe('one of your sending IPs (a blacklist probe target or a traffic source IP)'),
    messages: z.int(),
    aligned: z.int().describe('messages that passed DMARC (DKIM or SPF aligned)'),
    dkimAligned: z.int(),
    spfAligned: z.int(),
    overridden: z.int().describe('let through by a local override (forwarded, mailing_list, ...)'),
    quarantined: z.int(),
    rejected: z.int(),
    passRate: z.number(),
    reporters: z.array(z.string()),
    firstSeen: z.string(),
    lastSeen: z.string(),
  })
  .meta({ id: 'DmarcSource' });

function present(report: StoredReport): z.output<typeof Report> {
  return {
    id: report.id,
    kind: report.kind,
    source: report.source,
    org: report.org,
    reportId: report.reportId,
    domain: report.domain,
    begin: iso(report.beginAt),
    end: iso(report.endAt),
    receivedAt: iso(report.receivedAt),
    messages: report.messages,
    summary: report.summary,
  };
}

/** Feedback reports: uploads (ingest), the reports recorded, DMARC sources per domain, the quarantine. */
export function reportRoutes(services: ApiServices): FastifyPluginAsyncZod {
  const reports = () => {
    if (!services.reports) throw new MailscopeError('NOT_FOUND', 'reports are not recorded in this process');
    return services.reports;
  };
  const window = (query: Parameters<typeof timeWindow>[0], defaultMs: number) => timeWindow(query, services.clock.now(), defaultMs);

  return async (app) => {
    // A report is a file, whatever its type says (reporters and pipes label them wrongly): every body is read as bytes here.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

    const configured = services.config.instance.sources;
    for (const source of configured) {
      const kind = findSource(source.kind);
      if (!kind?.upload) continue;
      const maxBodyBytes = Math.min(kind.upload.maxBodyBytes, (source as { maxBodyBytes?: number }).maxBodyBytes ?? kind.upload.maxBodyBytes);
      const sameKind = configured.filter((other) => other.kind === source.kind).length;
      const paths = sameKind === 1 ? [`/v1/ingest/${source.kind}`, `/v1/ingest/${source.kind}/${source.id}`] : [`/v1/ingest/${source.kind}/${source.id}`];
      for (const path of paths) {
        app.post(
          path,
          {
            config: { access: 'ingest' },
            bodyLimit: maxBodyBytes,
            schema: {
              tags: ['reports'],
              summary: `A report file or mail for the source "${source.id}": DMARC aggregate (XML, gzip, zip), TLS-RPT (JSON, gzip), ARF or DSN (a mail). Answered 200 once recorded: each report once (a duplicate says so), a part that cannot be read quarantined with its reason`,
              response: {
                200: z.object({ recorded: z.int(), duplicates: z.int(), quarantined: z.int(), outcomes: z.array(Outcome) }),
                ...errorResponses(400, 401, 403, 413),
              },
            },
          },
          async (request) => {
            const body = request.body;
            if (!Buffer.isBuffer(body) || body.length === 0) throw new MailscopeError('BAD_REQUEST', 'expected a report file or a mail as the body');
            const result = await reports().intake(body, { source: source.id, name: `upload ${request.id}` });
            services.sourceHealth?.report(source.id, { ok: true }, services.clock.now().getTime());
            return result;
          },
        );
      }
    }

    app.get(
      '/v1/reports',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['reports'],
          summary: 'Feedback reports recorded (DMARC aggregate, TLS-RPT, ARF complaints, DSN bounces), newest first',
          querystring: z.strictObject({
            kind: z.enum(reportKinds).optional(),
            domain: filterParam.optional(),
            since: timeParam.optional().describe('received since (default: 30 days ago)'),
            until: timeParam.optional(),
            limit: limitParam,
            cursor: cursorParam.optional(),
          }),
          response: { 200: z.object({ reports: z.array(Report), next: NextCursor }), ...errorResponses(400, 401, 403) },
        },
      },
      async (request) => {
        const { kind, domain, limit, cursor } = request.query;
        const range = window(request.query, 30 * 86_400_000);
        const rows = services.queries.reports.list({ ...range, kind, domain: domain?.toLowerCase(), limit: limit + 1, before: cursor === undefined ? undefined : Number(cursor.id) });
        const { items, next } = paged(rows, limit, (report) => ({ time: report.id, id: report.id }));
        return { reports: items.map(present), ...(next ? { next } : {}) };
      },
    );

    app.get(
      '/v1/reports/quarantine',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['reports'],
          summary: 'Inputs (or parts of one) that could not be read, newest first, with the reason',
          querystring: z.strictObject({ since: timeParam.optional().describe('default: 30 days ago'), limit: limitParam, cursor: cursorParam.optional() }),
          response: { 200: z.object({ inputs: z.array(Quarantined), next: NextCursor }), ...errorResponses(400, 401, 403) },
        },
      },
      async (request) => {
        const { limit, cursor } = request.query;
        const { since } = window(request.query, 30 * 86_400_000);
        const rows = services.queries.reports.quarantine({ since, limit: limit + 1, before: cursor === undefined ? undefined : Number(cursor.id) });
        const { items, next } = paged(rows, limit, (row) => ({ time: row.id, id: row.id }));
        return { inputs: items.map((row) => ({ ...row, receivedAt: iso(row.receivedAt) })), ...(next ? { next } : {}) };
      },
    );

    app.get(
      '/v1/reports/:id',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['reports'],
          summary: 'One report, with its DMARC rows (most messages first)',
          params: NumericIdParams,
          querystring: z.strictObject({ rows: limitParam.describe('DMARC rows listed at most (1-1000, default 100)') }),
          response: { 200: Report.extend({ rows: z.array(DmarcRow), rowCount: z.int().optional() }), ...errorResponses(400, 401, 403, 404) },
        },
      },
      async (request) => {
        const report = services.queries.reports.get(request.params.id);
        if (!report) throw new MailscopeError('NOT_FOUND', `no report ${request.params.id}`);
        const rows = report.kind === 'dmarc-aggregate' ? services.queries.reports.dmarcRows(report.id, request.query.rows) : [];
        const rowCount = typeof report.summary.rows === 'number' ? report.summary.rows : undefined;
        return { ...present(report), rows, ...(rowCount !== undefined ? { rowCount } : {}) };
      },
    );

    app.get(
      '/v1/dmarc/sources',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['reports'],
          summary: 'Who sends as a domain, from the DMARC aggregate reports: per source IP, named by its reverse DNS, yours marked, with alignment',
          querystring: z.strictObject({
            domain: filterParam,
            since: timeParam.optional().describe('report end times since (default: 7 days ago)'),
            until: timeParam.optional(),
            limit: limitParam,
          }),
          response: { 200: z.object({ domain: z.string(), since: z.string(), until: z.string(), sources: z.array(DmarcSource) }), ...errorResponses(400, 401, 403) },
        },
      },
      async (request) => {
        const domain = request.query.domain.toLowerCase();
        const range = window(request.query, 7 * 86_400_000);
        const totals = services.queries.reports.dmarcSources({ domain, ...range, limit: request.query.limit });
        const names = services.queries.reports.names(totals.map((row) => row.sourceIp));
        const own = (ip: string) => services.reports?.isOwn(ip) ?? false;
        return {
          domain,
          since: iso(range.since),
          until: iso(range.until - 1),
          sources: totals.map((row) => {
            const name = names.get(row.sourceIp);
            return {
              ...row,
              ...(name?.name ? { name: name.name } : {}),
              confirmed: name?.confirmed ?? false,
              ...(name?.error ? { nameError: name.error } : {}),
              own: own(row.sourceIp),
              passRate: row.messages > 0 ? Math.round((row.aligned / row.messages) * 1e4) / 1e4 : 0,
              firstSeen: iso(row.firstSeen),
              lastSeen: iso(row.lastSeen),
            };
          }),
        };
      },
    );
  };
}
