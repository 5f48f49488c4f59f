/**
 * Reports (`/reports`): the feedback reports recorded (DMARC aggregate, TLS-RPT,
 * ARF, DSN), newest first, and the inputs quarantined; a domain's page
 * (`/domains/:domain`): who sends as it, from the DMARC reports, named by
 * reverse DNS, yours marked, with the pass rate.
 */
import { MailscopeError } from '../../../core/errors.ts';
import { cursorOf, paged, pageSize, queryOf, urlOf, windowOf, windows } from './forms.ts';
import type { ConsolePage } from './page.ts';
import { viewerPage } from './page.ts';

const reportKinds = ['dmarc-aggregate', 'tls-rpt', 'arf', 'dsn'] as const;
/** How far back the list looks. */
const listedMs = 90 * 86_400_000;

export const reportsPage: ConsolePage = (app, services, tools) => {
  app.get('/reports', { config: viewerPage, schema: { hide: true } }, async (request, reply) => {
    const kind = queryOf(request).kind || undefined;
    if (kind !== undefined && !(reportKinds as readonly string[]).includes(kind)) throw new MailscopeError('BAD_REQUEST', `kind: expected one of ${reportKinds.join(', ')}`);
    const cursor = cursorOf(request);
    const until = services.clock.now().getTime() + 1;
    const found = services.queries.reports.list({ kind, since: until - listedMs, until, limit: pageSize + 1, before: cursor === undefined ? undefined : Number(cursor.id) });
    const { items, next } = paged(found, pageSize, (report) => ({ time: report.id, id: report.id }));
    const quarantine = cursor ? [] : services.queries.reports.quarantine({ since: until - listedMs, limit: 50 });
    return tools.render(request, reply, 'reports', {
      title: 'Reports',
      section: 'Reports',
      kind: kind ?? '',
      kinds: reportKinds,
      reports: items,
      older: next ? urlOf('/reports', { kind, cursor: next }) : undefined,
      quarantine,
      recorded: services.reports !== undefined,
    });
  });

  app.get('/domains/:domain', { config: viewerPage, schema: { hide: true } }, async (request, reply) => {
    const domain = (request.params as { domain: string }).domain.toLowerCase();
    if (!/^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/.test(domain) || domain.length > 253) {
      throw new MailscopeError('BAD_REQUEST', 'not a domain name');
    }
    const window = windowOf(request, '7d');
    const until = services.clock.now().getTime() + 1;
    const totals = services.queries.reports.dmarcSources({ domain, since: until - 1 - windows[window], until, limit: 500 });
    const names = services.queries.reports.names(totals.map((row) => row.sourceIp));
    const sources = totals.map((row) => {
      const name = names.get(row.sourceIp);
      return {
        ...row,
        name: name?.name,
        confirmed: name?.confirmed ?? false,
        nameError: name?.error,
        own: services.reports?.isOwn(row.sourceIp) ?? false,
        passRate: row.messages > 0 ? row.aligned / row.messages : 0,
      };
    });
    const messages = sources.reduce((sum, row) => sum + row.messages, 0);
    const aligned = sources.reduce((sum, row) => sum + row.aligned, 0);
    return tools.render(request, reply, 'domain', {
      title: `Domain ${domain}`,
      section: 'Reports',
      domain,
      window,
      windows: Object.keys(windows),
      sources,
      messages,
      passRate: messages > 0 ? aligned / messages : undefined,
      reports: services.queries.reports.list({ kind: 'dmarc-aggregate', domain, since: until - 1 - windows[window], until, limit: 20 }),
    });
  });
};
