/**
 * The Grafana dashboards in dashboards/: every query answering with data on the
 * lab's real InfluxDB 1.6, loaded with the points Mailscope's own probes, store and
 * outbox flusher produce; the traffic panels answering exactly the traffic sent
 * through the traffic service. (The files themselves: dashboards.test.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AlertEngine } from '../src/alerts/engine.ts';
import { alertSettingsOf, controlSettingsOf } from '../src/config/settings.ts';
import { loadConfig } from '../src/config/load.ts';
import { systemClock } from '../src/core/clock.ts';
import type { Logger } from '../src/core/logger.ts';
import type { Observation } from '../src/core/observation.ts';
import { providerMap } from '../src/core/providers.ts';
import type { TrafficEvent } from '../src/core/traffic.ts';
import { dnsAuth } from '../src/probes/dns-auth.ts';
import { tcp } from '../src/probes/tcp.ts';
import { blacklist } from '../src/probes/blacklist.ts';
import { DnsClient } from '../src/protocols/dns/client.ts';
import { defaultReportLimits } from '../src/protocols/reports/limits.ts';
import { bounceClassNames } from '../src/protocols/mail/bounce-class.ts';
import { OutboxFlusher } from '../src/runner/outbox-flusher.ts';
import { Runner } from '../src/runner/runner.ts';
import { ReportService } from '../src/reports/service.ts';
import { outboxSnapshotOf, probeServicesOf } from '../src/runner/services.ts';
import { createInfluxWriter } from '../src/series/influx-writer.ts';
import { listAlerts } from '../src/store/alerts.ts';
import { heldCount, listControls, recordHeld } from '../src/store/controls.ts';
import { controlActions } from '../src/controls/rule-actions.ts';
import { ControlService } from '../src/controls/service.ts';
import { Database } from '../src/store/database.ts';
import { outboxStats } from '../src/store/outbox.ts';
import { TrafficFlusher } from '../src/traffic/flusher.ts';
import { TrafficService } from '../src/traffic/service.ts';
import { labKeys } from './lab/keys.ts';
import { lab } from './lab/plan.ts';
import { a as addressRecord, fakeDns, txt, type Query as DnsQuery, type Reply } from './helpers/dns-server.ts';
import { captureLog } from './helpers/log.ts';
import { waitFor } from './helpers/probes.ts';
import { closedPort, tcpServer } from './helpers/servers.ts';
import { dashboards, queryPanels, type GrafanaDashboard } from './helpers/dashboards.ts';
import { type AggregateRowInput, aggregateXml, arfMail, tlsReportJson } from './helpers/reports.ts';
import type { IntakeResult } from '../src/sources/define.ts';

interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

const database = `dashboards_${Date.now()}_${process.pid}`;

async function influx(query: string): Promise<InfluxSeries[]> {
  const response = await fetch(`${lab.influxdb.url}/query?db=${database}&epoch=ms&q=${encodeURIComponent(query)}`, { method: 'POST' });
  const body = (await response.json()) as { results?: { series?: InfluxSeries[]; error?: string }[]; error?: string };
  const result = body.results?.[0];
  if (!response.ok || body.error || result?.error) throw new Error(`${query}: ${body.error ?? result?.error ?? response.status}`);
  return result?.series ?? [];
}

const regexEscape = (value: string) => value.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** What Grafana sends for a query: its macros, and each variable as it sends "All" (`all`). */
function substitute(query: string, all: Record<string, string>, interval = '1m'): string {
  return query
    .replaceAll('$timeFilter', 'time > now() - 1h')
    .replaceAll('$__interval', interval)
    .replace(/\$(\w+)/g, (whole, name: string) => all[name] ?? whole);
}

/** Each variable's "All": its custom all value, else a regex of the values its query finds (it must find some). */
async function allValues(dashboard: GrafanaDashboard): Promise<Record<string, string>> {
  const all: Record<string, string> = {};
  for (const variable of dashboard.templating.list.filter((candidate) => candidate.type === 'query')) {
    const series = await influx(variable.query);
    const values = series.flatMap((one) => one.values.map((row) => String(row[1])));
    expect(values, `variable ${variable.name}`).not.toEqual([]);
    all[variable.name] = variable.allValue ?? `(${values.map(regexEscape).join('|')})`;
  }
  return all;
}

const hasData = (series: InfluxSeries[]) => series.some((one) => one.values.some((row) => row.slice(1).some((value) => value !== null)));

let recorded: Observation[] = [];
/** Alert states in the store once the data set is loaded: rule → states of its instances. */
let alertStates: Record<string, string[]> = {};
/** Controls in the store once the data set is loaded. */
let controlStates: { action: string; active: boolean; held: number }[] = [];
/** Distinct IPs the ip-listed rule fires for (each paused once, whatever the lists). */
let listedIps = 0;
/** The traffic events sent through the traffic service, and the points each of its two flushes wrote. */
let sentTraffic: TrafficEvent[] = [];
let trafficFlushes: number[] = [];
const loaderName = 'the data set has what the panels show: listings, a bounce, a failed run, a change, failed lookups, failed writes, traffic, feedback reports';

/** The provider of each recipient domain the traffic goes to (example.org is no provider's: other). */
const providerOfDomain: Record<string, string> = { 'gmail.com': 'gmail', 'hotmail.com': 'outlook', 'yahoo.com': 'yahoo', 'example.org': 'other' };
/** Where traffic leaves from; the last slot is a source that does not say. */
const trafficSlots: { ip?: string; pool?: string }[] = [{ ip: '192.0.2.10', pool: 'shared' }, { ip: '192.0.2.11', pool: 'shared' }, { ip: '198.51.100.7', pool: 'dedicated' }, {}];
const deferralClasses = ['rate_limited', 'transient', 'reputation'];
const bounceClassesSent = ['invalid_recipient', 'content', 'authentication', 'mailbox_full'];

/**
 * Twenty minutes of traffic, ending in the previous ten-minute interval: per minute,
 * recipient domain and slot, counts that vary from minute to minute (so a mean of
 * the minutes' rates is not the interval's rate), with bounce classes, latencies and
 * complaints; then a minute of complaints alone (no attempts: no rate).
 */
function trafficEvents(now: number): TrafficEvent[] {
  const start = Math.floor(now / 600_000) * 600_000 - 1_800_000;
  const events: TrafficEvent[] = [];
  const domains = Object.keys(providerOfDomain);
  for (let minute = 0; minute < 20; minute++) {
    domains.forEach((recipientDomain, d) => {
      trafficSlots.forEach((slot, s) => {
        const at = (second: number) => new Date(start + minute * 60_000 + second * 1_000);
        const base = { recipientDomain, ...slot };
        const n = (minute * 7 + d * 5 + s * 3) % 9;
        for (let k = 0; k <= n; k++) events.push({ ...base, time: at(k), outcome: 'delivered', ...(k % 3 === 2 ? {} : { latencyMs: 300 + ((minute * 1_009 + d * 131 + s * 17 + k * 53) % 9_000) }) });
        const deferred = (minute + d + s) % 4 === 0 ? n + 3 : (minute + s) % 3;
        for (let k = 0; k < deferred; k++) events.push({ ...base, time: at(20 + k), outcome: 'deferred', smtpCode: 421, bounceClass: deferralClasses[(minute + k) % 3]! });
        const bounced = (minute * d + s) % 5 === 0 ? 2 : 0;
        for (let k = 0; k < bounced; k++) events.push({ ...base, time: at(40 + k), outcome: 'bounced', smtpCode: 550, bounceClass: bounceClassesSent[(minute + d + k) % 4]! });
        if ((minute + d * s) % 11 === 0) events.push({ ...base, time: at(50), outcome: 'expired' });
        if ((minute + d + s) % 6 === 0) events.push({ ...base, time: at(55), outcome: 'complained' });
      });
    });
  }
  events.push(
    { recipientDomain: 'yahoo.com', time: new Date(start + 22 * 60_000), outcome: 'complained' },
    { recipientDomain: 'yahoo.com', time: new Date(start + 22 * 60_000 + 5_000), outcome: 'complained' },
  );
  return events;
}

const minuteOf = (event: TrafficEvent) => Math.floor(event.time.getTime() / 60_000) * 60_000;

/** The traffic through the traffic service, in two batches with a flush after each: the second rewrites minutes the first wrote. */
async function loadTraffic(db: Database, log: Logger): Promise<void> {
  const service = new TrafficService({
    db,
    clock: systemClock,
    log,
    providers: providerMap({}),
    settings: { campaignTag: false, reasonsKept: 10, mxLookup: false, oldestMs: 86_400_000 },
  });
  const flusher = new TrafficFlusher({ db, clock: systemClock, log, intervalMs: 60_000, campaignTag: false, keepMs: 86_400_000 });
  sentTraffic = trafficEvents(Date.now());
  trafficFlushes = [];
  for (const half of [0, 1]) {
    await service.ingest(sentTraffic.filter((_, index) => index % 2 === half));
    trafficFlushes.push(flusher.flush());
  }
}

/** The reverse DNS of the DMARC report sources that have a name: Gmail's servers (forwarding) and an ESP you send through. */
const sourceNames: Record<string, string> = { '209.85.220.41': 'mail-sor-f41.google.com', '203.0.113.25': 'o1.ptr2041.sendgrid.net' };

/**
 * The DMARC aggregate reports (rows: source IP, count, verdicts): your IPs passing and one
 * with a broken key, an ESP passing by DKIM, Gmail forwarding (the receiver's override),
 * spoofers rejected and quarantined; from two reporters.
 */
const dmarcReports: { org: string; rows: AggregateRowInput[] }[] = [
  {
    org: 'google.com',
    rows: [
      { ip: '192.0.2.10', count: 40 },
      { ip: '192.0.2.11', count: 3, dkim: 'fail', spf: 'fail' },
      { ip: '203.0.113.25', count: 12, spf: 'fail' },
      { ip: '209.85.220.41', count: 5, dkim: 'fail', spf: 'fail', reason: 'forwarded' },
      { ip: '198.18.0.66', count: 7, dkim: 'fail', spf: 'fail', disposition: 'reject' },
      { ip: '198.18.0.67', count: 2, dkim: 'fail', spf: 'fail', disposition: 'quarantine' },
    ],
  },
  {
    org: 'Yahoo',
    rows: [
      { ip: '192.0.2.10', count: 25 },
      { ip: '198.18.0.66', count: 4, dkim: 'fail', spf: 'fail', disposition: 'reject' },
    ],
  },
];
/** What the report service answered for each report. */
let reportResults: IntakeResult[] = [];

/**
 * Feedback reports through the report service, as a report source hands them over: the
 * DMARC aggregate reports above, a TLS report with failures at two MX hosts, and two
 * complaints (ARF), one naming its campaign. The reports end ten minutes ago. The
 * complaints count as traffic in the store too (the complaint rate is over the
 * deliveries counted there), but the traffic flusher has run already: the traffic
 * panels still answer exactly the traffic sent.
 */
async function loadReports(db: Database, log: Logger): Promise<void> {
  const server = await fakeDns((query: DnsQuery): Reply => {
    const ip = Object.keys(sourceNames).find((candidate) => query.name === `${candidate.split('.').reverse().join('.')}.in-addr.arpa`);
    if (ip && query.type === 'PTR') return { answers: [{ name: query.name, type: 'PTR', ttl: 60, data: sourceNames[ip]! }] };
    const named = Object.entries(sourceNames).find(([, name]) => name === query.name);
    if (named && query.type === 'A') return { answers: [addressRecord(query.name, named[0])] };
    return { rcode: 'NXDOMAIN' };
  });
  const dns = new DnsClient({ servers: [server.server], timeoutMs: 500, attempts: 1 });
  const own = new Set(trafficSlots.flatMap((slot) => (slot.ip ? [slot.ip] : [])));
  const traffic = new TrafficService({ db, clock: systemClock, log, providers: providerMap({}), settings: { campaignTag: false, reasonsKept: 10, mxLookup: false, oldestMs: 86_400_000 } });
  const reports = new ReportService({ db, clock: systemClock, log, dns, traffic, settings: { limits: defaultReportLimits, nameSources: true, namesPerReport: 100 }, own: (ip) => own.has(ip) });
  const end = new Date(Math.floor(Date.now() / 1_000) * 1_000 - 600_000);
  const start = new Date(end.getTime() - 86_399_000);
  const inputs = [
    ...dmarcReports.map(({ org, rows }) => aggregateXml({ org, reportId: `lab-${org}`, begin: start.getTime() / 1_000, end: end.getTime() / 1_000, rows })),
    tlsReportJson({
      reportId: 'lab-tls',
      start,
      end,
      successes: 120,
      failures: [
        { type: 'certificate-expired', mx: 'mx.sender.test', count: 3 },
        { type: 'starttls-not-supported', mx: 'mx2.sender.test', count: 1 },
      ],
    }),
    arfMail({ sourceIp: '192.0.2.10', rcptTo: 'someone@yahoo.com', campaign: 'spring-sale', received: new Date(Date.now() - 300_000) }),
    arfMail({ sourceIp: '192.0.2.11', rcptTo: 'someone@hotmail.com', messageId: 'arf-2@yahoo.com', received: new Date(Date.now() - 240_000) }),
  ];
  try {
    reportResults = [];
    for (const [index, input] of inputs.entries()) reportResults.push(await reports.intake(Buffer.from(input), { source: 'lab', name: `report-${index}` }));
  } finally {
    dns.close();
  }
}

/**
 * The demo's probes (blocklists, DNS authentication, both placement probes, tcp,
 * http, the outbox) run once against the lab and are recorded by the store; plus
 * what the demo does not produce on its first run: a failed run, a DNS record
 * change, lookups a list cannot answer, an outbox that could not write; and known
 * traffic through the traffic service and its flusher, and feedback reports through
 * the report service. Then the outbox flusher
 * writes it all to a fresh InfluxDB database.
 */
async function loadDataSet(): Promise<void> {
  const config = loadConfig('demo/mailscope.yaml', { cwd: join(import.meta.dirname, '..'), env: { MAILSCOPE_LAB_CA: labKeys().caCert } });
  const dir = mkdtempSync(join(tmpdir(), 'mailscope-dashboards-'));
  const db = Database.open(dir);
  const dns = new DnsClient({ servers: [lab.resolver], timeoutMs: 1_000, attempts: 1 });
  const log = captureLog().log;
  // A flusher that cannot reach its server: the outbox probe reports its failures.
  const down = new OutboxFlusher(db, createInfluxWriter({ api: 'v1', url: `http://127.0.0.1:${await closedPort()}`, database, timeout: 1_000 }), log, {
    batchSize: 100,
    intervalMs: 10,
    minRetryMs: 20,
    maxRetryMs: 50,
  });
  down.start();
  // The demo's alert rules, evaluated on every run: the alert series.
  // Their actions too: listed IPs are paused (the control series).
  const controls = new ControlService({ db, clock: systemClock, log, settings: controlSettingsOf(config.instance) });
  const alerts = new AlertEngine({ db, rules: config.rules.map(({ rule }) => rule), clock: systemClock, log, settings: alertSettingsOf(config.instance), actions: controlActions(controls) });
  const onRecord = (observations: readonly Observation[]) => alerts.evaluate(observations);
  const runner = new Runner({ db, clock: systemClock, log, services: probeServicesOf(config.instance, dns, outboxSnapshotOf(db, systemClock, true, down)), onRecord });
  try {
    const definitions = config.probes.map((probe) => probe.definition);
    const runs = await Promise.all(definitions.filter((definition) => definition.kind !== 'outbox').map((definition) => runner.run(definition, 'cli')));
    // The outbox probe once the writes have failed (they start once there is something to write).
    await waitFor(() => down.status().consecutiveFailures > 0, 'a failed write');
    for (const definition of definitions.filter((candidate) => candidate.kind === 'outbox')) runs.push(await runner.run(definition, 'cli'));
    await down.stop();
    // A run that cannot finish in time fails (PROBE_TIMEOUT).
    const { port } = await tcpServer(() => {});
    const silent = tcp.configSchema.parse({ id: 'silent-mta', kind: 'tcp', schedule: '* * * * *', timeout: '300ms', connectTimeout: '5s', expectBanner: '^220', targets: [`127.0.0.1:${port}`] });
    runs.push(await runner.run(silent, 'cli'));
    // Lists the lab's resolver cannot answer: errors, and unhealthy lists.
    const unreachable = blacklist.configSchema.parse({ id: 'public-lists', kind: 'blacklist', schedule: '* * * * *', targets: ['127.0.0.11'], lists: ['spamcop', 'psbl'] });
    runs.push(await runner.run(unreachable, 'cli'));
    // A DNS record that changes between two runs (an in-process DNS server serves both versions).
    let spf = 'v=spf1 ip4:192.0.2.10 -all';
    const server = await fakeDns((query: DnsQuery): Reply => (query.name === 'rotated.test' && query.type === 'TXT' ? { answers: [txt(query.name, spf)] } : { rcode: 'NXDOMAIN' }));
    const rotated = dnsAuth.configSchema.parse({
      id: 'rotated-spf',
      kind: 'dns-auth',
      schedule: '* * * * *',
      domains: [{ domain: 'rotated.test', skip: ['dkim', 'dmarc', 'mx', 'address', 'mta_sts', 'tls_rpt', 'bimi'] }],
    });
    const runRotated = async () => {
      // A client per run: the second must not answer from the first one's cache.
      const client = new DnsClient({ servers: [server.server], timeoutMs: 500, attempts: 1 });
      try {
        return await new Runner({ db, clock: systemClock, log, services: probeServicesOf(config.instance, client, outboxSnapshotOf(db, systemClock, false)), onRecord }).run(rotated, 'cli');
      } finally {
        client.close();
      }
    };
    runs.push(await runRotated());
    spf = 'v=spf1 ip4:192.0.2.20 -all';
    runs.push(await runRotated());
    // Controls by hand: a throttle, a pause holding one message, and a pause lifted.
    const person = { source: 'token:ops', actor: 'ops' };
    controls.create({ action: 'throttle', scope: { provider: 'gmail', pool: 'shared' }, ratePerMinute: 120, reason: 'gmail deferring', ...person });
    const held = controls.create({ action: 'pause', scope: { campaign: 'spring-sale' }, reason: 'complaints', ...person }).control;
    recordHeld(db, { platform: 'mta', queueId: 'ABCDEF1234', controlId: held.id, traffic: { campaign: 'spring-sale' }, heldAt: Date.now() });
    const lifted = controls.create({ action: 'pause', scope: { tenant: 'acme' }, reason: 'onboarding', ...person }).control;
    controls.lift(lifted.id, 'ops', 'checked');
    controls.tick();
    controlStates = listControls(db, { limit: 1_000 }).map((control) => ({ action: control.action, active: control.liftedAt === undefined, held: heldCount(db, control.id).held }));
    listedIps = new Set(
      listAlerts(db, { limit: 1_000 })
        .filter((alert) => alert.ruleId === 'ip-listed' && alert.state === 'firing')
        .map((alert) => alert.labels.target!),
    ).size;
    recorded = runs.flatMap((run) => run.observations);
    await loadTraffic(db, log);
    await loadReports(db, log);
    alertStates = {};
    for (const alert of listAlerts(db, { limit: 1_000 })) (alertStates[alert.ruleId] ??= []).push(alert.state);

    const writer = createInfluxWriter({ api: 'v1', url: lab.influxdb.url, database, timeout: 10_000 });
    const flusher = new OutboxFlusher(db, writer, log, { batchSize: 5_000, intervalMs: 10, maxRetryMs: 1_000 });
    while (outboxStats(db, new Date()).depth > 0) {
      const outcome = await flusher.flushOnce();
      if (!outcome.ok) throw new Error(`writing the data set failed: ${outcome.failure.message}`);
      expect(outcome.quarantined).toBe(0);
    }
  } finally {
    await down.stop();
    dns.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('dashboards on InfluxDB 1.6, loaded by Mailscope’s own probes, store and outbox', () => {
  beforeAll(async () => {
    await influx(`CREATE DATABASE ${database}`);
  });
  afterAll(async () => {
    await influx(`DROP DATABASE ${database}`);
  });
  // The tests below read what this one loads (tests in a file run in order).
  beforeEach((context) => {
    if (context.task.name !== loaderName && recorded.length === 0) throw new Error('the data set did not load: see the first test of this group');
  });

  it(loaderName, { timeout: 120_000 }, async () => {
    await loadDataSet();
    const some = (measurement: string, test: (observation: Observation) => boolean) => recorded.some((observation) => observation.measurement === measurement && test(observation));
    expect(some('blacklist', (o) => o.fields.status === 'listed')).toBe(true);
    expect(some('blacklist', (o) => o.fields.status === 'error')).toBe(true);
    expect(some('placement', (o) => o.fields.outcome === 'inbox')).toBe(true);
    expect(some('placement', (o) => o.fields.outcome === 'rejected')).toBe(true);
    expect(some('probe_run', (o) => o.fields.success === false && o.fields.error_code === 'PROBE_TIMEOUT')).toBe(true);
    expect(some('dns_auth_change', (o) => o.tags.domain === 'rotated.test')).toBe(true);
    expect(some('outbox', (o) => typeof o.fields.last_error === 'string')).toBe(true);
    // The demo's rules: listed IPs fire (critical), the timed-out probe is pending (for: 3), the SPF change fires.
    expect(alertStates['ip-listed']).toContain('firing');
    expect(alertStates['probe-failing']).toContain('pending');
    expect(alertStates['dns-record-changed']).toContain('firing');
    // ip-listed pauses each listed IP.
    expect(controlStates.filter((control) => control.action === 'pause' && control.active).length).toBe(listedIps + 1);
    // Traffic: every minute and slice written once per batch (the second batch rewrote the first's points), and the minute of complaints alone.
    const slices = (events: TrafficEvent[]) => new Set(events.map((e) => `${minuteOf(e)} ${providerOfDomain[e.recipientDomain]} ${e.ip ?? ''} ${e.pool ?? ''}`)).size;
    const halves = [0, 1].map((half) => sentTraffic.filter((_, index) => index % 2 === half));
    expect(slices(sentTraffic)).toBe(20 * Object.keys(providerOfDomain).length * trafficSlots.length + 1);
    expect(trafficFlushes).toEqual(halves.map(slices));
    expect(slices(halves[0]!) + slices(halves[1]!)).toBeGreaterThan(slices(sentTraffic) * 1.5);
    // Every feedback report recorded, once.
    expect(reportResults.map((result) => [result.recorded, result.duplicates, result.quarantined])).toEqual(reportResults.map(() => [1, 0, 0]));
  });

  for (const { name, dashboard } of dashboards) {
    it(`${name}: every variable and every panel query runs and returns data`, async () => {
      const all = await allValues(dashboard);
      const empty: string[] = [];
      for (const panel of queryPanels(dashboard)) {
        for (const target of panel.targets ?? []) {
          const series = await influx(substitute(target.query, all));
          if (!hasData(series)) empty.push(panel.title);
        }
      }
      expect(empty).toEqual([]);
    });
  }

  it('the counting panels count what the store recorded', async () => {
    const overview = dashboards.find(({ dashboard }) => dashboard.uid === 'mailscope-overview')!.dashboard;
    const panelValue = async (title: string) => {
      const target = queryPanels(overview).find((panel) => panel.title === title)!.targets![0]!;
      const series = await influx(substitute(target.query, {}));
      return series[0]?.values[0]?.[1];
    };
    /** Distinct entities whose latest observation, in some probe, matches. */
    const countLatest = (measurement: string, entity: string, matches: (o: Observation) => boolean) => {
      const latest = new Map<string, Observation>();
      for (const o of recorded.filter((candidate) => candidate.measurement === measurement)) {
        const key = `${o.tags.probe} ${o.tags[entity]}`;
        const previous = latest.get(key);
        if (!previous || previous.time <= o.time) latest.set(key, o);
      }
      return new Set([...latest.values()].filter(matches).map((o) => o.tags[entity])).size;
    };
    const listedTargets = countLatest('blacklist_target', 'target', (o) => Number(o.fields.listed_count) > 0);
    const failingProbes = countLatest('probe_run', 'probe', (o) => o.fields.success === false);
    const failingDomains = countLatest('dns_auth_domain', 'domain', (o) => o.fields.level === 2);
    expect(listedTargets).toBeGreaterThan(0);
    expect(failingProbes).toBeGreaterThan(0);
    expect(await panelValue('Targets listed')).toBe(listedTargets);
    expect(await panelValue('Probes failing')).toBe(failingProbes);
    expect(await panelValue('Domains failing authentication')).toBe(failingDomains);
    const count = (state: string, rules = Object.keys(alertStates)) => rules.flatMap((rule) => alertStates[rule] ?? []).filter((one) => one === state).length;
    expect(await panelValue('Alerts firing')).toBe(count('firing'));
    expect(await panelValue('Critical alerts firing')).toBe(count('firing', ['ip-listed', 'domain-listed']));
    expect(await panelValue('Alerts pending')).toBe(count('pending'));
    expect(count('firing')).toBeGreaterThan(count('firing', ['ip-listed', 'domain-listed']));
    const active = (action: string) => controlStates.filter((control) => control.active && control.action === action).length;
    expect(active('pause')).toBeGreaterThan(1);
    expect(await panelValue('Pauses active')).toBe(active('pause'));
    expect(await panelValue('Throttles active')).toBe(active('throttle'));
    expect(await panelValue('Messages held')).toBe(1);
  });

  it('the feedback panels show what the reports said: pass rate, who fails, forwarders, TLS failures per MX, complaints', async () => {
    const dmarc = dashboards.find(({ dashboard }) => dashboard.uid === 'mailscope-dmarc')!.dashboard;
    const overview = dashboards.find(({ dashboard }) => dashboard.uid === 'mailscope-overview')!.dashboard;
    /** Each target of a panel: its series, as tags and rows. */
    const answers = async (dashboard: GrafanaDashboard, title: string) => {
      const panel = queryPanels(dashboard).find((candidate) => candidate.title === title)!;
      const all = await allValues(dashboard);
      return Promise.all(panel.targets!.map(async (target) => (await influx(substitute(target.query, all))).map((one) => ({ tags: one.tags ?? {}, columns: one.columns, rows: one.values }))));
    };
    const single = async (dashboard: GrafanaDashboard, title: string) => (await answers(dashboard, title)).map((series) => series[0]?.rows[0]?.[1]);
    const rows = dmarcReports.flatMap((report) => report.rows);
    const passing = (row: AggregateRowInput) => row.dkim !== 'fail' || row.spf !== 'fail';
    const messages = (matches: (row: AggregateRowInput) => boolean) => rows.filter(matches).reduce((sum, row) => sum + row.count, 0);
    const ours = (row: AggregateRowInput) => trafficSlots.some((slot) => slot.ip === row.ip);

    const [passRate] = await answers(overview, 'DMARC pass rate');
    expect(passRate!.map((one) => [one.tags.domain, one.rows[0]![1]])).toEqual([['sender.test', messages(passing) / messages(() => true)]]);
    expect(await single(dmarc, 'Unaligned messages')).toEqual([messages((row) => !passing(row))]);
    expect(await single(dmarc, 'Quarantined or rejected')).toEqual([messages((row) => row.disposition !== undefined && row.disposition !== 'none')]);
    expect(await single(dmarc, 'Your IPs and others')).toEqual([
      messages((row) => ours(row) && passing(row)),
      messages((row) => ours(row) && !passing(row)),
      messages((row) => !ours(row) && passing(row)),
      messages((row) => !ours(row) && !passing(row)),
    ]);
    // Forwarders: Gmail's servers, named by their confirmed reverse DNS, let through by the receiver; not the spoofers.
    const [forwarders] = await answers(dmarc, 'Forwarders');
    expect(forwarders!.map((one) => [one.tags.source, one.tags.reporter, ...one.rows[0]!.slice(1)])).toEqual([['google.com', 'google.com', 5, 5, 0, 0]]);
    // The ESP is named too, and passes.
    const [sources] = await answers(dmarc, 'Sources');
    expect(sources!.find((one) => one.tags.source === 'sendgrid.net')).toMatchObject({ tags: { aligned: 'true', own: 'false' } });

    const [byMx] = await answers(dmarc, 'TLS failures by MX');
    expect(byMx!.map((one) => [one.tags.mx, ...one.rows[0]!.slice(1)])).toEqual([
      ['mx.sender.test', 3, 'certificate-expired'],
      ['mx2.sender.test', 1, 'starttls-not-supported'],
    ]);
    const [campaigns] = await answers(dmarc, 'Complaints by campaign');
    expect(campaigns!.map((one) => [one.tags.campaign, one.rows.reduce((sum, row) => sum + Number(row[1] ?? 0), 0)])).toEqual([['spring-sale', 1]]);
    // Each provider's rate over the deliveries the traffic counted to it from the complained-about IP.
    const [rates] = await answers(overview, 'Complaint rate by provider');
    expect(rates!.map((one) => one.tags.provider).sort()).toEqual(['outlook', 'yahoo']);
    for (const one of rates!) expect(one.rows[0]![1]).toBeGreaterThan(0);
  });

  it('the traffic panels show what was sent, counted from the events: rates from summed counts per interval, never averaged', async () => {
    const interval = 600_000;
    /** The point (minute and slice) an event is counted in. */
    const pointOf = (e: TrafficEvent) => `${minuteOf(e)} ${e.recipientDomain} ${e.ip} ${e.pool}`;
    /** Counts of some events: outcomes, bounce classes, and the average latency of each point (minute and slice) they fall in. */
    const tally = (events: TrafficEvent[]) => {
      const count = (outcome: string) => events.filter((e) => e.outcome === outcome).length;
      const classes: Record<string, number> = {};
      for (const e of events) {
        if (e.outcome === 'delivered') continue;
        // Deferrals and bounces were sent with their class; expiries and complaints are their own.
        const name = e.bounceClass ?? (e.outcome === 'expired' ? 'expired' : 'complaint');
        classes[name] = (classes[name] ?? 0) + 1;
      }
      const latencies = new Map<string, number[]>();
      for (const e of events) if (e.latencyMs !== undefined) latencies.set(pointOf(e), [...(latencies.get(pointOf(e)) ?? []), e.latencyMs]);
      const delivered = count('delivered');
      const deferred = count('deferred');
      const bounced = count('bounced');
      const expired = count('expired');
      const attempts = delivered + deferred + bounced + expired;
      const averages = [...latencies.values()].map((values) => values.reduce((a, b) => a + b, 0) / values.length);
      return {
        attempts,
        delivered,
        deferred,
        bounced,
        expired,
        complained: count('complained'),
        rates: [delivered / attempts, deferred / attempts, (bounced + expired) / attempts],
        classes: bounceClassNames.map((name) => classes[name] ?? 0),
        latency: averages.length === 0 ? [] : [averages.reduce((a, b) => a + b, 0) / averages.length, Math.max(...[...latencies.values()].flat())],
      };
    };
    type Tally = ReturnType<typeof tally>;
    type Tag = 'provider' | 'ip' | 'pool';
    /** What a panel's query answers: per group of these tags (only traffic that has them), over the range or per interval, where `shown`, these columns. */
    interface Expected {
      by: Tag[];
      perInterval: boolean;
      shown?: (t: Tally) => boolean;
      columns: (t: Tally) => number[];
    }
    const hasAttempts = (t: Tally) => t.attempts > 0;
    const rate = (index: number, by: Tag[], perInterval: boolean): Expected => ({ by, perInterval, shown: hasAttempts, columns: (t) => [t.rates[index]!] });
    const expected: Record<string, Expected> = {
      Attempts: { by: [], perInterval: false, columns: (t) => [t.attempts] },
      'Delivery rate': rate(0, [], false),
      'Deferral rate': rate(1, [], false),
      'Bounce rate': rate(2, [], false),
      Complaints: { by: [], perInterval: false, columns: (t) => [t.complained] },
      'Complaint rate': { by: [], perInterval: false, shown: (t) => t.delivered > 0, columns: (t) => [t.complained / t.delivered] },
      'Attempts by provider': { by: ['provider'], perInterval: true, columns: (t) => [t.attempts] },
      'Delivery rate by provider': rate(0, ['provider'], true),
      'Deferral rate by provider': rate(1, ['provider'], true),
      'Bounce rate by provider': rate(2, ['provider'], true),
      Providers: { by: ['provider'], perInterval: false, shown: hasAttempts, columns: (t) => [t.attempts, t.delivered, t.deferred, t.bounced, t.expired, ...t.rates] },
      'Top bounce classes': { by: [], perInterval: false, columns: (t) => t.classes },
      'Bounce classes over time': { by: [], perInterval: true, columns: (t) => t.classes },
      'Bounce classes by provider': { by: ['provider'], perInterval: false, columns: (t) => t.classes },
      'Attempts by sending IP': { by: ['ip'], perInterval: true, columns: (t) => [t.attempts] },
      'Deferral rate by sending IP': rate(1, ['ip'], true),
      'Sending IPs by provider': { by: ['ip', 'provider'], perInterval: false, shown: hasAttempts, columns: (t) => [t.attempts, ...t.rates] },
      'Attempts by pool': { by: ['pool'], perInterval: true, columns: (t) => [t.attempts] },
      'Deferral rate by pool': rate(1, ['pool'], true),
      'Bounce rate by pool': rate(2, ['pool'], true),
      'Complaints by provider': { by: ['provider'], perInterval: true, columns: (t) => [t.complained] },
      'Complaint rate by provider': { by: ['provider'], perInterval: true, shown: (t) => t.delivered > 0, columns: (t) => [t.complained / t.delivered] },
      'Delivery latency by provider': { by: ['provider'], perInterval: true, shown: (t) => t.latency.length > 0, columns: (t) => t.latency },
    };
    const tagOf = (e: TrafficEvent, tag: Tag) => (tag === 'provider' ? providerOfDomain[e.recipientDomain]! : (e[tag] ?? ''));
    const keyOf = (tags: string[], time: number | undefined) => `${tags.join(' ')}${time === undefined ? '' : ` @${new Date(time).toISOString()}`}`;
    /** What the panel should show, counted from the events. */
    const expectedOf = ({ by, perInterval, shown = () => true, columns }: Expected) => {
      const groups = new Map<string, TrafficEvent[]>();
      for (const e of sentTraffic.filter((candidate) => by.every((tag) => tagOf(candidate, tag) !== ''))) {
        const key = keyOf(
          by.map((tag) => tagOf(e, tag)),
          perInterval ? Math.floor(e.time.getTime() / interval) * interval : undefined,
        );
        groups.set(key, [...(groups.get(key) ?? []), e]);
      }
      return new Map(
        [...groups]
          .map(([key, events]) => [key, tally(events)] as const)
          .filter(([, t]) => shown(t))
          .map(([key, t]) => [key, columns(t)]),
      );
    };

    const panels = dashboards.flatMap(({ name, dashboard }) =>
      queryPanels(dashboard)
        .filter((panel) => panel.targets?.some((target) => target.query.includes('FROM "traffic"')))
        .map((panel) => ({ name, dashboard, panel })),
    );
    expect(panels.length).toBe(Object.keys(expected).length + 3);
    for (const { name, dashboard, panel } of panels) {
      const want = expected[panel.title];
      expect(want, `${name}: ${panel.title} has an expectation`).toBeDefined();
      const series = await influx(substitute(panel.targets![0]!.query, await allValues(dashboard), `${interval / 60_000}m`));
      const got = new Map<string, unknown[]>();
      for (const one of series) {
        for (const [time, ...values] of one.values) {
          // A row of nothing (no latency in the interval) shows nothing.
          if (values.every((value) => value === null)) continue;
          got.set(
            keyOf(
              want!.by.map((tag) => one.tags?.[tag] ?? ''),
              want!.perInterval ? Number(time) : undefined,
            ),
            values,
          );
        }
      }
      const wanted = expectedOf(want!);
      expect([...got.keys()].sort(), `${name}: ${panel.title}`).toEqual([...wanted.keys()].sort());
      for (const [key, values] of wanted) {
        const row = got.get(key)!;
        expect(row.length, `${name}: ${panel.title} ${key}`).toBe(values.length);
        for (const [index, value] of values.entries()) expect(row[index] as number, `${name}: ${panel.title} ${key} column ${index}`).toBeCloseTo(value, 4);
      }
    }

    // The data set tells a rate of summed counts from a mean of the minutes' rates: they differ.
    const points = new Map<string, TrafficEvent[]>();
    for (const e of sentTraffic) points.set(pointOf(e), [...(points.get(pointOf(e)) ?? []), e]);
    const averaged = [...points.values()]
      .map(tally)
      .filter(hasAttempts)
      .map((t) => t.rates[1]!);
    const mean = averaged.reduce((a, b) => a + b, 0) / averaged.length;
    expect(Math.abs(mean - tally(sentTraffic).rates[1]!)).toBeGreaterThan(0.01);
    // Per IP and pool: traffic without one is left out; everything is in the totals.
    expect(sentTraffic.some((e) => e.ip === undefined && e.outcome === 'delivered')).toBe(true);
    expect(tally(sentTraffic).classes.filter((count) => count > 0).length).toBe(deferralClasses.length + bounceClassesSent.length + 2);
  });
});
