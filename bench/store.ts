/**
 * npm run bench -- store
 *
 * The store on its two engines, in one run: node:sqlite (Database.open, a file in
 * a temporary data dir) and PostgreSQL (Database.connect: the connection in a
 * worker thread, the store's thread waiting on Atomics.wait for each statement),
 * on a database made for the run (mailscope_bench_<random>) and dropped at the end,
 * also when the bench fails. Each engine is the other's reference:
 * - Record path: a blacklist run of 1,000 (target, list) pairs (250 addresses of a
 *   configured /24 on 4 IP lists, 1 pair in 7 listed, 1 in 53 a DNS error), with
 *   the per-list and per-target points the probe adds, recorded by record(): one
 *   transaction with the run row, 1,255 observations, their 1,255 outbox lines and
 *   the listings' series state (listed_since). Built before the clock starts; 2
 *   warm-up runs, then 20 per engine, the engines alternating; median ms per run,
 *   runs/s, and PostgreSQL / SQLite (PostgreSQL is expected slower: one loopback
 *   round trip per statement; reported, no goal). Checked after each engine: every
 *   run recorded as a success with every observation, probe_runs = the runs,
 *   outbox lines = observations = runs × 1,255, series_state = the listed pairs.
 * - Policy API: GET /v1/policy?ip=&pool=&rcpt_domain= with 1,000 active controls
 *   (pauses and throttles on ip, CIDR ranges, pool, rcpt_domain, provider, ip +
 *   rcpt_domain, and tenant and campaign ones the questions leave unsure), made in
 *   each store through ControlService.create. Each engine's server is the API as
 *   bench/policy.ts builds it (viewer token, ControlService started at the default
 *   5 s interval, logs to /dev/null), in its own process, the load from this one
 *   under autocannon, 32 keep-alive connections, 8 rounds of 3 s, the engines
 *   one right after the other in each round (in turn first), medians. Two rows:
 *   2,000 distinct questions asked again and again (the route keeps answers per
 *   URL), and "every question new" (a from_domain never sent before, so each
 *   answer is worked out). Requests/s, p50, p99 and the slowest answer on each
 *   engine; PostgreSQL / SQLite as the median of the rounds' ratios (the machine's
 *   other load weighs on both halves of a round alike). GOAL: PostgreSQL ≥ 0.9 ×
 *   SQLite on both rows (the answers come from memory: the engine must not show).
 *   Every distinct question is first asked of both servers and answered by this
 *   process's own ControlService on each store: the answers (control ids replaced by
 *   the control's place in the list made) must be the same on both engines and
 *   agree with decide(); each timed answer must then be byte for byte its engine's
 *   answer. Each server counts the store statements it runs: outside the controls'
 *   tick, none may run while the load is on (a policy answer must not touch the
 *   store). The longest tick in each timed round is printed, and the longest of
 *   the server's life (once a minute the tick writes every active control's point:
 *   3 statements per control): the tick's statements hold the server's event loop,
 *   on PostgreSQL a loopback round trip each. Reported, no goal; a heartbeat that
 *   falls in a round weighs on that round's ratio only.
 * A wrong answer, a wrong count, a store statement under load or a missed goal
 * fails the bench (exit 1). PostgreSQL not reachable: exit 2.
 *
 * MAILSCOPE_BENCH_POSTGRES_URL: the server to use (a role that may create and drop
 * databases); default postgres://postgres@127.0.0.1:5432/postgres.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../src/config/load.ts';
import { controlSettingsOf } from '../src/config/settings.ts';
import { systemClock } from '../src/core/clock.ts';
import type { ControlAction } from '../src/core/control-vocabulary.ts';
import { createLogger } from '../src/core/logger.ts';
import type { Observation } from '../src/core/observation.ts';
import { scopeKeyNames, type Scope } from '../src/core/scope.ts';
import { ControlService } from '../src/controls/service.ts';
import { buildApp } from '../src/http/app.ts';
import { pairObservation } from '../src/probes/blacklist.ts';
import type { PairResult } from '../src/probes/dnsbl-check.ts';
import { builtinLists } from '../src/probes/dnsbl-lists.ts';
import type { DnsblTarget } from '../src/probes/dnsbl-targets.ts';
import type { ListSpec } from '../src/probes/dnsbl-verdict.ts';
import { DnsClient } from '../src/protocols/dns/client.ts';
import { storeQueries } from '../src/queries/index.ts';
import { Runner } from '../src/runner/runner.ts';
import { outboxSnapshotOf, probeServicesOf } from '../src/runner/services.ts';
import { Database } from '../src/store/database.ts';
import type { SqlValue, Statement } from '../src/store/engine.ts';
import { redactUrl } from '../src/store/postgres.ts';
import { record } from '../src/store/record.ts';
import type { RunResult as ProbeRun } from '../src/store/runs.ts';
import { checkedGets, median, Mismatches, percentiles, random, ServerChild } from './lib/measure.ts';

type EngineName = 'sqlite' | 'postgres';
const engines: EngineName[] = ['sqlite', 'postgres'];
const label: Record<EngineName, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };

const defaultPostgresUrl = 'postgres://postgres@127.0.0.1:5432/postgres';
/** How the server child finds its database (not in argv: the URL may hold a password). */
const childUrlVariable = 'MAILSCOPE_BENCH_STORE_URL';

const listIds = ['spamhaus-zen', 'spamcop', 'psbl', 'uceprotect-1'];
const targetCount = 250;
const listedEvery = 7;
const errorEvery = 53;
const warmupRuns = 2;
const recordRuns = 20;

const rounds = 8;
const httpConnections = 32;
const httpSeconds = 3;
const warmupSeconds = 1;
const distinctQuestions = 2_000;
const viewerToken = 'bench-viewer-token-000000000001';
const goal = 0.9;

const fmt = (value: number) => Math.round(value).toLocaleString('en');

/** Counts the statements a store runs (prepared ones and plain SQL: BEGIN, COMMIT), wrapped at the engine. */
function countStatements(db: Database): { count: number } {
  const counter = { count: 0 };
  const engine = db.engine;
  const prepare = engine.prepare.bind(engine);
  const exec = engine.exec.bind(engine);
  engine.prepare = (sql: string): Statement => {
    const statement = prepare(sql);
    const counted =
      <T>(run: (...parameters: SqlValue[]) => T) =>
      (...parameters: SqlValue[]): T => {
        counter.count++;
        return run(...parameters);
      };
    return { run: counted(statement.run), get: counted(statement.get), all: counted(statement.all) };
  };
  engine.exec = (sql: string) => {
    counter.count++;
    exec(sql);
  };
  return counter;
}

// ---------------------------------------------------------------- the record path

const lists: ListSpec[] = listIds.map((id) => {
  const list = builtinLists.find((one) => one.id === id);
  if (list?.kind !== 'ip') throw new Error(`bench: ${id} is not an IP list of the catalog`);
  return list;
});
const range = '198.51.100.0/24';
const targets: DnsblTarget[] = Array.from({ length: targetCount }, (_, i) => ({ value: `198.51.100.${1 + i}`, kind: 'ip', family: 4, range }));
const pairCount = targets.length * lists.length;
const listedPairs = Array.from({ length: pairCount }, (_, p) => p).filter((p) => p % listedEvery === 0).length;

/** What the blacklist probe hands the runner after a sweep: a point per pair, per list and per target. */
function blacklistRun(n: number, at: Date): ProbeRun {
  const observations: Observation[] = [];
  const summaries = targets.map((target) => ({ target, checked: 0, listed: [] as string[], errors: 0 }));
  targets.forEach((target, t) => {
    lists.forEach((list, l) => {
      const p = t * lists.length + l;
      const [code, meaning] = Object.entries(list.codes ?? { '127.0.0.2': 'listed' })[0]!;
      const result: PairResult =
        p % listedEvery === 0
          ? {
              target,
              list,
              verdict: { status: 'listed', codes: [code], meanings: [meaning] },
              reason: `Listed since the bench began: see https://${list.zone}/lookup?ip=${target.value}`,
              ms: 4 + (p % 40),
            }
          : p % errorEvery === 0
            ? { target, list, verdict: { status: 'error', code: 'DNS_TIMEOUT', message: `no answer from 127.0.0.1:53 in 2000 ms (run ${n})`, codes: [] }, ms: 2_000 }
            : { target, list, verdict: { status: 'not_listed', codes: [], meanings: [] }, ms: 3 + (p % 30) };
      observations.push(pairObservation(result, at));
      const summary = summaries[t]!;
      summary.checked++;
      if (result.verdict.status === 'listed') summary.listed.push(list.id);
      if (result.verdict.status === 'error') summary.errors++;
    });
  });
  for (const list of lists) observations.push({ measurement: 'blacklist_list', tags: { list: list.id }, fields: { healthy: true, test_ms: 5 }, time: at });
  for (const summary of summaries) {
    observations.push({
      measurement: 'blacklist_target',
      tags: { target: summary.target.value, target_kind: summary.target.kind, range },
      fields: { lists_checked: summary.checked, listed_count: summary.listed.length, error_count: summary.errors, listed_on: summary.listed.join(',') },
      time: at,
    });
  }
  const finishedAt = new Date(at.getTime() + 4_200);
  return { probeId: 'fleet-blocklists', kind: 'blacklist', trigger: 'schedule', startedAt: at, finishedAt, durationMs: 4_200, success: true, observations };
}
/** Observations per recorded run: the pairs, the lists, the targets, and probe_run. */
const observationsPerRun = pairCount + lists.length + targets.length + 1;

interface RecordFigures {
  ms: number[];
  statementsPerRun: number;
  problems: string[];
}

function count(db: Database, table: string): number {
  return Number(db.statement(`SELECT count(*) AS n FROM ${table}`).get()?.n);
}

// ---------------------------------------------------------------- controls and questions

type Key = 'ip' | 'pool' | 'rcpt_domain' | 'provider' | 'campaign' | 'tenant';
interface Spec {
  action: ControlAction;
  scope: Partial<Record<Key, string>>;
  rate?: number;
  reason: string;
  expires: boolean;
}

const v4 = (b: number, n: number) => `10.${b}.${n >> 8}.${n & 255}`;
const fleetIp = (i: number) => v4(50, 1 + i);
const providerDomains = ['gmail.com', 'outlook.com', 'hotmail.com', 'yahoo.com', 'icloud.com', 'gmx.de', 'web.de', 'comcast.net', 'orange.fr', 'mail.ru'];
const rates = [300, 600, 1_200, 3_000, 6_000, 12_000, 30_000];

function controlSpecs(): Spec[] {
  const specs: Spec[] = [];
  const add = (kind: string, action: ControlAction, scope: Spec['scope']) => {
    const n = specs.length;
    specs.push({ action, scope, ...(action === 'throttle' ? { rate: rates[n % rates.length]! } : {}), reason: `bench #${n}: ${kind}`, expires: n % 3 === 0 });
  };
  for (let k = 0; k < 280; k++) add('ip', 'pause', { ip: v4(20, 1 + k) });
  for (let k = 0; k < 130; k++) add('ip', 'throttle', { ip: v4(21, 1 + k) });
  for (let k = 0; k < 40; k++) add('cidr', 'pause', { ip: `10.30.${k}.0/24` });
  for (let k = 0; k < 40; k++) add('cidr', 'throttle', { ip: `10.31.${k}.0/24` });
  for (let k = 0; k < 100; k++) add('pool', 'pause', { pool: `pool-hold-${k}` });
  for (let k = 0; k < 100; k++) add('pool', 'throttle', { pool: `pool-slow-${k}` });
  for (let k = 0; k < 100; k++) add('rcpt_domain', 'pause', { rcpt_domain: `hold-${k}.example` });
  for (let k = 0; k < 100; k++) add('rcpt_domain', 'throttle', { rcpt_domain: `slow-${k}.example` });
  for (const provider of ['comcast', 'orange']) add('provider', 'pause', { provider });
  for (const provider of ['yahoo', 'apple', 'gmx', 'mailru']) add('provider', 'throttle', { provider });
  for (let k = 0; k < 64; k++) add('ip+rcpt_domain', k % 4 === 0 ? 'pause' : 'throttle', { ip: fleetIp((k * 37) % 1_000), rcpt_domain: providerDomains[k % 7]! });
  // Keys the questions never give: these are unsure in every answer (listed, counted, not applied: failMode open).
  for (let k = 0; k < 20; k++) add('tenant', 'pause', { tenant: `tenant-hold-${k}` });
  for (let k = 0; k < 20; k++) add('campaign', 'throttle', { campaign: `cmp-slow-${k}` });
  return specs;
}

function questions(rng: () => number, count: number): { ip: string; pool: string; rcpt_domain: string }[] {
  const int = (n: number) => Math.floor(rng() * n);
  const seen = new Set<string>();
  const out: { ip: string; pool: string; rcpt_domain: string }[] = [];
  while (out.length < count) {
    const r = rng();
    const ip =
      r < 0.7
        ? fleetIp(int(1_000))
        : r < 0.78
          ? v4(20, 1 + int(280))
          : r < 0.82
            ? v4(21, 1 + int(130))
            : r < 0.86
              ? `10.30.${int(40)}.${1 + int(254)}`
              : r < 0.9
                ? `10.31.${int(40)}.${1 + int(254)}`
                : `10.60.${int(256)}.${1 + int(254)}`;
    const p = rng();
    const pool = p < 0.8 ? `pool-${int(50)}` : p < 0.85 ? `pool-hold-${int(100)}` : p < 0.9 ? `pool-slow-${int(100)}` : 'shared';
    const d = rng();
    const rcpt_domain =
      d < 0.55
        ? providerDomains[int(providerDomains.length)]!
        : d < 0.85
          ? `corp-${int(200)}.example`
          : d < 0.9
            ? `hold-${int(100)}.example`
            : d < 0.95
              ? `slow-${int(100)}.example`
              : ['GMAIL.COM', 'Outlook.com.', 'Yahoo.com', 'corp-3.EXAMPLE'][int(4)]!;
    const key = `${ip} ${pool} ${rcpt_domain}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ ip, pool, rcpt_domain });
  }
  return out;
}

interface Answer {
  action: string;
  rate?: number;
  controls: { id: string }[];
  unsure: { id: string; missing: string[] }[];
  unsureCount: number;
  missing: string[];
}

/** An answer with every control id replaced by the control's place in the list made: the same on both engines. */
function normalized(body: string, place: ReadonlyMap<string, number>): string {
  return body.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (id) => `#${place.get(id) ?? `unknown ${id}`}`);
}

// ---------------------------------------------------------------- server processes

type ToChild = { type: 'stats' } | { type: 'stop' };
interface Stats {
  type: 'stats';
  cpu: number;
  statements: number;
  tickStatements: number;
  ticks: number;
  /** The longest tick since the last look, ms. */
  longestTick: number;
  /** The longest tick since the server started, and the statements it ran. */
  longestEver: number;
  longestEverStatements: number;
}
type FromChild = { type: 'ready'; http: number; active: number } | Stats;

/** The API as bench/policy.ts builds it, over the store on one engine, counting the store's statements. */
async function serveMailscope(engine: EngineName, dir: string): Promise<void> {
  const config = loadConfig('mailscope.yaml', { cwd: dir, env: { VIEWER_TOKEN: viewerToken } });
  const log = createLogger({ level: config.instance.log.level, destination: pino.destination({ dest: '/dev/null', sync: true }) });
  const clock = systemClock;
  const db = engine === 'sqlite' ? Database.open(config.dataDir) : Database.connect({ url: process.env[childUrlVariable]!, applicationName: 'mailscope-bench' });
  const counter = countStatements(db);
  const dns = new DnsClient({ servers: [{ host: '127.0.0.1', port: 53 }] });
  const runner = new Runner({ db, clock, log, services: probeServicesOf(config.instance, dns, outboxSnapshotOf(db, clock, false)) });
  const controls = new ControlService({ db, clock, log, settings: controlSettingsOf(config.instance) });
  let tickStatements = 0;
  let ticks = 0;
  let longestTick = 0;
  let longestEver = 0;
  let longestEverStatements = 0;
  const tick = controls.tick.bind(controls);
  controls.tick = () => {
    const before = counter.count;
    const started = performance.now();
    try {
      tick();
    } finally {
      ticks++;
      const ms = performance.now() - started;
      longestTick = Math.max(longestTick, ms);
      if (ms > longestEver) {
        longestEver = ms;
        longestEverStatements = counter.count - before;
      }
      tickStatements += counter.count - before;
    }
  };
  controls.start(config.instance.controls.interval);
  const app = await buildApp({ config, probes: config.probes, queries: storeQueries(db), runner, clock, controls }, { log, version: 'bench' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.on('message', (message: ToChild) => {
    if (message.type === 'stats') {
      const usage = process.cpuUsage();
      process.send!({ type: 'stats', cpu: usage.user + usage.system, statements: counter.count, tickStatements, ticks, longestTick, longestEver, longestEverStatements } satisfies FromChild);
      longestTick = 0;
    } else if (message.type === 'stop') {
      void (async () => {
        await app.close();
        controls.stop();
        await runner.stop();
        dns.close();
        db.close();
        process.exit(0);
      })();
    }
  });
  const address = app.server.address();
  process.send!({ type: 'ready', http: typeof address === 'object' && address ? address.port : 0, active: controls.active.length } satisfies FromChild);
}

class Child extends ServerChild<ToChild, FromChild> {
  constructor(engine: EngineName, dir: string, url: string) {
    super(`${label[engine]} server`, import.meta.filename, ['--serve', engine, dir], { execArgv: [], env: { ...process.env, [childUrlVariable]: url } });
  }

  stats(): Promise<Stats> {
    return this.ask({ type: 'stats' });
  }
}

// ---------------------------------------------------------------- load

interface LoadResult {
  rate: number;
  p50: number;
  p99: number;
  /** The slowest answer, ms. */
  max: number;
  cpuPerAnswer: number;
  longestTick: number;
  ticks: number;
  /** Store statements while loaded: in the controls' tick, and outside it (must be none). */
  tickStatements: number;
  outsideTicks: number;
}

const mismatches = new Mismatches();
const mismatch = (what: string) => mismatches.add(what);

/** pathOf(q): the URL for question q, called once per request (it may make every URL new). */
async function load(
  engine: EngineName,
  port: number,
  seconds: number,
  server: Child,
  sequence: readonly number[],
  pathOf: (q: number) => string,
  expectedBody: (q: number) => string,
): Promise<LoadResult> {
  const before = await server.stats();
  const result = await checkedGets({ port, seconds, connections: httpConnections, token: viewerToken, sequence, pathOf, expectedBody, mismatches, label: label[engine] });
  const after = await server.stats();
  if (result.errors > 0 || result.timeouts > 0) mismatch(`${label[engine]}: autocannon saw ${result.errors} errors, ${result.timeouts} timeouts`);
  const outsideTicks = after.statements - before.statements - (after.tickStatements - before.tickStatements);
  if (outsideTicks !== 0) mismatch(`${label[engine]}: ${outsideTicks} store statements outside the controls' tick while the policy API was under load`);
  return {
    rate: result.answers / result.duration,
    ...percentiles(result.latencies),
    cpuPerAnswer: (after.cpu - before.cpu) / result.answers,
    longestTick: after.longestTick,
    ticks: after.ticks - before.ticks,
    tickStatements: after.tickStatements - before.tickStatements,
    outsideTicks,
  };
}

// ---------------------------------------------------------------- the bench

async function reachPostgres(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000, application_name: 'mailscope-bench-admin' });
  client.on('error', () => {});
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => {});
    console.error(
      `store bench: PostgreSQL at ${redactUrl(url)} is not reachable (${(error as Error).message}).\n` +
        'Start it (pg_ctlcluster --skip-systemctl-redirect 15 main start), or set MAILSCOPE_BENCH_POSTGRES_URL to a server where this role may create databases.',
    );
    process.exit(2);
  }
}

async function main(): Promise<void> {
  const benchStarted = performance.now();
  const adminUrl = process.env.MAILSCOPE_BENCH_POSTGRES_URL || defaultPostgresUrl;
  const admin = await reachPostgres(adminUrl);
  const name = `mailscope_bench_${randomBytes(6).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'mailscope-bench-'));
  const children: Child[] = [];
  const opened: Database[] = [];
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    for (const db of opened.splice(0)) {
      try {
        db.close();
      } catch {
        // Dropped below either way (FORCE ends its connections).
      }
    }
    for (const child of children) if (child.process.exitCode === null) child.process.kill();
    rmSync(dir, { recursive: true, force: true });
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await admin.end().catch(() => {});
    }
  };
  // Interrupted: the database goes too.
  const interrupted = (signal: NodeJS.Signals) => {
    void drop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const version = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const dbUrl = url.href;
    writeFileSync(join(dir, 'mailscope.yaml'), ['dataDir: ./data', 'http: { listen: "127.0.0.1:0" }', 'tokens:', '  - { name: grafana, role: viewer, token: "${VIEWER_TOKEN}" }'].join('\n'));
    const config = loadConfig('mailscope.yaml', { cwd: dir, env: { VIEWER_TOKEN: viewerToken } });

    const stores = {
      sqlite: Database.open(config.dataDir),
      postgres: Database.connect({ url: dbUrl, applicationName: 'mailscope-bench' }),
    } satisfies Record<EngineName, Database>;
    opened.push(stores.sqlite, stores.postgres);
    const counters = { sqlite: countStatements(stores.sqlite), postgres: countStatements(stores.postgres) };
    console.log(`store bench: SQLite at ${stores.sqlite.path}; PostgreSQL ${version} at ${redactUrl(dbUrl)} (made for this run); Node ${process.version}\n`);

    // ------------------------------------------------ record path
    const base = Date.now() - (warmupRuns + recordRuns + 1) * 300_000;
    const figures: Record<EngineName, RecordFigures> = { sqlite: { ms: [], statementsPerRun: 0, problems: [] }, postgres: { ms: [], statementsPerRun: 0, problems: [] } };
    const recordOne = (engine: EngineName, n: number): number => {
      const run = blacklistRun(n, new Date(base + n * 300_000));
      const db = stores[engine];
      const statementsBefore = counters[engine].count;
      const started = performance.now();
      const recorded = record(db, run);
      const ms = performance.now() - started;
      figures[engine].statementsPerRun = counters[engine].count - statementsBefore;
      if (!recorded.success || recorded.observations.length !== observationsPerRun) {
        figures[engine].problems.push(`run ${n}: success ${recorded.success} ${recorded.error?.message ?? ''}, ${recorded.observations.length} observations (expected ${observationsPerRun})`);
      }
      return ms;
    };
    let n = 0;
    for (; n < warmupRuns; n++) for (const engine of engines) recordOne(engine, n);
    for (let round = 0; round < recordRuns; round++, n++) {
      for (const engine of round % 2 === 0 ? engines : [...engines].reverse()) figures[engine].ms.push(recordOne(engine, n));
    }
    const runsMade = warmupRuns + recordRuns;
    for (const engine of engines) {
      const db = stores[engine];
      const found = { runs: count(db, 'probe_runs'), observations: count(db, 'observations'), outbox: count(db, 'outbox'), listings: count(db, 'series_state') };
      const problems = figures[engine].problems;
      if (found.runs !== runsMade) problems.push(`probe_runs: ${found.runs}, expected ${runsMade}`);
      if (found.observations !== runsMade * observationsPerRun) problems.push(`observations: ${found.observations}, expected ${runsMade * observationsPerRun}`);
      if (found.outbox !== found.observations) problems.push(`outbox lines: ${found.outbox}, observations: ${found.observations}`);
      if (found.listings !== listedPairs) problems.push(`series_state: ${found.listings} listings, expected ${listedPairs}`);
      for (const problem of problems) mismatch(`record on ${label[engine]}: ${problem}`);
      console.log(
        `record ${label[engine]}: ${fmt(found.runs)} runs, ${fmt(found.observations)} observations, ${fmt(found.outbox)} outbox lines, ${found.listings} listings in series_state: ${problems.length === 0 ? 'as expected' : 'WRONG'}`,
      );
    }

    // ------------------------------------------------ controls
    const specs = controlSpecs();
    const week = Date.now() + 7 * 86_400_000;
    const made = {} as Record<EngineName, { service: ControlService; place: Map<string, number>; seconds: number }>;
    for (const engine of engines) {
      const service = new ControlService({ db: stores[engine], clock: systemClock, log: createLogger({ level: 'silent' }), settings: controlSettingsOf(config.instance) });
      const place = new Map<string, number>();
      const started = performance.now();
      specs.forEach((spec, i) => {
        const { control, created } = service.create({
          action: spec.action,
          scope: spec.scope as Scope,
          ratePerMinute: spec.rate,
          reason: spec.reason,
          expiresAt: spec.expires ? week : undefined,
          source: 'token:ops',
          actor: 'ops',
        });
        if (!created) throw new Error(`control specs: the same ${spec.action} twice on ${JSON.stringify(spec.scope)}`);
        place.set(control.id, i);
      });
      made[engine] = { service, place, seconds: (performance.now() - started) / 1_000 };
      if (service.active.length !== specs.length) throw new Error(`${label[engine]}: ${service.active.length} active controls, expected ${specs.length}`);
    }

    // The questions, and this process's own answers on each store (from memory: decide()).
    const rng = random(20_261_124);
    const mix = questions(rng, distinctQuestions);
    const sequence = Array.from({ length: distinctQuestions }, (_, i) => i);
    for (let i = sequence.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [sequence[i], sequence[j]] = [sequence[j]!, sequence[i]!];
    }
    const paths = mix.map((question) => `/v1/policy?${new URLSearchParams(question).toString()}`);
    const decided = (engine: EngineName, q: number) => {
      const decision = made[engine].service.decide(mix[q]!);
      const place = made[engine].place;
      const missing = new Set(decision.unsure.flatMap((entry) => entry.missing));
      return JSON.stringify({
        action: decision.action,
        rate: decision.ratePerMinute,
        controls: decision.controls.map((control) => place.get(control.id)).sort((a, b) => a! - b!),
        unsureCount: decision.unsure.length,
        missing: scopeKeyNames.filter((key) => missing.has(key)),
      });
    };
    const expected = { sqlite: mix.map((_, q) => decided('sqlite', q)), postgres: mix.map((_, q) => decided('postgres', q)) };
    for (const db of opened.splice(0)) db.close();

    const servers = { sqlite: new Child('sqlite', dir, dbUrl), postgres: new Child('postgres', dir, dbUrl) };
    children.push(servers.sqlite, servers.postgres);
    const ready = { sqlite: await servers.sqlite.ready, postgres: await servers.postgres.ready };
    for (const engine of engines) if (ready[engine].active !== specs.length) throw new Error(`${label[engine]} server: ${ready[engine].active} active controls, expected ${specs.length}`);

    // Every distinct question once, of both servers: the same answers on both engines, and decide()'s.
    const bodies: Record<EngineName, string[]> = { sqlite: new Array(distinctQuestions), postgres: new Array(distinctQuestions) };
    const tally = { allow: 0, throttle: 0, pause: 0 };
    for (let start = 0; start < distinctQuestions; start += 16) {
      await Promise.all(
        paths.slice(start, start + 16).map(async (path, i) => {
          const q = start + i;
          const normal: Partial<Record<EngineName, string>> = {};
          for (const engine of engines) {
            const response = await fetch(`http://127.0.0.1:${ready[engine].http}${path}`, { headers: { authorization: `Bearer ${viewerToken}` } });
            const text = await response.text();
            bodies[engine][q] = text;
            mismatches.checked++;
            if (response.status !== 200) return mismatch(`${label[engine]} GET ${path}: HTTP ${response.status} ${text.slice(0, 200)}`);
            const answer = JSON.parse(text) as Answer;
            const place = made[engine].place;
            const missing = new Set(answer.missing);
            const got = JSON.stringify({
              action: answer.action,
              rate: answer.rate,
              controls: answer.controls.map((control) => place.get(control.id)).sort((a, b) => a! - b!),
              unsureCount: answer.unsureCount,
              missing: scopeKeyNames.filter((key) => missing.has(key)),
            });
            if (got !== expected[engine][q]) return mismatch(`${label[engine]} GET ${path}: ${got}, decide() says ${expected[engine][q]}`);
            if (answer.unsure.length !== Math.min(10, answer.unsureCount)) return mismatch(`${label[engine]} GET ${path}: ${answer.unsure.length} unsure shown of ${answer.unsureCount}`);
            normal[engine] = normalized(text, place);
            if (engine === 'sqlite') tally[answer.action as keyof typeof tally]++;
          }
          if (normal.sqlite !== normal.postgres) mismatch(`GET ${path}: the engines answer differently:\n  SQLite     ${normal.sqlite}\n  PostgreSQL ${normal.postgres}`);
          return undefined;
        }),
      );
    }
    if (tally.pause === 0 || tally.throttle === 0 || tally.allow === 0) mismatch(`the mix gave ${JSON.stringify(tally)}: the bench does not exercise the controls`);
    const meanBody = bodies.sqlite.reduce((sum, body) => sum + Buffer.byteLength(body ?? ''), 0) / distinctQuestions;

    let fresh = 0;
    const repeated = (q: number) => paths[q]!;
    const everyNew = (q: number) => `${paths[q]!}&from_domain=q${fresh++}.example`;
    const results = {
      repeated: { sqlite: [] as LoadResult[], postgres: [] as LoadResult[] },
      everyNew: { sqlite: [] as LoadResult[], postgres: [] as LoadResult[] },
    };
    const runLoad = (engine: EngineName, seconds: number, pathOf: (q: number) => string) => load(engine, ready[engine].http, seconds, servers[engine], sequence, pathOf, (q) => bodies[engine][q]!);
    for (const engine of engines) {
      await runLoad(engine, warmupSeconds, repeated);
      await runLoad(engine, warmupSeconds, everyNew);
    }
    for (let round = 0; round < rounds; round++) {
      for (const engine of round % 2 === 0 ? engines : [...engines].reverse()) results.repeated[engine].push(await runLoad(engine, httpSeconds, repeated));
      for (const engine of round % 2 === 0 ? [...engines].reverse() : engines) results.everyNew[engine].push(await runLoad(engine, httpSeconds, everyNew));
    }
    const lastStats = { sqlite: await servers.sqlite.stats(), postgres: await servers.postgres.stats() };
    await Promise.all(children.map((child) => child.stop()));

    // ------------------------------------------------ the report
    console.log(
      `\nrecord path: a blacklist run of ${fmt(pairCount)} (target, list) pairs (${targets.length} addresses × ${lists.length} lists, ${listedPairs} listed), ` +
        `${fmt(observationsPerRun)} observations and outbox lines per run, one transaction; ${warmupRuns} warm-up runs, then ${recordRuns} per engine, alternating; medians`,
    );
    console.log(
      `${'engine'.padEnd(12)} ${'ms/run'.padStart(8)} ${'min'.padStart(8)} ${'max'.padStart(8)} ${'runs/s'.padStart(7)} ${'pairs/s'.padStart(8)} ${'statements/run'.padStart(15)} ${'µs/statement'.padStart(13)}`,
    );
    const recordMedian = {} as Record<EngineName, number>;
    for (const engine of engines) {
      const { ms, statementsPerRun } = figures[engine];
      const m = median(ms);
      recordMedian[engine] = m;
      const cells = [
        m.toFixed(1).padStart(8),
        Math.min(...ms)
          .toFixed(1)
          .padStart(8),
        Math.max(...ms)
          .toFixed(1)
          .padStart(8),
        (1_000 / m).toFixed(2).padStart(7),
        fmt((pairCount * 1_000) / m).padStart(8),
        fmt(statementsPerRun).padStart(15),
        ((m * 1_000) / statementsPerRun).toFixed(1).padStart(13),
      ];
      console.log(`${label[engine].padEnd(12)} ${cells.join(' ')}`);
    }
    const recordRatio = recordMedian.postgres / recordMedian.sqlite;
    console.log(`record: PostgreSQL takes ${recordRatio.toFixed(2)}× SQLite's time per run (runs/s ${(1 / recordRatio).toFixed(2)} of SQLite's; reference, no goal)`);

    console.log(
      `\npolicy: ${fmt(specs.length)} active controls, made through ControlService.create in ${made.sqlite.seconds.toFixed(1)} s on SQLite, ${made.postgres.seconds.toFixed(1)} s on PostgreSQL`,
    );
    console.log(
      `questions: ${fmt(distinctQuestions)} distinct; answers ${tally.pause} pause, ${tally.throttle} throttle, ${tally.allow} allow, mean body ${fmt(meanBody)} bytes; ` +
        `load: ${httpConnections} keep-alive connections (autocannon), ${rounds} alternating rounds of ${httpSeconds} s; medians`,
    );
    console.log(
      `${'what'.padEnd(20)} ${'engine'.padEnd(11)} ${'per second'.padStart(10)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'max ms'.padStart(7)} ${'µs CPU/answer'.padStart(13)}   rounds (per second; longest tick in it, ms)`,
    );
    const lines: string[] = [];
    let goalMissed = false;
    for (const [row, what] of [
      ['repeated', 'GET /v1/policy'],
      ['everyNew', 'every question new'],
    ] as const) {
      const summary = {} as Record<EngineName, { rate: number; p50: number; p99: number; max: number; cpu: number }>;
      for (const engine of engines) {
        const runs = results[row][engine];
        summary[engine] = {
          rate: median(runs.map((r) => r.rate)),
          p50: median(runs.map((r) => r.p50)),
          p99: median(runs.map((r) => r.p99)),
          max: Math.max(...runs.map((r) => r.max)),
          cpu: median(runs.map((r) => r.cpuPerAnswer)),
        };
        const cells = [
          fmt(summary[engine].rate).padStart(10),
          summary[engine].p50.toFixed(2).padStart(7),
          summary[engine].p99.toFixed(2).padStart(7),
          summary[engine].max.toFixed(1).padStart(7),
          summary[engine].cpu.toFixed(0).padStart(13),
        ];
        const perRound = runs.map((r) => `${fmt(r.rate)} (${r.ticks > 0 ? r.longestTick.toFixed(1) : '-'})`).join(' / ');
        console.log(`${(engine === 'sqlite' ? what : '').padEnd(20)} ${label[engine].padEnd(11)} ${cells.join(' ')}   ${perRound}`);
      }
      // Round by round: the two engines were loaded one right after the other, so what else the machine did weighs on both.
      const ratios = results[row].postgres.map((r, i) => r.rate / results[row].sqlite[i]!.rate);
      const ratio = median(ratios);
      const met = ratio >= goal;
      if (!met) goalMissed = true;
      lines.push(
        `policy ${what}: PostgreSQL ${ratio.toFixed(2)} of SQLite's requests/s (median of the rounds' ratios ${ratios.map((r) => r.toFixed(2)).join(' / ')}; goal ≥ ${goal}) ${met ? 'ok' : 'MISSED'}; ` +
          `p99 ${summary.postgres.p99.toFixed(2)} ms vs ${summary.sqlite.p99.toFixed(2)} ms (${(summary.postgres.p99 / summary.sqlite.p99).toFixed(2)}×)`,
      );
    }
    const loaded = (engine: EngineName) => [...results.repeated[engine], ...results.everyNew[engine]];
    console.log(
      `store statements while loaded (${rounds * 2} rounds each): ${engines
        .map(
          (engine) =>
            `${label[engine]} ${fmt(loaded(engine).reduce((sum, r) => sum + r.outsideTicks, 0))} outside the controls' tick (must be 0), ${fmt(loaded(engine).reduce((sum, r) => sum + r.tickStatements, 0))} in ${loaded(engine).reduce((sum, r) => sum + r.ticks, 0)} ticks`,
        )
        .join('; ')}`,
    );
    console.log(
      `controls' tick, the longest of the server's life (the minute's heartbeat: a point per active control), the event loop held: ${engines
        .map((engine) => `${label[engine]} ${lastStats[engine].longestEver.toFixed(1)} ms (${fmt(lastStats[engine].longestEverStatements)} statements, ${lastStats[engine].ticks} ticks)`)
        .join(', ')}`,
    );
    console.log(`\nanswers checked: ${fmt(mismatches.checked)}, mismatches: ${mismatches.count}; ${((performance.now() - benchStarted) / 1_000).toFixed(0)} s in all`);
    for (const line of lines) console.log(line);
    if (mismatches.count > 0) {
      console.error(`\n${mismatches.count} wrong answers or counts, first ones:\n${mismatches.shown.join('\n')}`);
      process.exitCode = 1;
    }
    if (goalMissed) process.exitCode = 1;
  } finally {
    await drop();
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}

if (process.argv[2] === '--serve') {
  await serveMailscope(process.argv[3] as EngineName, process.argv[4]!);
} else {
  await main();
}
