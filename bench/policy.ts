/**
 * npm run bench -- policy
 *
 * Send-control policy decisions with 1,000 active controls in the store (pauses
 * and throttles on ip, CIDR ranges, pool, rcpt_domain, provider, campaign, tenant
 * and combinations of them, made through ControlService.create), each server in
 * its own process, the load from this one, the references in the same run:
 * - HTTP: GET /v1/policy?ip=&pool=&rcpt_domain= on the real API (viewer token;
 *   the default log level, info, to /dev/null; the route itself logs at warn) under
 *   autocannon, 32 keep-alive connections, against a bare Fastify route answering
 *   a constant JSON object of the same mean size. Goal: Mailscope / bare ≥ 0.8.
 *   The route keeps each answer per URL, so the 2,000 questions asked again and
 *   again (as a routing engine does) are mostly answered from there; a third row,
 *   "every question new", adds &from_domain=q<n>.example with n never repeated, so
 *   every answer is worked out (reference, no goal; no control has a from_domain
 *   key, so the expected answer is the base question's).
 * - Postfix: 200 connections, each sending requests one after another as smtpd
 *   does (one RCPT request per recipient, then END-OF-MESSAGE), to the policy
 *   service, against a TCP server answering action=DUNNO to every request.
 * Every answer is checked against what is expected, worked out here from the
 * controls made; one mismatch fails the bench (exit 1). Rounds alternate between
 * the two sides; medians are reported.
 *
 * MAILSCOPE_BENCH_PROFILE=DIR: the Mailscope server process writes a CPU profile
 * there (node --cpu-prof) when it stops; MAILSCOPE_BENCH_ONLY=http or postfix runs
 * one half (a profile of one protocol).
 */
import Fastify from 'fastify';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { BlockList, connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../src/config/load.ts';
import { builtinProviders } from '../src/core/providers.ts';
import { controlSettingsOf } from '../src/config/settings.ts';
import type { ControlAction } from '../src/core/control-vocabulary.ts';
import { storeQueries } from '../src/queries/index.ts';
import { sendPolicyOf } from '../src/controls/send-policy.ts';
import { ControlService } from '../src/controls/service.ts';
import { systemClock } from '../src/core/clock.ts';
import { createLogger } from '../src/core/logger.ts';
import { buildApp } from '../src/http/app.ts';
import { policyAnswers, startPolicyServer } from '../src/platforms/postfix-policy.ts';
import { DnsClient } from '../src/protocols/dns/client.ts';
import { Runner } from '../src/runner/runner.ts';
import { outboxSnapshotOf, probeServicesOf } from '../src/runner/services.ts';
import { Database } from '../src/store/database.ts';
import { checkedGets, median, Mismatches, percentiles, random, ServerChild } from './lib/measure.ts';

const rounds = 3;
const httpConnections = 32;
const httpSeconds = 5;
const postfixConnections = 200;
const postfixSeconds = 4;
const warmupSeconds = 1;
const distinctQuestions = 2_000;
const viewerToken = 'bench-viewer-token-000000000001';
const goal = 0.8;

// ---------------------------------------------------------------- server processes

type ToChild = { type: 'cpu' } | { type: 'stop' } | { type: 'body'; body: unknown };
type FromChild = { type: 'ready'; http: number; postfix: number; active: number } | { type: 'cpu'; micros: number } | { type: 'ok' };

function onMessages(handle: (message: ToChild) => Promise<FromChild | undefined>): void {
  process.on('message', (message: ToChild) => {
    void handle(message).then((reply) => reply && process.send!(reply));
  });
}

const cpuMicros = () => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

/** The real thing: the API as tests build it, and the Postfix policy service, over the store the parent filled. */
async function serveMailscope(dir: string): Promise<void> {
  const config = loadConfig('mailscope.yaml', { cwd: dir, env: { VIEWER_TOKEN: viewerToken } });
  const log = createLogger({ level: config.instance.log.level, destination: pino.destination({ dest: '/dev/null', sync: true }) });
  const clock = systemClock;
  const db = Database.open(config.dataDir);
  const dns = new DnsClient({ servers: [{ host: '127.0.0.1', port: 53 }] });
  const runner = new Runner({ db, clock, log, services: probeServicesOf(config.instance, dns, outboxSnapshotOf(db, clock, false)) });
  const controls = new ControlService({ db, clock, log, settings: controlSettingsOf(config.instance) });
  controls.start(config.instance.controls.interval);
  const app = await buildApp({ config, probes: config.probes, queries: storeQueries(db), runner, clock, controls }, { log, version: 'bench' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const policy = await startPolicyServer({
    listen: { host: '127.0.0.1', port: 0 },
    ...policyAnswers(sendPolicyOf({ platformId: 'mta', controls, db, clock }), log.child({ component: 'postfix-policy', platform: 'mta' })),
  });
  const address = app.server.address();
  onMessages(async (message) => {
    if (message.type === 'cpu') return { type: 'cpu', micros: cpuMicros() };
    if (message.type === 'stop') {
      await policy.close();
      await app.close();
      controls.stop();
      await runner.stop();
      dns.close();
      db.close();
      process.exit(0);
    }
    return undefined;
  });
  process.send!({ type: 'ready', http: typeof address === 'object' && address ? address.port : 0, postfix: policy.address.port, active: controls.active.length } satisfies FromChild);
}

/** The references: a bare Fastify route answering a constant object, and a TCP server answering DUNNO to everything. */
async function serveReference(): Promise<void> {
  let body: unknown = {};
  const app = Fastify();
  app.get('/v1/policy', async () => body);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const sockets = new Set<Socket>();
  const dunno = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.setEncoding('utf8');
    let buffer = '';
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        buffer = buffer.slice(end + 2);
        socket.write('action=DUNNO\n\n');
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((done) => dunno.listen(0, '127.0.0.1', done));
  onMessages(async (message) => {
    if (message.type === 'body') {
      body = message.body;
      return { type: 'ok' };
    }
    if (message.type === 'cpu') return { type: 'cpu', micros: cpuMicros() };
    if (message.type === 'stop') {
      for (const socket of sockets) socket.destroy();
      await app.close();
      dunno.close();
      process.exit(0);
    }
    return undefined;
  });
  const http = app.server.address();
  const tcp = dunno.address();
  process.send!({ type: 'ready', http: typeof http === 'object' && http ? http.port : 0, postfix: typeof tcp === 'object' && tcp ? tcp.port : 0, active: 0 } satisfies FromChild);
}

class Child extends ServerChild<ToChild, FromChild> {
  constructor(role: 'mailscope' | 'reference', dir: string, execArgv: string[]) {
    super(`${role} server`, import.meta.filename, ['--serve', role, dir], { execArgv });
  }

  async cpu(): Promise<number> {
    const reply = await this.ask({ type: 'cpu' });
    return reply.type === 'cpu' ? reply.micros : 0;
  }
}

// ---------------------------------------------------------------- controls and questions

type Key = 'ip' | 'pool' | 'from_domain' | 'rcpt_domain' | 'provider' | 'campaign' | 'tenant';
const keyOrder: Key[] = ['ip', 'pool', 'from_domain', 'rcpt_domain', 'provider', 'campaign', 'tenant'];
type Traffic = Partial<Record<Key, string>>;

interface Spec {
  action: ControlAction;
  scope: Traffic;
  rate?: number;
  reason: string;
  expires: boolean;
  kind: string;
  /** Filled once made: the control's id and canonical scope. */
  id?: string;
  describe?: string;
  cidr?: BlockList;
}

const v4 = (b: number, n: number) => `10.${b}.${n >> 8}.${n & 255}`;
const fleetIp = (i: number) => v4(50, 1 + i); // 1,000 sending IPs, 10.50.0.1–10.50.3.232
const providerDomains = ['gmail.com', 'outlook.com', 'hotmail.com', 'yahoo.com', 'icloud.com', 'gmx.de', 'web.de', 'comcast.net', 'orange.fr', 'mail.ru'];
const rates = [300, 600, 1_200, 3_000, 6_000, 12_000, 30_000];

function controlSpecs(): Spec[] {
  const specs: Spec[] = [];
  let throttles = 0;
  const add = (kind: string, action: Spec['action'], scope: Traffic) => {
    const n = specs.length;
    // Every tenth throttle is at 0/min: it defers every message, whatever the timing.
    const rate = action === 'throttle' ? (throttles++ % 10 === 9 ? 0 : rates[n % rates.length]!) : undefined;
    specs.push({ kind, action, scope, ...(rate !== undefined ? { rate } : {}), reason: `bench #${n}: ${kind}`, expires: n % 3 === 0 });
  };
  for (let k = 0; k < 200; k++) add('ip', 'pause', { ip: v4(20, 1 + k) });
  for (let k = 0; k < 100; k++) add('ip', 'throttle', { ip: v4(21, 1 + k) });
  for (let k = 0; k < 40; k++) add('cidr', 'pause', { ip: `10.30.${k}.0/24` });
  for (let k = 0; k < 40; k++) add('cidr', 'throttle', { ip: `10.31.${k}.0/24` });
  for (let k = 0; k < 10; k++) add('cidr', 'pause', { ip: `2001:db8:${(k + 1).toString(16)}::/48` });
  for (let k = 0; k < 60; k++) add('pool', 'pause', { pool: `pool-hold-${k}` });
  for (let k = 0; k < 60; k++) add('pool', 'throttle', { pool: `pool-slow-${k}` });
  for (let k = 0; k < 100; k++) add('rcpt_domain', 'pause', { rcpt_domain: `hold-${k}.example` });
  for (let k = 0; k < 100; k++) add('rcpt_domain', 'throttle', { rcpt_domain: `slow-${k}.example` });
  for (const provider of ['comcast', 'orange']) add('provider', 'pause', { provider });
  for (const provider of ['yahoo', 'apple', 'gmx', 'mailru', 'yandex', 'proton']) add('provider', 'throttle', { provider });
  for (let k = 0; k < 20; k++) add('campaign', 'pause', { campaign: `cmp-hold-${k}` });
  for (let k = 0; k < 20; k++) add('campaign', 'throttle', { campaign: `cmp-slow-${k}` });
  for (let k = 0; k < 20; k++) add('tenant', 'pause', { tenant: `tenant-hold-${k}` });
  for (let k = 0; k < 20; k++) add('tenant', 'throttle', { tenant: `tenant-slow-${k}` });
  for (let k = 0; k < 80; k++) add('ip+rcpt_domain', k % 4 === 0 ? 'pause' : 'throttle', { ip: fleetIp((k * 37) % 1_000), rcpt_domain: providerDomains[k % 7]! });
  for (let k = 0; k < 50; k++) add('pool+provider', k % 5 === 0 ? 'pause' : 'throttle', { pool: `pool-${k}`, provider: ['gmail', 'outlook', 'yahoo', 'apple', 'gmx'][k % 5]! });
  for (let k = 0; k < 20; k++) add('cidr+provider', 'throttle', { ip: `10.50.${(k % 16) >> 2}.${(k % 4) * 64}/26`, provider: k < 16 ? 'gmail' : 'outlook' });
  for (let k = 0; k < 12; k++) add('tenant+campaign', 'pause', { tenant: `tenant-${k}`, campaign: `cmp-${k}` });
  for (let k = 0; k < 20; k++) add('tenant+rcpt_domain', k % 2 === 0 ? 'pause' : 'throttle', { tenant: `tenant-${k}`, rcpt_domain: `corp-${k}.example` });
  for (let k = 0; k < 20; k++) add('pool+campaign', 'throttle', { pool: `pool-${k}`, campaign: `cmp-${k}` });
  return specs;
}

const providerOf = new Map<string, string>(Object.entries(builtinProviders).flatMap(([provider, domains]) => domains.map((domain) => [domain, provider] as const)));

/** The traffic as the service compares it: domains lower-case without a trailing dot, the provider from the recipient's domain. */
function completed(question: Traffic): Traffic {
  const traffic: Traffic = { ...question };
  for (const key of ['from_domain', 'rcpt_domain'] as const) if (traffic[key] !== undefined) traffic[key] = traffic[key].toLowerCase().replace(/\.$/, '');
  if (traffic.rcpt_domain !== undefined && traffic.provider === undefined) traffic.provider = providerOf.get(traffic.rcpt_domain) ?? 'other';
  return traffic;
}

/** Every key of the scope must match; a key the traffic lacks makes it unknown, unless another key already rules it out. */
function matches(spec: Spec, traffic: Traffic): 'match' | 'no' | 'unknown' {
  let unknown = false;
  for (const key of keyOrder) {
    const wanted = spec.scope[key];
    if (wanted === undefined) continue;
    const value = traffic[key];
    if (value === undefined) {
      unknown = true;
      continue;
    }
    const equal = key === 'ip' && spec.cidr ? spec.cidr.check(value, value.includes(':') ? 'ipv6' : 'ipv4') : wanted === value;
    if (!equal) return 'no';
  }
  return unknown ? 'unknown' : 'match';
}

interface Expected {
  matched: Spec[];
  unsure: { spec: Spec; missing: Key[] }[];
}

function expectedFor(specs: readonly Spec[], question: Traffic): Expected {
  const traffic = completed(question);
  const expected: Expected = { matched: [], unsure: [] };
  for (const spec of specs) {
    const match = matches(spec, traffic);
    if (match === 'match') expected.matched.push(spec);
    else if (match === 'unknown') expected.unsure.push({ spec, missing: keyOrder.filter((key) => spec.scope[key] !== undefined && traffic[key] === undefined) });
  }
  return expected;
}

function pick<T>(rng: () => number, values: readonly T[]): T {
  return values[Math.floor(rng() * values.length)]!;
}

/** Where a message goes out and to whom: mostly clean traffic, some of it paused or throttled by each kind of scope. */
function trafficMix(rng: () => number, count: number): { ip: string; pool: string; rcpt_domain: string; tenant: string; from_domain: string }[] {
  const int = (n: number) => Math.floor(rng() * n);
  return Array.from({ length: count }, () => {
    const r = rng();
    const ip =
      r < 0.7
        ? fleetIp(int(1_000))
        : r < 0.74
          ? v4(20, 1 + int(200))
          : r < 0.78
            ? v4(21, 1 + int(100))
            : r < 0.82
              ? `10.30.${int(40)}.${1 + int(254)}`
              : r < 0.86
                ? `10.31.${int(40)}.${1 + int(254)}`
                : r < 0.9
                  ? `2001:db8:${(1 + int(20)).toString(16)}::${(1 + int(4_000)).toString(16)}`
                  : `10.60.${int(256)}.${1 + int(254)}`;
    const p = rng();
    const pool = p < 0.8 ? `pool-${int(50)}` : p < 0.84 ? `pool-hold-${int(60)}` : p < 0.9 ? `pool-slow-${int(60)}` : 'shared';
    const d = rng();
    const rcpt_domain =
      d < 0.55
        ? pick(rng, providerDomains)
        : d < 0.85
          ? `corp-${int(200)}.example`
          : d < 0.89
            ? `hold-${int(100)}.example`
            : d < 0.95
              ? `slow-${int(100)}.example`
              : pick(rng, ['GMAIL.COM', 'Outlook.com.', 'Yahoo.com', 'corp-3.EXAMPLE']);
    const t = rng();
    const tenant = t < 0.85 ? `tenant-${int(40)}` : t < 0.9 ? `tenant-hold-${int(20)}` : `tenant-slow-${int(20)}`;
    return { ip, pool, rcpt_domain, tenant, from_domain: `news.brand-${int(100)}.example` };
  });
}

// ---------------------------------------------------------------- measurement helpers

interface RunResult {
  rate: number;
  p50: number;
  p99: number;
  /** Server CPU while loaded, as a share of one core. */
  cpu: number;
  answers: number;
}

const mismatches = new Mismatches();
const mismatch = (what: string) => mismatches.add(what);

/** pathOf(q): the request URL for question q (called once per request: it may make every URL new). */
async function httpRun(port: number, seconds: number, server: Child, sequence: readonly number[], pathOf: (q: number) => string, expectedBody: (q: number) => string): Promise<RunResult> {
  const cpuBefore = await server.cpu();
  const result = await checkedGets({ port, seconds, connections: httpConnections, token: viewerToken, sequence, pathOf, expectedBody, mismatches });
  const cpuAfter = await server.cpu();
  if (result.errors > 0 || result.timeouts > 0) mismatch(`autocannon: ${result.errors} errors, ${result.timeouts} timeouts on port ${port}`);
  const { p50, p99 } = percentiles(result.latencies);
  return { rate: result.answers / result.duration, p50, p99, cpu: (cpuAfter - cpuBefore) / 1e6 / result.duration, answers: result.answers };
}

/** Postfix's side: one connection per smtpd process, requests one after another on each. */
async function postfixRun(
  port: number,
  seconds: number,
  server: Child,
  round: string,
  request: (q: number, instance: string) => string,
  check: (q: number, reply: string) => void,
  sequence: readonly number[],
): Promise<RunResult> {
  const sockets = await Promise.all(
    Array.from({ length: postfixConnections }, () => {
      const socket: Socket = connect(port, '127.0.0.1');
      socket.setNoDelay(true);
      socket.setEncoding('utf8');
      return new Promise<Socket>((done, fail) => socket.once('connect', () => done(socket)).once('error', fail));
    }),
  );
  let next = 0;
  let answers = 0;
  const latencies: number[] = [];
  const cpuBefore = await server.cpu();
  const started = performance.now();
  const deadline = started + seconds * 1_000;
  await Promise.all(
    sockets.map(
      (socket, c) =>
        new Promise<void>((done, fail) => {
          let buffer = '';
          let message = 0;
          let step = 0;
          let q = -1;
          let sent = 0;
          const send = () => {
            if (performance.now() >= deadline) return done();
            const instance = `${round}${c.toString(36)}.${message.toString(36)}`;
            const recipients = message % 3 === 0 ? 2 : 1;
            if (step < recipients) {
              q = sequence[next++ % sequence.length]!;
              sent = performance.now();
              socket.write(request(q, instance));
              step++;
            } else {
              q = -1;
              sent = performance.now();
              socket.write(endOfMessage(instance, `${round}${c.toString(16).toUpperCase()}X${message.toString(16).toUpperCase()}`));
              step = 0;
              message++;
            }
          };
          socket.on('data', (chunk: string) => {
            buffer += chunk;
            let end: number;
            while ((end = buffer.indexOf('\n\n')) >= 0) {
              latencies.push(performance.now() - sent);
              answers++;
              check(q, buffer.slice(0, end));
              buffer = buffer.slice(end + 2);
              send();
            }
          });
          socket.once('error', fail);
          send();
        }),
    ),
  );
  const elapsed = (performance.now() - started) / 1_000;
  const cpuAfter = await server.cpu();
  for (const socket of sockets) socket.destroy();
  mismatches.checked += answers;
  const { p50, p99 } = percentiles(latencies);
  return { rate: answers / elapsed, p50, p99, cpu: (cpuAfter - cpuBefore) / 1e6 / elapsed, answers };
}

const postfixCommon = [
  'request=smtpd_access_policy',
  'protocol_name=ESMTP',
  'helo_name=app-7.sender.example',
  'client_address=192.0.2.77',
  'client_name=app-7.sender.example',
  'client_port=48122',
  'reverse_client_name=app-7.sender.example',
  'server_address=192.0.2.10',
  'server_port=587',
  'sasl_method=PLAIN',
  'sasl_username=app-7',
  'sasl_sender=',
  'ccert_subject=',
  'ccert_issuer=',
  'ccert_fingerprint=',
  'ccert_pubkey_fingerprint=',
  'encryption_protocol=TLSv1.3',
  'encryption_cipher=TLS_AES_256_GCM_SHA384',
  'encryption_keysize=256',
  'etrn_domain=',
  'stress=',
  'compatibility_level=3.6',
  'mail_version=3.7.11',
].join('\n');

function endOfMessage(instance: string, queueId: string): string {
  return `${postfixCommon}\nprotocol_state=END-OF-MESSAGE\nsender=news@brand.example\nrecipient=\nrecipient_count=1\nqueue_id=${queueId}\ninstance=${instance}\nsize=48213\npolicy_context=ip=10.50.0.1 pool=pool-1\n\n`;
}

// ---------------------------------------------------------------- the bench

async function main(): Promise<void> {
  const benchStarted = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'mailscope-bench-'));
  const children: Child[] = [];
  try {
    writeFileSync(join(dir, 'mailscope.yaml'), ['dataDir: ./data', 'http: { listen: "127.0.0.1:0" }', 'tokens:', '  - { name: grafana, role: viewer, token: "${VIEWER_TOKEN}" }'].join('\n'));
    const config = loadConfig('mailscope.yaml', { cwd: dir, env: { VIEWER_TOKEN: viewerToken } });

    // 1,000 controls, made as a person or a rule would: through the service, one transaction each.
    const specs = controlSpecs();
    const db = Database.open(config.dataDir);
    const service = new ControlService({ db, clock: systemClock, log: createLogger({ level: 'silent' }), settings: controlSettingsOf(config.instance) });
    const createStarted = performance.now();
    const week = Date.now() + 7 * 86_400_000;
    for (const spec of specs) {
      const { control, created } = service.create({
        action: spec.action,
        scope: spec.scope,
        ratePerMinute: spec.rate,
        reason: spec.reason,
        expiresAt: spec.expires ? week : undefined,
        source: 'token:ops',
        actor: 'ops',
      });
      if (!created) throw new Error(`control specs: the same ${spec.action} twice on ${JSON.stringify(spec.scope)}`);
      spec.id = control.id;
      spec.describe = keyOrder
        .filter((key) => control.scope[key] !== undefined)
        .map((key) => `${key}=${control.scope[key]}`)
        .join(' ');
      if (spec.scope.ip?.includes('/')) {
        const [network, bits] = spec.scope.ip.split('/') as [string, string];
        spec.cidr = new BlockList();
        spec.cidr.addSubnet(network, Number(bits), network.includes(':') ? 'ipv6' : 'ipv4');
      }
    }
    const createSeconds = (performance.now() - createStarted) / 1_000;
    const activeCount = service.active.length;
    db.close();
    const kinds = new Map<string, number>();
    for (const spec of specs) kinds.set(`${spec.kind} ${spec.action}`, (kinds.get(`${spec.kind} ${spec.action}`) ?? 0) + 1);

    const profileDir = process.env.MAILSCOPE_BENCH_PROFILE ? resolve(process.env.MAILSCOPE_BENCH_PROFILE) : undefined;
    if (profileDir) mkdirSync(profileDir, { recursive: true });
    const mailscope = new Child('mailscope', dir, profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
    const reference = new Child('reference', dir, []);
    children.push(mailscope, reference);
    const [ms, ref] = await Promise.all([mailscope.ready, reference.ready]);
    if (ms.active !== specs.length || activeCount !== specs.length) throw new Error(`expected ${specs.length} active controls, the server has ${ms.active} (the creating service ${activeCount})`);

    // The questions, and what must be answered to each.
    const rng = random(20_261_124);
    const mix = trafficMix(rng, distinctQuestions);
    const sequence = Array.from({ length: distinctQuestions }, (_, i) => i);
    for (let i = sequence.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [sequence[i], sequence[j]] = [sequence[j]!, sequence[i]!];
    }
    const httpQuestions = mix.map(({ ip, pool, rcpt_domain }) => ({ ip, pool, rcpt_domain }));
    const paths = httpQuestions.map((question) => `/v1/policy?${new URLSearchParams(question).toString()}`);
    const httpExpected = httpQuestions.map((question) => expectedFor(specs, question));
    // Every question new: the same questions, each URL made distinct by a from_domain never sent before, so the
    // answers kept per URL never answer. No control here has a from_domain key (not even as a missing one), so the
    // expected answer is the base question's; checked here, should the mix ever change.
    const expectation = ({ matched, unsure }: Expected) => `${matched.map((spec) => spec.id).join(',')}|${unsure.map(({ spec, missing }) => `${spec.id}:${missing.join('+')}`).join(',')}`;
    httpQuestions.forEach((question, q) => {
      if (expectation(expectedFor(specs, { ...question, from_domain: 'q0.example' })) !== expectation(httpExpected[q]!)) {
        throw new Error(`GET ${paths[q]}: from_domain changes the expected answer; the uncached row assumes it does not`);
      }
    });
    let fresh = 0;
    const freshPath = (q: number) => `${paths[q]!}&from_domain=q${fresh++}.example`;

    // Every distinct question once, answers checked in full; the exact body is then what each timed answer must be.
    const bodies: string[] = new Array(distinctQuestions);
    const tally = { allow: 0, throttle: 0, pause: 0 };
    for (let start = 0; start < distinctQuestions; start += 16) {
      await Promise.all(
        paths.slice(start, start + 16).map(async (path, i) => {
          const q = start + i;
          const response = await fetch(`http://127.0.0.1:${ms.http}${path}`, { headers: { authorization: `Bearer ${viewerToken}` } });
          const text = await response.text();
          bodies[q] = text;
          mismatches.checked++;
          if (response.status !== 200) return mismatch(`GET ${path}: HTTP ${response.status} ${text.slice(0, 200)}`);
          const body = JSON.parse(text) as { action: string; rate?: number; controls: { id: string }[]; unsure: { id: string; missing: string[] }[]; unsureCount: number; missing: string[] };
          const { matched, unsure } = httpExpected[q]!;
          const pauses = matched.filter((spec) => spec.action === 'pause');
          const throttles = matched.filter((spec) => spec.action === 'throttle');
          const action = pauses.length > 0 ? 'pause' : throttles.length > 0 ? 'throttle' : 'allow';
          tally[action]++;
          const rate = action === 'throttle' ? Math.min(...throttles.map((spec) => spec.rate!)) : undefined;
          const ids = (list: { id?: string | undefined }[]) =>
            list
              .map((entry) => entry.id)
              .sort()
              .join(',');
          if (body.action !== action || body.rate !== rate)
            return mismatch(`GET ${path}: ${body.action}${body.rate !== undefined ? ` ${body.rate}/min` : ''}, expected ${action}${rate !== undefined ? ` ${rate}/min` : ''}`);
          if (ids(body.controls) !== ids(matched)) return mismatch(`GET ${path}: controls ${ids(body.controls)}, expected ${ids(matched)}`);
          // The answer lists at most 10 of the controls that might apply (pauses first) and counts them all.
          if (body.unsureCount !== unsure.length) return mismatch(`GET ${path}: unsureCount ${body.unsureCount}, expected ${unsure.length}`);
          const expectedUnsure = new Map(unsure.map(({ spec, missing }) => [spec.id, missing.join('+')]));
          if (body.unsure.length !== Math.min(10, unsure.length) || body.unsure.some((entry) => expectedUnsure.get(entry.id) !== entry.missing.join('+')))
            return mismatch(`GET ${path}: unsure differs from expected`);
          const missingKeys = keyOrder.filter((key) => unsure.some((entry) => entry.missing.includes(key)));
          if (body.missing.join(',') !== missingKeys.join(',')) return mismatch(`GET ${path}: missing ${body.missing.join(',')}, expected ${missingKeys.join(',')}`);
        }),
      );
    }
    const meanBody = sequence.reduce((sum, q) => sum + Buffer.byteLength(bodies[q] ?? ''), 0) / sequence.length;
    // The reference's answer: a decision-shaped constant object of the same mean size.
    const constant: { action: string; controls: unknown[]; unsure: { id: string; missing: string[] }[]; unsureCount: number; missing: string[] } = {
      action: 'allow',
      controls: [],
      unsure: [],
      unsureCount: 0,
      missing: ['campaign'],
    };
    while (JSON.stringify(constant).length < meanBody) constant.unsure.push({ id: `00000000-0000-4000-8000-${String(constant.unsure.length).padStart(12, '0')}`, missing: ['campaign'] });
    const constantBody = JSON.stringify(constant);
    await reference.ask({ type: 'body', body: constant });

    // Postfix: the same kind of traffic, described the way smtpd does (policy_context per submission service).
    const postfixQuestions = mix.map(({ ip, pool, tenant, rcpt_domain, from_domain }, i) => ({
      context: `ip=${ip} pool=${pool} tenant=${tenant}`,
      sender: `bounce-${i}@${from_domain}`,
      recipient: `user${i}@${rcpt_domain}`,
    }));
    const postfixExpected = mix.map(({ ip, pool, tenant, rcpt_domain, from_domain }) => {
      const { matched } = expectedFor(specs, { ip, pool, tenant, rcpt_domain, from_domain });
      const pauses = matched.filter((spec) => spec.action === 'pause');
      const throttles = matched.filter((spec) => spec.action === 'throttle');
      return {
        holds: new Set(pauses.map((spec) => `action=HOLD paused by Mailscope (${spec.describe}): ${spec.reason}`)),
        defers: new Set(throttles.map((spec) => `action=DEFER_IF_PERMIT 4.7.1 Mailscope throttle (${spec.describe}, ${spec.rate}/min): try again later`)),
        // A throttle at 0/min defers every message; the others only once their rate is spent.
        mustDefer: throttles.some((spec) => spec.rate === 0),
      };
    });
    const rcptRequest = (q: number, instance: string) => {
      const question = postfixQuestions[q]!;
      return `${postfixCommon}\nprotocol_state=RCPT\nsender=${question.sender}\nrecipient=${question.recipient}\nrecipient_count=0\nqueue_id=\ninstance=${instance}\nsize=48213\npolicy_context=${question.context}\n\n`;
    };
    const replies = { hold: 0, defer: 0, dunno: 0 };
    const checkMailscope = (q: number, reply: string) => {
      if (reply.startsWith('action=HOLD')) replies.hold++;
      else if (reply.startsWith('action=DEFER_IF_PERMIT')) replies.defer++;
      else replies.dunno++;
      if (q < 0) {
        if (reply !== 'action=DUNNO') mismatch(`END-OF-MESSAGE: ${reply}`);
        return;
      }
      const expected = postfixExpected[q]!;
      const ok =
        expected.holds.size > 0 ? expected.holds.has(reply) : expected.defers.size > 0 ? expected.defers.has(reply) || (!expected.mustDefer && reply === 'action=DUNNO') : reply === 'action=DUNNO';
      if (!ok) mismatch(`RCPT ${postfixQuestions[q]!.context} ${postfixQuestions[q]!.recipient}: ${reply}`);
    };
    const checkReference = (_q: number, reply: string) => {
      if (reply !== 'action=DUNNO') mismatch(`reference: ${reply}`);
    };
    const bodyOf = (q: number) => bodies[q]!;
    const constantOf = () => constantBody;

    // Warm both sides, then alternate: M B, B M, M B.
    const only = process.env.MAILSCOPE_BENCH_ONLY;
    const doHttp = only !== 'postfix';
    const doPostfix = only !== 'http';
    const http = { mailscope: [] as RunResult[], bare: [] as RunResult[], uncached: [] as RunResult[] };
    const postfix = { mailscope: [] as RunResult[], dunno: [] as RunResult[] };
    const alternate = async (sides: (() => Promise<unknown>)[]) => {
      for (let round = 0; round < rounds; round++) for (const side of round % 2 === 0 ? sides : [...sides].reverse()) await side();
    };
    const pathOf = (q: number) => paths[q]!;
    if (doHttp) {
      await httpRun(ms.http, warmupSeconds, mailscope, sequence, pathOf, bodyOf);
      await httpRun(ref.http, warmupSeconds, reference, sequence, pathOf, constantOf);
      await httpRun(ms.http, warmupSeconds, mailscope, sequence, freshPath, bodyOf);
      await alternate([
        async () => http.mailscope.push(await httpRun(ms.http, httpSeconds, mailscope, sequence, pathOf, bodyOf)),
        async () => http.bare.push(await httpRun(ref.http, httpSeconds, reference, sequence, pathOf, constantOf)),
        async () => http.uncached.push(await httpRun(ms.http, httpSeconds, mailscope, sequence, freshPath, bodyOf)),
      ]);
    }
    if (doPostfix) {
      await postfixRun(ms.postfix, warmupSeconds, mailscope, 'W', rcptRequest, checkMailscope, sequence);
      await postfixRun(ref.postfix, warmupSeconds, reference, 'W', rcptRequest, checkReference, sequence);
      let round = 0;
      await alternate([
        async () => postfix.mailscope.push(await postfixRun(ms.postfix, postfixSeconds, mailscope, `R${round++}`, rcptRequest, checkMailscope, sequence)),
        async () => postfix.dunno.push(await postfixRun(ref.postfix, postfixSeconds, reference, `R${round++}`, rcptRequest, checkReference, sequence)),
      ]);
    }
    await Promise.all(children.map((child) => child.stop()));
    if (tally.pause === 0 || tally.throttle === 0 || (doPostfix && (replies.hold === 0 || replies.defer === 0)))
      mismatch('the mix produced no pause or no throttle: the bench does not exercise the controls');

    // The report.
    const fmt = (value: number) => Math.round(value).toLocaleString('en');
    const ms2 = (value: number) => value.toFixed(2);
    const summary = (runs: RunResult[]) => ({
      rate: median(runs.map((run) => run.rate)),
      p50: median(runs.map((run) => run.p50)),
      p99: median(runs.map((run) => run.p99)),
      cpu: median(runs.map((run) => run.cpu)),
      cpuPerAnswer: median(runs.map((run) => (run.cpu / run.rate) * 1e6)),
      all: runs.map((run) => fmt(run.rate)).join(' / '),
    });
    console.log(`policy: ${specs.length.toLocaleString('en')} active controls (${[...kinds].map(([kind, count]) => `${count} ${kind}`).join(', ')}), made in ${createSeconds.toFixed(1)} s`);
    console.log(
      `questions: ${distinctQuestions.toLocaleString('en')} distinct; HTTP answers ${tally.pause} pause, ${tally.throttle} throttle, ${tally.allow} allow, mean body ${fmt(meanBody)} bytes ` +
        `(${(sequence.reduce((sum, q) => sum + httpExpected[q]!.unsure.length, 0) / sequence.length).toFixed(0)} unsure controls on average)` +
        (doPostfix ? `; Postfix replies ${fmt(replies.hold)} HOLD, ${fmt(replies.defer)} DEFER_IF_PERMIT, ${fmt(replies.dunno)} DUNNO` : ''),
    );
    console.log(
      `load: HTTP ${httpConnections} keep-alive connections (autocannon), Postfix ${postfixConnections} connections; ${rounds} alternating rounds of ${httpSeconds} s / ${postfixSeconds} s; medians\n`,
    );
    const uncachedServer = 'Mailscope, every question new';
    const serverWidth = doHttp ? uncachedServer.length : 13;
    // Server CPU: a reference well under 100% is held back by the load generator (one core for it, one for the server).
    console.log(
      `${'what'.padEnd(20)} ${'server'.padEnd(serverWidth)} ${'per second'.padStart(10)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'server CPU'.padStart(10)} ${'µs CPU/answer'.padStart(13)}   rounds`,
    );
    const row = (what: string, server: string, s: ReturnType<typeof summary>) =>
      console.log(
        `${what.padEnd(20)} ${server.padEnd(serverWidth)} ${fmt(s.rate).padStart(10)} ${ms2(s.p50).padStart(7)} ${ms2(s.p99).padStart(7)} ${`${Math.round(s.cpu * 100)}%`.padStart(10)} ${s.cpuPerAnswer.toFixed(0).padStart(13)}   ${s.all}`,
      );
    const lines: string[] = [];
    if (doHttp) {
      const [m, b, u] = [summary(http.mailscope), summary(http.bare), summary(http.uncached)];
      row('HTTP GET /v1/policy', 'Mailscope', m);
      row('', 'bare Fastify', b);
      row('', uncachedServer, u);
      const ratio = m.rate / b.rate;
      lines.push(
        `policy http: ${ratio.toFixed(2)} of bare Fastify (goal ≥ ${goal}) ${ratio >= goal ? 'ok' : 'MISSED'}; p99 ${ms2(m.p99)} ms vs ${ms2(b.p99)} ms; server CPU per answer ${(b.cpuPerAnswer / m.cpuPerAnswer).toFixed(2)} of bare`,
        `policy http uncached: ${(u.rate / b.rate).toFixed(2)} of bare Fastify (reference, no goal); p99 ${ms2(u.p99)} ms vs ${ms2(b.p99)} ms; server CPU per answer ${(b.cpuPerAnswer / u.cpuPerAnswer).toFixed(2)} of bare`,
      );
    }
    if (doPostfix) {
      const [m, d] = [summary(postfix.mailscope), summary(postfix.dunno)];
      row('Postfix policy', 'Mailscope', m);
      row('', 'DUNNO server', d);
      lines.push(
        `policy postfix: ${(m.rate / d.rate).toFixed(2)} of a DUNNO-only server (reference, no goal set); p99 ${ms2(m.p99)} ms vs ${ms2(d.p99)} ms; server CPU per answer ${(d.cpuPerAnswer / m.cpuPerAnswer).toFixed(2)} of it`,
      );
    }
    console.log(`\nanswers checked: ${mismatches.checked.toLocaleString('en')}, mismatches: ${mismatches.count}; ${((performance.now() - benchStarted) / 1_000).toFixed(0)} s in all`);
    for (const line of lines) console.log(line);
    if (mismatches.count > 0) {
      console.error(`\n${mismatches.count} wrong answers, first ones:\n${mismatches.shown.join('\n')}`);
      process.exitCode = 1;
    }
    if (profileDir) console.log(`CPU profile of the Mailscope server: ${profileDir}`);
  } finally {
    for (const child of children) if (child.process.exitCode === null) child.process.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serve') {
  if (process.argv[3] === 'mailscope') await serveMailscope(process.argv[4]!);
  else await serveReference();
} else {
  await main();
}
