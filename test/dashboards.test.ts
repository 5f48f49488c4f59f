/**
 * The Grafana dashboards in dashboards/: in step with their definitions
 * (scripts/dashboards.ts) and naming only what the series registry declares.
 * Every query answering with data on the lab's InfluxDB 1.6: dashboards.lab.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { commonTags, measurements, type MeasurementSpec } from '../src/measurements/index.ts';
import { dashboardsDir, renderDashboardFiles } from '../scripts/dashboards.ts';
import { bounceClassNames } from '../src/protocols/mail/bounce-class.ts';
import { dashboards, files, queryPanels, rowPanels } from './helpers/dashboards.ts';

const grafanaMacros = new Set(['timeFilter', '__interval', 'col']);

const fieldOf = (spec: MeasurementSpec, name: string) => (spec.fields as Record<string, { type: string }>)[name];
const isTag = (spec: MeasurementSpec, name: string) => Object.hasOwn(commonTags, name) || Object.hasOwn(spec.tags, name);
const numericFunctions = new Set(['mean', 'sum', 'max', 'min', 'median', 'percentile', 'stddev', 'spread', 'derivative', 'non_negative_derivative', 'integral']);

/**
 * What an InfluxQL query names that the series registry does not declare, or
 * uses against its type: the measurement, each field and tag, tags where tags
 * belong (GROUP BY, regex matches), numbers where aggregates need numbers.
 */
function queryProblems(query: string, variables: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  const froms = [...query.matchAll(/FROM "([^"]+)"/g)].map((match) => match[1]!);
  const measurement = froms[0];
  if (froms.length !== 1) return [`expected exactly one measurement, found ${froms.length}`];
  const spec = measurements[measurement as keyof typeof measurements] as MeasurementSpec | undefined;
  if (!spec) return [`unknown measurement "${measurement}"`];
  const aliases = new Set([...query.matchAll(/ AS "([^"]+)"/g)].map((match) => match[1]!));
  const known = (name: string) => fieldOf(spec, name) !== undefined || isTag(spec, name) || aliases.has(name);
  const withoutStrings = query.replace(/'[^']*'/g, "''");
  for (const match of withoutStrings.matchAll(/(AS |FROM )?"([^"]+)"/g)) {
    if (match[1] === undefined && !known(match[2]!)) problems.push(`${measurement} has no field or tag "${match[2]}"`);
  }
  for (const match of withoutStrings.matchAll(/(\w+)\("([^"]+)"\)/g)) {
    const [, fn, name] = match as unknown as [string, string, string];
    if (aliases.has(name)) continue;
    const field = fieldOf(spec, name);
    if (!field) problems.push(`${fn}("${name}"): not a field of ${measurement}`);
    else if (numericFunctions.has(fn) && field.type !== 'integer' && field.type !== 'float') problems.push(`${fn}("${name}"): ${name} is ${field.type}, not a number`);
  }
  for (const group of withoutStrings.matchAll(/GROUP BY (.*?)(?= ORDER| LIMIT| fill|\)|$)/g)) {
    for (const name of group[1]!.matchAll(/"([^"]+)"/g)) if (!isTag(spec, name[1]!)) problems.push(`GROUP BY "${name[1]}": not a tag of ${measurement}`);
  }
  for (const match of withoutStrings.matchAll(/"([^"]+)" =~/g)) if (!isTag(spec, match[1]!)) problems.push(`"${match[1]}" =~: not a tag of ${measurement}`);
  for (const match of withoutStrings.matchAll(/"([^"]+)" = (true|false)/g)) {
    if (!aliases.has(match[1]!) && fieldOf(spec, match[1]!)?.type !== 'boolean') problems.push(`"${match[1]}" = ${match[2]}: not a boolean field of ${measurement}`);
  }
  for (const match of withoutStrings.matchAll(/"([^"]+)" (?:[<>!]?=|[<>]) -?\d/g)) {
    const type = fieldOf(spec, match[1]!)?.type;
    if (!aliases.has(match[1]!) && type !== 'integer' && type !== 'float') problems.push(`"${match[1]}" compared with a number: not a numeric field of ${measurement}`);
  }
  for (const match of query.matchAll(/\$(\w+)/g)) {
    const name = match[1]!;
    if (!grafanaMacros.has(name) && !name.startsWith('tag_') && !variables.has(name)) problems.push(`$${name}: no such variable on the dashboard`);
  }
  return problems;
}

describe('dashboards: the files', () => {
  it('are what scripts/dashboards.ts renders (npm run dashboards)', () => {
    const rendered = renderDashboardFiles();
    expect(files.sort()).toEqual(Object.keys(rendered).sort());
    for (const name of files) expect(readFileSync(join(dashboardsDir, name), 'utf8'), name).toBe(rendered[name]);
  });

  it('are seven dashboards with unique uids, panels that fit the grid and say what they show, and InfluxQL on the chosen data source', () => {
    expect(dashboards.map(({ dashboard }) => dashboard.title).sort()).toEqual([
      'Mailscope · Blocklists',
      'Mailscope · DMARC and feedback',
      'Mailscope · DNS authentication',
      'Mailscope · Inbox placement',
      'Mailscope · Overview',
      'Mailscope · Probe health and outbox',
      'Mailscope · Traffic',
    ]);
    const uids = dashboards.map(({ dashboard }) => dashboard.uid);
    expect(new Set(uids).size).toBe(dashboards.length);
    for (const { name, dashboard } of dashboards) {
      const ids = dashboard.panels.map((panel) => panel.id);
      expect(new Set(ids).size, name).toBe(ids.length);
      expect(dashboard.templating.list[0]).toMatchObject({ name: 'datasource', type: 'datasource', query: 'influxdb' });
      for (const panel of dashboard.panels) {
        expect(panel.gridPos.x + panel.gridPos.w, `${name}: ${panel.title}`).toBeLessThanOrEqual(24);
      }
      for (const panel of queryPanels(dashboard)) {
        expect(panel.description?.length ?? 0, `${name}: ${panel.title} has a description`).toBeGreaterThan(40);
        // A panel link leads to a dashboard of this directory.
        for (const link of panel.links ?? []) expect(uids, `${name}: ${panel.title}: ${link.url}`).toContain(link.url.replace(/^\/d\//, ''));
        expect(panel.targets?.length, `${name}: ${panel.title}`).toBeGreaterThan(0);
        for (const target of panel.targets ?? []) {
          expect(target, `${name}: ${panel.title}`).toMatchObject({ rawQuery: true, datasource: { type: 'influxdb', uid: '${datasource}' } });
          expect(['time_series', 'table']).toContain(target.resultFormat);
        }
      }
    }
  });

  it('name only measurements, fields and tags the series registry declares, each used as its type allows', () => {
    const problems: string[] = [];
    for (const { name, dashboard } of dashboards) {
      const variables = new Set(dashboard.templating.list.map((variable) => variable.name));
      for (const variable of dashboard.templating.list.filter((candidate) => candidate.type === 'query')) {
        problems.push(...queryProblems(variable.query, variables).map((problem) => `${name}: variable ${variable.name}: ${problem}`));
      }
      for (const panel of queryPanels(dashboard)) {
        for (const target of panel.targets ?? []) problems.push(...queryProblems(target.query, variables).map((problem) => `${name}: ${panel.title}: ${problem}`));
      }
    }
    expect(problems).toEqual([]);
  });

  it('the check catches what it is for', () => {
    const variables = new Set(['provider']);
    expect(queryProblems('SELECT mean("inbox_rate") FROM "placement_providers" WHERE $timeFilter', variables)).toEqual(['unknown measurement "placement_providers"']);
    expect(queryProblems('SELECT mean("inbox_ratio") FROM "placement_provider" WHERE $timeFilter', variables)).toEqual([
      'placement_provider has no field or tag "inbox_ratio"',
      'mean("inbox_ratio"): not a field of placement_provider',
    ]);
    expect(queryProblems('SELECT mean("status") FROM "blacklist" WHERE $timeFilter GROUP BY "status"', variables)).toEqual([
      'mean("status"): status is string, not a number',
      'GROUP BY "status": not a tag of blacklist',
    ]);
    expect(queryProblems('SELECT last("listed") FROM "blacklist" WHERE "listed" = 1 AND "codes" =~ /^$list$/', variables)).toEqual([
      '"codes" =~: not a tag of blacklist',
      '"listed" compared with a number: not a numeric field of blacklist',
      '$list: no such variable on the dashboard',
    ]);
    expect(queryProblems('SELECT count("x") FROM (SELECT last("level") AS "x" FROM "dns_auth_domain" GROUP BY "domain") WHERE "x" = 2', variables)).toEqual([]);
    expect(queryProblems('SELECT sum("class_invalid_recipent") FROM "traffic" WHERE $timeFilter GROUP BY "campaign", "tenant"', variables)).toEqual([
      'traffic has no field or tag "class_invalid_recipent"',
      'traffic has no field or tag "tenant"',
      'sum("class_invalid_recipent"): not a field of traffic',
      'GROUP BY "tenant": not a tag of traffic',
    ]);
  });

  it('traffic: rates from summed counts, every bounce class, and filters that keep traffic without an IP or pool', () => {
    const traffic = dashboards.find(({ dashboard }) => dashboard.uid === 'mailscope-traffic')!.dashboard;
    const overview = dashboards.find(({ dashboard }) => dashboard.uid === 'mailscope-overview')!.dashboard;
    // The Overview's Traffic row: its headline panels, between the rows around it.
    const rows = overview.panels.filter((panel) => panel.type === 'row').map((panel) => panel.title);
    expect(rows.slice(rows.indexOf('Send control'), rows.indexOf('Send control') + 3)).toEqual(['Send control', 'Traffic', 'Inbox placement']);
    const trafficRow = overview.panels.find((panel) => panel.type === 'row' && panel.title === 'Traffic')!;
    const nextRow = overview.panels.find((panel) => panel.type === 'row' && panel.gridPos.y > trafficRow.gridPos.y)!;
    expect(overview.panels.filter((panel) => panel.gridPos.y > trafficRow.gridPos.y && panel.gridPos.y < nextRow.gridPos.y).map((panel) => panel.title)).toEqual([
      'Attempts by provider',
      'Deferral rate by provider',
      'Bounce rate by provider',
    ]);

    const queries = dashboards
      .flatMap(({ dashboard }) => queryPanels(dashboard).flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel, query: target.query }))))
      .filter(({ query }) => query.includes('FROM "traffic"'));
    expect(queries.length).toBeGreaterThan(20);
    for (const { panel, query } of queries) {
      // Never the points' own rates (a mean of them weighs a quiet minute like a busy one), nor a division of nothing (InfluxQL's 0 / 0 is 0).
      expect(query, panel.title).not.toMatch(/_rate"/);
      if (/rate/i.test(panel.title)) expect(query, panel.title).toContain(' / ');
      if (query.includes('/ sum("attempts")')) expect(query, panel.title).toContain(' AND "attempts" > 0');
      if (query.includes('/ "deliveries"')) expect(query, panel.title).toContain(' WHERE "deliveries" > 0');
      // Per IP or pool: only traffic that names one.
      for (const tag of ['ip', 'pool']) if (query.includes(`GROUP BY time($__interval), "${tag}"`) || query.includes(`GROUP BY "${tag}"`)) expect(query, panel.title).toContain(`AND "${tag}" != ''`);
    }
    expect(queries.find(({ panel }) => panel.title === 'Bounce rate by provider')!.query).toContain('(sum("bounced") + sum("expired")) / sum("attempts")');

    // Every traffic panel of the Traffic dashboard follows the three filters.
    for (const panel of queryPanels(traffic))
      for (const target of panel.targets ?? []) expect(target.query, panel.title).toContain('"provider" =~ /^$provider$/ AND "ip" =~ /^$ip$/ AND "pool" =~ /^$pool$/');
    // "All" is '.*' where some points lack the tag: a regex of the values would drop them.
    expect(traffic.templating.list.map((variable) => [variable.name, variable.allValue])).toEqual([
      ['datasource', undefined],
      ['provider', undefined],
      ['ip', '.*'],
      ['pool', '.*'],
    ]);

    // Top bounce classes: every class the classifier knows, each a field of the measurement.
    const classes = queries.find(({ panel }) => panel.title === 'Top bounce classes')!.query;
    expect([...classes.matchAll(/sum\("class_(\w+)"\) AS "(\w+)"/g)].map((match) => [match[1], match[2]])).toEqual(bounceClassNames.map((name) => [name, name]));
    expect(bounceClassNames.every((name) => fieldOf(measurements.traffic as MeasurementSpec, `class_${name}`)?.type === 'integer')).toBe(true);
  });

  it('feedback: the DMARC dashboard by domain and reporter, pass rates from summed counts, Gmail’s complaint limits, and the Overview’s Feedback row leading to it', () => {
    const dmarc = dashboards.find(({ dashboard }) => dashboard.uid === 'mailscope-dmarc')!.dashboard;
    const overview = dashboards.find(({ dashboard }) => dashboard.uid === 'mailscope-overview')!.dashboard;
    expect(dmarc.templating.list.map((variable) => [variable.name, variable.query])).toEqual([
      ['datasource', 'influxdb'],
      ['domain', 'SHOW TAG VALUES FROM "dmarc" WITH KEY = "domain"'],
      ['reporter', 'SHOW TAG VALUES FROM "dmarc" WITH KEY = "reporter"'],
      ['tls_domain', 'SHOW TAG VALUES FROM "tls_rpt" WITH KEY = "domain"'],
    ]);
    // Reports cover a day: a month by default.
    expect(dmarc.time.from).toBe('now-30d');
    expect(dmarc.panels.filter((panel) => panel.type === 'row').map((panel) => panel.title)).toEqual([
      'DMARC',
      'Sources',
      'Who fails',
      'Receivers',
      'TLS reports (TLS-RPT)',
      'Complaints (feedback loops)',
    ]);

    const targets = [overview, dmarc].flatMap((dashboard) => queryPanels(dashboard).flatMap((panel) => (panel.targets ?? []).map((target) => ({ dashboard, panel, query: target.query }))));
    for (const { dashboard, panel, query } of targets) {
      const where = `${dashboard.uid}: ${panel.title}`;
      // The DMARC panels follow the domain and reporter filters, the TLS panels the policy domain filter (TLS reporters name themselves otherwise).
      if (dashboard === dmarc && /FROM "dmarc(_domain)?"/.test(query)) expect(query, where).toContain('"domain" =~ /^$domain$/ AND "reporter" =~ /^$reporter$/');
      if (dashboard === dmarc && /FROM "tls_rpt(_mx)?"/.test(query)) expect(query, where).toContain('"domain" =~ /^$tls_domain$/');
      // A pass rate is summed counts over summed counts, never a mean of the reports' own rates, and never 0 / 0.
      expect(query, where).not.toContain('pass_rate');
      if (query.includes('sum("aligned") / sum("messages")')) expect(query, where).toContain(' AND "messages" > 0');
    }

    // Complaint rates: amber at 0.1%, red at 0.3% (Gmail's and Yahoo's bulk-sender limits), drawn on the charts.
    const complaintRates = targets.filter(({ query }) => query.includes('"complaint_rate"'));
    expect(complaintRates.map(({ dashboard, panel }) => `${dashboard.uid}: ${panel.title}`).sort()).toEqual([
      'mailscope-dmarc: Complaint rate by provider',
      'mailscope-dmarc: Complaint rate by provider, latest',
      'mailscope-overview: Complaint rate by provider',
    ]);
    for (const { panel } of complaintRates) {
      expect(panel.fieldConfig?.defaults.thresholds?.steps).toEqual([
        { color: 'green', value: null },
        { color: 'orange', value: 0.001 },
        { color: 'red', value: 0.003 },
      ]);
    }

    // The Overview's Feedback row, after Inbox placement: each panel leads to the DMARC dashboard, the counts over fixed windows.
    const rows = overview.panels.filter((panel) => panel.type === 'row').map((panel) => panel.title);
    expect(rows.slice(rows.indexOf('Inbox placement'), rows.indexOf('Inbox placement') + 3)).toEqual(['Inbox placement', 'Feedback', 'Blocklists']);
    const feedback = rowPanels(overview, 'Feedback');
    expect(feedback.map((panel) => [panel.title, panel.timeFrom])).toEqual([
      ['DMARC pass rate', '7d'],
      ['Unaligned messages, 24 hours', '24h'],
      ['Unaligned messages, 7 days', '7d'],
      ['Complaint rate by provider', undefined],
      ['TLS failures, 7 days', '7d'],
    ]);
    for (const panel of feedback) expect(panel.links, panel.title).toEqual([{ title: 'Mailscope · DMARC and feedback', url: '/d/mailscope-dmarc' }]);
    // As every row with a dashboard of its own.
    expect(rowPanels(overview, 'Traffic').map((panel) => panel.links?.map((link) => link.url))).toEqual([['/d/mailscope-traffic'], ['/d/mailscope-traffic'], ['/d/mailscope-traffic']]);
  });

  it('come with Grafana provisioning files: an InfluxQL data source and a provider for this directory', () => {
    const sources = parseYaml(readFileSync(join(dashboardsDir, 'provisioning', 'datasources', 'mailscope.yaml'), 'utf8')) as { apiVersion: number; datasources: Record<string, unknown>[] };
    expect(sources.apiVersion).toBe(1);
    expect(sources.datasources).toEqual([
      expect.objectContaining({
        type: 'influxdb',
        uid: 'mailscope-influxdb',
        url: '${MAILSCOPE_INFLUX_URL}',
        jsonData: expect.objectContaining({ version: 'InfluxQL', dbName: '${MAILSCOPE_INFLUX_DB}' }),
      }),
    ]);
    const providers = parseYaml(readFileSync(join(dashboardsDir, 'provisioning', 'dashboards', 'mailscope.yaml'), 'utf8')) as { providers: Record<string, unknown>[] };
    expect(providers.providers).toEqual([expect.objectContaining({ type: 'file', folder: 'Mailscope', options: expect.objectContaining({ path: '${MAILSCOPE_DASHBOARDS}' }) })]);
  });
});
