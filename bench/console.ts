/**
 * npm run bench -- console
 *
 * The console's overview (`GET /`) over a store holding 30 days of history, against
 * `GET /healthz` measured the same way in the same run.
 *
 * The store, generated first (timed) into a temp dir, through record() (the same
 * write path as a probe's run: series checked, listed-since state, DNS record
 * changes, outbox lines), one transaction per run, in time order (every 5 minutes
 * the 5 placement runs, on the hour the blocklist sweep and the DNS check), the
 * 30 days before now:
 * - blocklists: one blacklist probe of 100 IPv4 targets × 15 IP lists (the
 *   catalog's 12 IP lists and 3 of the instance's own), swept hourly: 720 runs of
 *   1,500 pairs (+ 15 list-health, 100 per-target summaries, the probe_run point),
 *   1.16M observations. Hourly, not every 5 minutes: a sweep every 5 minutes for
 *   30 days is 14.7M rows (3.3 GB) and takes long to generate, and the overview
 *   reads the newest sweep only (probe_runs_by_probe, then observations_by_run), so
 *   older sweeps cost it a deeper index, not more rows; an informal measurement at
 *   the 5-minute cadence gave a page of 13–24 ms median. 3 targets are listed (on
 *   1–2 lists, since days ago, with the list's TXT reason), one list answers with
 *   a timeout now and then (in the newest sweep too).
 * - placement: 5 placement probes, each every 5 minutes (43,200 runs): 4 providers
 *   of 2 seeds each: 8 per-seed, 4 per-provider, 1 per-run observations and the
 *   probe_run point per run, 605k observations; inbox rates vary by provider and
 *   hour, a few seeds land in spam or are missing.
 * - DNS authentication: one dns-auth probe of 10 domains (2 IPs and 1 DKIM selector
 *   each: 12 checks and the domain's summary), hourly: 720 runs, 94k observations;
 *   each domain's SPF record changed once in the 30 days (a dns_auth_change row),
 *   one domain's DMARC check fails and one's MTA-STS warns.
 * The outbox is emptied afterwards, as a flusher to a healthy InfluxDB leaves it
 * (without one, 30 days of lines would wait in it: `outbox.stats` then counts them
 * on each page; not measured here). No traffic or feedback reports: the issue's data
 * set has none, and those panels are left out when empty.
 *
 * The app: buildApp as `mailscope run` builds it (config loaded from a real
 * mailscope.yaml and probes/probes.yaml naming those 7 probes, storeQueries over a
 * freshly opened store, the runner and control service; no scheduler, so nothing
 * runs), the log at info to /dev/null. Requests through app.inject(), one at a
 * time: "server time" is from the request to the whole answer, everything the
 * server does (routing, session, the reads, the panels, the template) without a
 * network or a load generator sharing the 2 cores; both sides pay inject's own
 * small cost. A viewer signs in (GET and POST /login) first; then:
 * - cold load: the first `GET /` after the store is opened, and every asset the
 *   page makes a browser fetch (its <link> and <script> URLs, and uPlot's minified
 *   script that console.js loads when the page has a chart): bytes = status line, headers and
 *   body of each. The page is gzipped (the request says it takes gzip, as a browser does); the assets are not: the bytes are the
 *   bytes sent. The assets carry cache-control max-age=3600, so a warm load
 *   fetches the page alone.
 * - warm: 3 rounds of 100 `GET /` and 100 `GET /healthz` (after 20 of each
 *   unmeasured): p50/p99 of the time of each and the bytes of an answer; every
 *   answer checked (200, the page shows 100 targets, 3 listings, the 5 probes' 20
 *   providers and the 10 domains).
 * Goals: overview p99 < 100 ms, cold load < 300 KB. A miss fails the bench (exit 1).
 * Ratios: overview / healthz, p50 and p99.
 *
 * MAILSCOPE_BENCH_DAYS=N: fewer days of history (a quick look; the goals are for 30).
 * MAILSCOPE_BENCH_DIR=DIR: make the instance and its store there and keep them; a
 * later run with the same DIR measures that store again without generating it (its
 * history then ends when it was made: the week shown holds fewer placement runs).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { loadConfig } from '../src/config/load.ts';
import { controlSettingsOf } from '../src/config/settings.ts';
import { ControlService } from '../src/controls/service.ts';
import { systemClock } from '../src/core/clock.ts';
import { createLogger } from '../src/core/logger.ts';
import type { Observation } from '../src/core/observation.ts';
import { buildApp } from '../src/http/app.ts';
import { placementCounts } from '../src/probes/placement-summary.ts';
import { DnsClient } from '../src/protocols/dns/client.ts';
import { storeQueries } from '../src/queries/index.ts';
import { Runner } from '../src/runner/runner.ts';
import { outboxSnapshotOf, probeServicesOf } from '../src/runner/services.ts';
import { Database, databaseFileName } from '../src/store/database.ts';
import { record } from '../src/store/record.ts';
import { random } from './lib/measure.ts';

const days = Number(process.env.MAILSCOPE_BENCH_DAYS ?? 30);
const viewerToken = 'bench-viewer-token-000000000001';
const goals = { p99Ms: 100, coldBytes: 300 * 1024 };
const warmup = 20;
const rounds = 3;
const perRound = 100;

const minute = 60_000;
const hour = 60 * minute;
const tick = 5 * minute;

let failures = 0;
function check(ok: boolean, message: string): void {
  if (!ok) {
    failures++;
    console.error(`CHECK FAILED: ${message}`);
  }
}

const gc = () => (globalThis as { gc?: () => void }).gc?.();
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

const rng = random(20);

// ---------------------------------------------------------------- what is watched

const targets = Array.from({ length: 100 }, (_, n) => (n < 50 ? `192.0.2.${n + 10}` : `198.51.100.${n - 40}`));
const builtinIpLists = ['spamhaus-zen', 'spamhaus-sbl', 'spamhaus-xbl', 'spamhaus-pbl', 'barracuda', 'spamcop', 'uceprotect-1', 'uceprotect-2', 'uceprotect-3', 'psbl', 'mailspike-bl', 'mailspike-z'];
const ownLists = ['corp-rbl', 'partner-bl', 'abuse-feed'];
const lists = [...builtinIpLists, ...ownLists];
/** Listed pairs: target, list, listed from this many days before now (a listing that started before the window is listed throughout). */
const listings: readonly { target: string; list: string; daysAgo: number; reason: string; code: string; meaning: string; delist?: string }[] = [
  {
    target: '192.0.2.17',
    list: 'spamcop',
    daysAgo: 2,
    reason: 'Blocked - see https://www.spamcop.net/bl.shtml?192.0.2.17',
    code: '127.0.0.2',
    meaning: 'listed',
    delist: 'https://www.spamcop.net/bl.shtml',
  },
  { target: '192.0.2.17', list: 'psbl', daysAgo: 1, reason: 'Listed in PSBL, see http://psbl.org/listing?ip=192.0.2.17', code: '127.0.0.2', meaning: 'listed', delist: 'https://psbl.org/remove' },
  { target: '198.51.100.33', list: 'uceprotect-1', daysAgo: 6, reason: 'Net 198.51.100.33 is UCEPROTECT-Level1 listed because of a spamtrap hit', code: '127.0.0.2', meaning: 'spamtrap hit' },
  { target: '198.51.100.71', list: 'corp-rbl', daysAgo: 12, reason: 'complaints from corp-rbl users', code: '127.0.0.2', meaning: 'listed by corp-rbl' },
];
/** This list times out now and then, and in the newest sweep. */
const flakyList = 'mailspike-z';

const providers = ['gmail', 'outlook', 'yahoo', 'gmx'];
const placementProbes = Array.from({ length: 5 }, (_, n) => `placement-pool-${n + 1}`);
const seedsPerProvider = 2;

const domains = Array.from({ length: 10 }, (_, n) => (n === 0 ? 'sender.example' : `brand-${n}.example`));
const ipsOf = (domain: number) => [`192.0.2.${10 + domain * 2}`, `192.0.2.${11 + domain * 2}`];

// ---------------------------------------------------------------- the instance

function writeInstance(dir: string): void {
  writeFileSync(
    join(dir, 'mailscope.yaml'),
    [
      'dataDir: ./data',
      'http: { listen: "127.0.0.1:0" }',
      'log: { level: info }',
      'tokens:',
      '  - { name: console-viewer, role: viewer, token: "${VIEWER_TOKEN}" }',
      'dns: { resolvers: ["127.0.0.1:53"] }',
      'blocklists:',
      '  lists:',
      ...ownLists.map((id) => `    - { id: ${id}, zone: ${id}.dnsbl.example, kind: ip }`),
    ].join('\n'),
  );
  mkdirSync(join(dir, 'probes'));
  const placementYaml = (id: string, n: number) => `
  - id: ${id}
    kind: placement
    description: the weekly newsletter through pool ${n + 1} to every seed provider
    schedule: "0 */5 * * * *"
    wait: 2m
    timeout: 3m
    smtp: { host: 127.0.0.1, port: ${2587 + n}, security: none, envelopeFrom: bounces@sender.example }
    message: { from: "News <news@sender.example>", subject: "This week", text: "Hello." }
    imap: { host: 127.0.0.1, port: 1143, security: none }
    seeds:
${providers.map((provider) => `      ${provider}: [${Array.from({ length: seedsPerProvider }, (_, s) => `{ address: ${seedOf(n, provider, s)}, auth: { password: seed-password } }`).join(', ')}]`).join('\n')}`;
  writeFileSync(
    join(dir, 'probes', 'probes.yaml'),
    `probes:
  - id: sending-ips
    kind: blacklist
    description: every sending IP on 15 IP lists
    schedule: "0 0 * * * *"
    timeout: 5m
    targets: [${targets.join(', ')}]
    lists: [${lists.join(', ')}]
  - id: sender-auth
    kind: dns-auth
    schedule: "0 0 * * * *"
    domains:
${domains.map((domain, n) => `      - { domain: ${domain}, ips: [${ipsOf(n).join(', ')}], selectors: [s2026] }`).join('\n')}
${placementProbes.map(placementYaml).join('\n')}
`,
  );
}

function seedOf(probe: number, provider: string, seed: number): string {
  return `seed${probe + 1}-${seed + 1}@${provider}.example`;
}

// ---------------------------------------------------------------- the history

function blacklistRun(at: number, newest: boolean): Observation[] {
  const time = new Date(at);
  const observations: Observation[] = [];
  const summaries = new Map(targets.map((target) => [target, { listed: [] as string[], errors: 0 }]));
  for (const target of targets) {
    for (const list of lists) {
      const listing = listings.find((entry) => entry.target === target && entry.list === list && at >= Date.now() - entry.daysAgo * 24 * hour);
      const timedOut = list === flakyList && target.endsWith('.20') && (newest || rng() < 0.05);
      const query_ms = 2 + Math.round(rng() * 40);
      const tags = { target, target_kind: 'ip', list };
      if (timedOut) {
        observations.push({ measurement: 'blacklist', tags, fields: { status: 'error', query_ms: 5000, error_code: 'DNS_TIMEOUT', error: 'no answer from 127.0.0.1:53 in 5000 ms' }, time });
        summaries.get(target)!.errors++;
      } else if (listing) {
        observations.push({
          measurement: 'blacklist',
          tags,
          fields: { status: 'listed', query_ms, listed: true, codes: listing.code, meanings: listing.meaning, reason: listing.reason, ...(listing.delist ? { delist_url: listing.delist } : {}) },
          time,
        });
        summaries.get(target)!.listed.push(list);
      } else {
        observations.push({ measurement: 'blacklist', tags, fields: { status: 'not_listed', query_ms, listed: false }, time });
      }
    }
  }
  for (const list of lists) observations.push({ measurement: 'blacklist_list', tags: { list }, fields: { healthy: true, test_ms: 3 + Math.round(rng() * 20) }, time });
  for (const [target, summary] of summaries) {
    observations.push({
      measurement: 'blacklist_target',
      tags: { target, target_kind: 'ip' },
      fields: { lists_checked: lists.length, listed_count: summary.listed.length, error_count: summary.errors, listed_on: summary.listed.join(',') },
      time,
    });
  }
  return observations;
}

function placementRun(probe: number, at: number): Observation[] {
  const time = new Date(at);
  const observations: Observation[] = [];
  const all: { outcome: string; deliveryMs?: number }[] = [];
  const byProvider = new Map<string, typeof all>();
  // Inbox odds by provider, lower in some hours (a reputation dip), lower for pool 3.
  const dip = Math.floor(at / hour) % 17 === 0 ? 0.3 : 0;
  for (const [p, provider] of providers.entries()) {
    const seeds: typeof all = [];
    for (let s = 0; s < seedsPerProvider; s++) {
      const r = rng();
      const inboxOdds = 0.95 - p * 0.04 - dip - (probe === 2 ? 0.25 : 0);
      const outcome = r < inboxOdds ? 'inbox' : r < 0.985 ? 'spam' : 'missing';
      const deliveryMs = outcome === 'missing' ? undefined : 1_000 + Math.round(rng() * 20_000);
      const fields: Observation['fields'] =
        outcome === 'missing'
          ? { outcome }
          : {
              outcome,
              folder: outcome === 'inbox' ? 'INBOX' : 'Junk',
              found_by: outcome === 'inbox' ? 'inbox' : 'special-use',
              delivery_ms: deliveryMs!,
              found_ms: deliveryMs! + 2_000,
              spf: 'pass',
              dkim: 'pass',
              dmarc: 'pass',
              authserv_id: `mx.${provider}.example`,
              tls: true,
              tls_version: 'TLSv1.3',
              hops: 3,
              message_id: `<${at.toString(36)}.${probe}.${p}.${s}@sender.example>`,
              cleanup: 'deleted',
            };
      fields.token = `${at.toString(36)}-${probe}`;
      fields.searches = 2;
      fields.search_ms = 20 + Math.round(rng() * 30);
      observations.push({ measurement: 'placement', tags: { provider, seed: seedOf(probe, provider, s) }, fields, time });
      seeds.push({ outcome, ...(deliveryMs !== undefined ? { deliveryMs } : {}) });
    }
    byProvider.set(provider, seeds);
    all.push(...seeds);
  }
  for (const [provider, seeds] of byProvider) observations.push({ measurement: 'placement_provider', tags: { provider }, fields: placementCounts(seeds), time });
  observations.push({
    measurement: 'placement_run',
    tags: {},
    fields: { mode: 'active', submitted: true, smtp_response: '250 2.0.0 Ok: queued', token: `${at.toString(36)}-${probe}`, ...placementCounts(all) },
    time,
  });
  return observations;
}

const digestOf = (text: string) => {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0').repeat(2);
};

function dnsRun(at: number, start: number): Observation[] {
  const time = new Date(at);
  const observations: Observation[] = [];
  for (const [n, domain] of domains.entries()) {
    const ips = ipsOf(n);
    // Each domain's SPF changed once, at its own point in the window.
    const changedAt = start + ((n + 1) / (domains.length + 1)) * (Date.now() - start);
    const spfValue = at < changedAt ? `v=spf1 ip4:${ips[0]} ~all` : `v=spf1 ip4:${ips[0]} ip4:${ips[1]} -all`;
    const checks: { check: string; status: 'pass' | 'warn' | 'fail'; message: string; record?: string; extra?: Observation['fields']; selector?: string; ip?: string }[] = [
      { check: 'spf', status: 'pass', message: 'SPF is valid and ends in -all', record: `${domain} TXT "${spfValue}"`, extra: { spf_lookups: 1, spf_void_lookups: 0 } },
      ...ips.map((ip) => ({ check: 'spf_ip', ip, status: 'pass' as const, message: `SPF passes ${ip}`, extra: { spf_result: 'pass' } })),
      {
        check: 'dkim',
        selector: 's2026',
        status: 'pass',
        message: 'DKIM key s2026 is valid',
        record: `s2026._domainkey.${domain} TXT "v=DKIM1; k=rsa; p=MIIBIjANBgkqh..."`,
        extra: { dkim_key_type: 'rsa', dkim_key_bits: 2048 },
      },
      n === 3
        ? { check: 'dmarc', status: 'fail', message: 'no DMARC record: receivers apply no policy, and no reports are sent', record: '' }
        : {
            check: 'dmarc',
            status: 'pass',
            message: 'DMARC p=reject with reports',
            record: `_dmarc.${domain} TXT "v=DMARC1; p=reject; rua=mailto:dmarc@${domain}"`,
            extra: { dmarc_pct: 100, dmarc_rua: true },
          },
      { check: 'mx', status: 'pass', message: '2 MX hosts', record: `${domain} MX 10 mx1.${domain}\n${domain} MX 20 mx2.${domain}`, extra: { mx_hosts: 2 } },
      { check: 'address', status: 'pass', message: 'the domain has addresses', extra: { addresses: 2 } },
      ...ips.map((ip) => ({ check: 'ptr', ip, status: 'pass' as const, message: `${ip} → mail.${domain}, forward-confirmed`, extra: { ptr_name: `mail.${domain}`, fcrdns: true } })),
      n === 6
        ? {
            check: 'mta_sts',
            status: 'warn',
            message: 'MTA-STS policy in testing mode',
            record: `_mta-sts.${domain} TXT "v=STSv1; id=2026"`,
            extra: { mta_sts_mode: 'testing', mta_sts_max_age: 86_400 },
          }
        : { check: 'mta_sts', status: 'pass', message: 'MTA-STS enforce', record: `_mta-sts.${domain} TXT "v=STSv1; id=2026"`, extra: { mta_sts_mode: 'enforce', mta_sts_max_age: 604_800 } },
      { check: 'tls_rpt', status: 'pass', message: 'TLS-RPT reports requested', record: `_smtp._tls.${domain} TXT "v=TLSRPTv1; rua=mailto:tlsrpt@${domain}"` },
      { check: 'bimi', status: 'pass', message: 'BIMI record found', record: `default._bimi.${domain} TXT "v=BIMI1; l=https://${domain}/logo.svg"` },
    ];
    for (const check of checks) {
      observations.push({
        measurement: 'dns_auth',
        tags: { domain, check: check.check, ...(check.selector ? { selector: check.selector } : {}), ...(check.ip ? { ip: check.ip } : {}) },
        fields: {
          status: check.status,
          level: { pass: 0, warn: 1, fail: 2 }[check.status],
          message: check.message,
          findings: check.status === 'fail' ? 'DMARC_MISSING' : '',
          ...(check.record !== undefined ? { record: check.record, digest: digestOf(check.record) } : {}),
          ...check.extra,
        },
        time,
      });
    }
    const failing = checks.filter((check) => check.status === 'fail');
    const worst = failing.length > 0 ? 'fail' : checks.some((check) => check.status === 'warn') ? 'warn' : 'pass';
    observations.push({
      measurement: 'dns_auth_domain',
      tags: { domain },
      fields: {
        status: worst,
        level: { pass: 0, warn: 1, fail: 2 }[worst],
        checks: checks.length,
        passed: checks.filter((check) => check.status === 'pass').length,
        warnings: checks.filter((check) => check.status === 'warn').length,
        failures: failing.length,
        errors: 0,
        failing: failing.map((check) => check.check).join(','),
      },
      time,
    });
  }
  return observations;
}

function generate(dataDir: string): { runs: number; observations: number; seconds: number; bytes: number } {
  const started = performance.now();
  const db = Database.open(dataDir);
  const end = Math.floor(Date.now() / tick) * tick - tick;
  const start = end - days * 24 * hour + tick;
  let runs = 0;
  const store = (probeId: string, kind: string, at: number, observations: Observation[], durationMs: number) => {
    const result = record(db, {
      probeId,
      kind,
      trigger: 'schedule',
      startedAt: new Date(at),
      finishedAt: new Date(at + durationMs),
      durationMs,
      success: true,
      observations,
    });
    if (!result.success) throw new Error(`${probeId}: ${result.error?.message}`);
    runs++;
  };
  for (let at = start; at <= end; at += tick) {
    for (const [n, probe] of placementProbes.entries()) store(probe, 'placement', at, placementRun(n, at), 25_000 + Math.round(rng() * 10_000));
    if (at % hour === 0 || at === end) {
      store('sending-ips', 'blacklist', at, blacklistRun(at, at === end), 3_000 + Math.round(rng() * 2_000));
      store('sender-auth', 'dns-auth', at, dnsRun(at, start), 800 + Math.round(rng() * 400));
    }
  }
  const observations = Number((db.sqlite.prepare('SELECT count(*) AS n FROM observations').get() as { n: number }).n);
  // A flusher to a healthy InfluxDB keeps the outbox near empty.
  db.sqlite.exec('DELETE FROM outbox');
  db.close();
  return { runs, observations, seconds: (performance.now() - started) / 1_000, bytes: statSync(join(dataDir, databaseFileName)).size };
}

// ---------------------------------------------------------------- measuring

const headerBytes = (response: LightMyRequestResponse) =>
  Buffer.byteLength(
    `HTTP/1.1 ${response.statusCode} ${response.statusMessage}\r\n${Object.entries(response.headers)
      .flatMap(([name, value]) => [value ?? []].flat().map((one) => `${name}: ${one}\r\n`))
      .join('')}\r\n`,
  );
const bytesOf = (response: LightMyRequestResponse) => headerBytes(response) + response.rawPayload.length;

const percentileOf = (sorted: readonly number[], p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function main(): Promise<void> {
  const kept = process.env.MAILSCOPE_BENCH_DIR;
  const dir = kept ?? mkdtempSync(join(tmpdir(), 'mailscope-bench-console-'));
  const reuse = kept !== undefined && existsSync(join(dir, 'data', databaseFileName));
  try {
    if (!reuse) {
      mkdirSync(dir, { recursive: true });
      writeInstance(dir);
    }
    const config = loadConfig('mailscope.yaml', { cwd: dir, env: { VIEWER_TOKEN: viewerToken } });
    check(config.probes.length === 7, `the config names ${config.probes.length} probes, 7 written`);

    if (reuse) console.log(`console: the store in ${dir} as it is (made by an earlier run; its history ends when that run was)`);
    else {
      const made = generate(config.dataDir);
      console.log(
        `console: ${days} days of history: ${fmt(made.runs)} runs, ${fmt(made.observations)} observations, ${(made.bytes / 1_048_576).toFixed(0)} MB store, generated in ${made.seconds.toFixed(1)} s (${fmt(made.observations / made.seconds)} observations/s through record())`,
      );
    }
    gc();

    const log = createLogger({ level: config.instance.log.level, destination: pino.destination({ dest: '/dev/null', sync: true }) });
    const db = Database.open(config.dataDir);
    const dns = new DnsClient({ servers: [{ host: '127.0.0.1', port: 53 }] });
    const runner = new Runner({ db, clock: systemClock, log, services: probeServicesOf(config.instance, dns, outboxSnapshotOf(db, systemClock, false)) });
    const controls = new ControlService({ db, clock: systemClock, log, settings: controlSettingsOf(config.instance) });
    const app = await buildApp({ config, probes: config.probes, queries: storeQueries(db), runner, clock: systemClock, controls }, { log, version: 'bench' });
    await app.ready();
    try {
      // Sign in as a browser does: the form, then the token; no page yet.
      const form = await app.inject({ method: 'GET', url: '/login' });
      const loginCookie = [form.headers['set-cookie'] ?? []]
        .flat()
        .find((cookie) => cookie.startsWith('mailscope_login='))!
        .split(';')[0]!;
      const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)![1]!;
      const signIn = await app.inject({
        method: 'POST',
        url: '/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: loginCookie, 'sec-fetch-site': 'same-origin' },
        payload: new URLSearchParams({ _csrf: csrf, token: viewerToken, next: '/' }).toString(),
      });
      check(signIn.statusCode === 303, `sign-in answered ${signIn.statusCode}`);
      const cookie = [signIn.headers['set-cookie'] ?? []]
        .flat()
        .find((line) => line.startsWith('mailscope_session='))!
        .split(';')[0]!;
      // As a browser asks: it takes gzip (the page is compressed; the assets are cached instead).
      const overview = () => app.inject({ method: 'GET', url: '/', headers: { cookie, 'accept-encoding': 'gzip, deflate, br' } });
      const bodyOf = (response: LightMyRequestResponse) => (response.headers['content-encoding'] === 'gzip' ? gunzipSync(response.rawPayload).toString('utf8') : response.body);
      const healthz = () => app.inject({ method: 'GET', url: '/healthz' });

      const checkOverview = (response: LightMyRequestResponse) => {
        const body = bodyOf(response);
        const ok =
          response.statusCode === 200 &&
          targets.every((target) => body.includes(`>${target}<`)) &&
          placementProbes.every((probe) => body.includes(probe)) &&
          domains.every((domain) => body.includes(domain));
        check(ok, `the overview answered ${response.statusCode} without every target, placement probe and domain`);
        return ok;
      };

      // Cold: the first page, then what it makes a browser fetch.
      const coldStarted = performance.now();
      const first = await overview();
      const coldMs = performance.now() - coldStarted;
      checkOverview(first);
      check(first.headers['content-encoding'] === 'gzip', 'the page is not compressed for a browser that takes gzip');
      const firstBody = bodyOf(first);
      const links = [...firstBody.matchAll(/<(?:link|script)\b[^>]*\b(?:href|src)="([^"]+)"/g)].map((match) => match[1]!);
      const assets = [...new Set(links)];
      if (firstBody.includes('data-chart')) {
        const script = await app.inject({ method: 'GET', url: assets.find((url) => url.endsWith('console.js'))! });
        for (const match of script.body.matchAll(/script\.src = '([^']+)'/g)) assets.push(match[1]!);
      }
      const assetRows: { url: string; bytes: number }[] = [];
      for (const url of assets) {
        const response = await app.inject({ method: 'GET', url });
        check(response.statusCode === 200, `${url} answered ${response.statusCode}`);
        check(!response.headers['content-encoding'], `${url} is compressed`);
        assetRows.push({ url, bytes: bytesOf(response) });
      }
      const pageBytes = bytesOf(first);
      const coldBytes = pageBytes + assetRows.reduce((sum, row) => sum + row.bytes, 0);
      check(firstBody.includes('data-chart'), 'the overview has no placement chart');

      for (let i = 0; i < warmup; i++) {
        await overview();
        await healthz();
      }
      const times = { overview: [] as number[], healthz: [] as number[] };
      const bytes = { overview: [] as number[], healthz: [] as number[] };
      for (let round = 0; round < rounds; round++) {
        for (const [name, ask] of [
          ['overview', overview],
          ['healthz', healthz],
        ] as const) {
          for (let i = 0; i < perRound; i++) {
            const started = performance.now();
            const response = await ask();
            times[name].push(performance.now() - started);
            bytes[name].push(bytesOf(response));
            if (name === 'overview') {
              if (round === 0 && i === 0) checkOverview(response);
              else check(response.statusCode === 200, `the overview answered ${response.statusCode}`);
            } else check(response.statusCode === 200 && response.body === '{"status":"ok"}', `healthz answered ${response.statusCode} ${response.body}`);
          }
        }
      }
      const stats = (name: 'overview' | 'healthz') => {
        const sorted = [...times[name]].sort((a, b) => a - b);
        const size = [...bytes[name]].sort((a, b) => a - b);
        return { p50: percentileOf(sorted, 50), p99: percentileOf(sorted, 99), max: sorted.at(-1)!, bytes: percentileOf(size, 50) };
      };
      const page = stats('overview');
      const health = stats('healthz');

      console.log('\ncold load (the page gzipped, as a browser takes it; the assets as they are):');
      console.log(`  ${'GET /'.padEnd(48)} ${kb(pageBytes).padStart(10)}  first request ${coldMs.toFixed(1)} ms; ${kb(Buffer.byteLength(firstBody))} uncompressed`);
      for (const row of assetRows) console.log(`  ${row.url.padEnd(48)} ${kb(row.bytes).padStart(10)}`);
      console.log(`  ${'total'.padEnd(48)} ${kb(coldBytes).padStart(10)}  (goal < ${kb(goals.coldBytes)}) ${coldBytes < goals.coldBytes ? 'ok' : 'MISSED'}`);

      const line = (name: string, s: ReturnType<typeof stats>) =>
        console.log(`${name.padEnd(22)} ${s.p50.toFixed(2).padStart(8)} ${s.p99.toFixed(2).padStart(8)} ${s.max.toFixed(2).padStart(8)} ${kb(s.bytes).padStart(10)}`);
      console.log(`\n${`warm (${rounds * perRound} each)`.padEnd(22)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)} ${'bytes'.padStart(10)}`);
      line('GET / (overview)', page);
      line('GET /healthz', health);
      console.log(
        `\nconsole: overview p50 ${page.p50.toFixed(1)} ms, p99 ${page.p99.toFixed(1)} ms (goal < ${goals.p99Ms} ms) ${page.p99 < goals.p99Ms ? 'ok' : 'MISSED'}; ` +
          `${(page.p50 / health.p50).toFixed(0)}× healthz at p50, ${(page.p99 / health.p99).toFixed(0)}× at p99; ` +
          `cold load ${kb(coldBytes)} (goal < ${kb(goals.coldBytes)}) ${coldBytes < goals.coldBytes ? 'ok' : 'MISSED'}, the page alone ${kb(pageBytes)} warm, ${(page.bytes / health.bytes).toFixed(0)}× healthz's answer`,
      );
      if (page.p99 >= goals.p99Ms) failures++;
      if (coldBytes >= goals.coldBytes) failures++;
    } finally {
      await app.close();
      await runner.stop();
      dns.close();
      db.close();
    }
  } finally {
    if (!kept) rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nconsole: ${failures === 0 ? 'every check passed' : `${failures} checks failed`}`);
  if (failures > 0) process.exitCode = 1;
}

await main();
