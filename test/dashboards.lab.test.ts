/**
 * The Grafana dashboards in dashboards/: every query answering with data on the
 * lab's real InfluxDB 1.6, loaded with the points Mailscope's own probes, store and
 * outbox flusher produce. (The files themselves: dashboards.test.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AlertEngine } from '../src/alerts/engine.ts';
import { alertSettingsOf, controlSettingsOf } from '../src/config/settings.ts';
import { loadConfig } from '../src/config/load.ts';
import { systemClock } from '../src/core/clock.ts';
import type { Observation } from '../src/core/observation.ts';
import { dnsAuth } from '../src/probes/dns-auth.ts';
import { tcp } from '../src/probes/tcp.ts';
import { blacklist } from '../src/probes/blacklist.ts';
import { DnsClient } from '../src/protocols/dns/client.ts';
import { OutboxFlusher } from '../src/runner/outbox-flusher.ts';
import { Runner } from '../src/runner/runner.ts';
import { outboxSnapshotOf, probeServicesOf } from '../src/runner/services.ts';
import { createInfluxWriter } from '../src/series/influx-writer.ts';
import { listAlerts } from '../src/store/alerts.ts';
import { heldCount, listControls, recordHeld } from '../src/store/controls.ts';
import { controlActions } from '../src/controls/rule-actions.ts';
import { ControlService } from '../src/controls/service.ts';
import { Database } from '../src/store/database.ts';
import { outboxStats } from '../src/store/outbox.ts';
import { labKeys } from './lab/keys.ts';
import { lab } from './lab/plan.ts';
import { fakeDns, txt, type Query as DnsQuery, type Reply } from './helpers/dns-server.ts';
import { captureLog } from './helpers/log.ts';
import { waitFor } from './helpers/probes.ts';
import { closedPort, tcpServer } from './helpers/servers.ts';
import { dashboards, queryPanels } from './helpers/dashboards.ts';

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

/** What Grafana sends for a query: its macros, and each multi-value variable as a regex of its values ("All"). */
function substitute(query: string, values: Record<string, string[]>): string {
  return query
    .replaceAll('$timeFilter', 'time > now() - 1h')
    .replaceAll('$__interval', '1m')
    .replace(/\$(\w+)/g, (whole, name: string) => (values[name] ? `(${values[name].map(regexEscape).join('|')})` : whole));
}

const hasData = (series: InfluxSeries[]) => series.some((one) => one.values.some((row) => row.slice(1).some((value) => value !== null)));

let recorded: Observation[] = [];
/** Alert states in the store once the data set is loaded: rule → states of its instances. */
let alertStates: Record<string, string[]> = {};
/** Controls in the store once the data set is loaded. */
let controlStates: { action: string; active: boolean; held: number }[] = [];
/** Distinct IPs the ip-listed rule fires for (each paused once, whatever the lists). */
let listedIps = 0;
const loaderName = 'the data set has what the panels show: listings, a bounce, a failed run, a change, failed lookups, failed writes';

/**
 * The demo's probes (blocklists, DNS authentication, both placement probes, tcp,
 * http, the outbox) run once against the lab and are recorded by the store; plus
 * what the demo does not produce on its first run: a failed run, a DNS record
 * change, lookups a list cannot answer, an outbox that could not write. Then the
 * outbox flusher writes it all to a fresh InfluxDB database.
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
  });

  for (const { name, dashboard } of dashboards) {
    it(`${name}: every variable and every panel query runs and returns data`, async () => {
      const values: Record<string, string[]> = {};
      for (const variable of dashboard.templating.list.filter((candidate) => candidate.type === 'query')) {
        const series = await influx(variable.query);
        values[variable.name] = series.flatMap((one) => one.values.map((row) => String(row[1])));
        expect(values[variable.name], `variable ${variable.name}`).not.toEqual([]);
      }
      const empty: string[] = [];
      for (const panel of queryPanels(dashboard)) {
        for (const target of panel.targets ?? []) {
          const series = await influx(substitute(target.query, values));
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
});
