/**
 * npm run bench -- blacklist
 *
 * A sweep of 20,000 (target, list) pairs against rbldnsd on loopback with a known
 * zone (every 7th address listed): Mailscope's DNS client and sweep, Node's
 * built-in dns.promises.Resolver (c-ares) at its best concurrency, and dnsperf
 * (the server's own limit) — all in this run, on this machine, so the figures are
 * ratios, not absolute speeds. Every answer is checked. Memory is measured as the
 * sweep grows.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sweep, type PairResult } from '../src/probes/dnsbl-check.ts';
import { queryPrefix, type DnsblTarget } from '../src/probes/dnsbl-targets.ts';
import type { ListSpec } from '../src/probes/dnsbl-verdict.ts';
import { DnsClient } from '../src/protocols/dns/client.ts';
import { median } from './lib/measure.ts';

const pairs = 20_000;
const zone = 'bench.dnsbl.test';
const listedEvery = 7;

function ensurePackage(binary: string, pkg: string): void {
  if (spawnSync('which', [binary]).status === 0) return;
  console.error(`bench: installing ${pkg}`);
  execFileSync('apt-get', ['install', '-y', '-qq', pkg], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, stdio: 'inherit' });
}

function freeUdpPort(): Promise<number> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

const address = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const isListed = (i: number) => i % listedEvery === 0;

async function startRbldnsd(count: number): Promise<{ port: number; stop: () => void; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'mailscope-bench-'));
  chmodSync(dir, 0o755);
  const lines = [':127.0.0.2:Listed in the bench zone: $', '127.0.0.2'];
  for (let i = 0; i < count; i++) if (isListed(i)) lines.push(address(i));
  writeFileSync(join(dir, 'zone.txt'), `${lines.join('\n')}\n`, { mode: 0o644 });
  const port = await freeUdpPort();
  const pidFile = join(dir, 'rbldnsd.pid');
  execFileSync('rbldnsd', ['-u', 'rbldns', '-w', dir, '-b', `127.0.0.1/${port}`, '-p', pidFile, '-t', '60', '-q', `${zone}:ip4set:zone.txt`]);
  // Wait until it answers its test point.
  const resolver = new Resolver({ timeout: 500, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  for (let i = 0; i < 50; i++) {
    try {
      await resolver.resolve4(`2.0.0.127.${zone}`);
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const pid = Number(execFileSync('cat', [pidFile], { encoding: 'utf8' }).trim());
  return { port, dir, stop: () => process.kill(pid, 'SIGTERM') };
}

function targetsOf(count: number): DnsblTarget[] {
  return Array.from({ length: count }, (_, i) => ({ value: address(i), kind: 'ip' as const, family: 4 as const }));
}

const benchList: ListSpec = {
  id: 'bench',
  name: 'bench',
  zone,
  kind: 'ip',
  ipv6: false,
  codes: { '127.0.0.2': 'listed' },
  testPoints: { listed: '127.0.0.2', unlisted: '127.0.0.1' },
};

interface Measured {
  name: string;
  qps: number;
  ms: number;
  wrong: number;
  errors: number;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

async function ours(port: number, count: number, maxInFlight: number, onMemory?: () => void, given?: DnsblTarget[]): Promise<Measured> {
  const dns = new DnsClient({ servers: [{ host: '127.0.0.1', port }], maxInFlight, rateLimit: 0, cacheEntries: 0, timeoutMs: 2_000, attempts: 3, edns: false });
  let wrong = 0;
  let errors = 0;
  let seen = 0;
  const started = performance.now();
  const done = await sweep(dns, given ?? targetsOf(count), [benchList], {
    txtReasons: false,
    concurrency: maxInFlight * 2,
    onResult: (result: PairResult) => {
      const index = Number(result.target.value.split('.').reduce((sum, octet, position) => (position === 0 ? 0 : sum * 256 + Number(octet)), 0));
      if (result.verdict.status === 'error') errors++;
      else if ((result.verdict.status === 'listed') !== isListed(index)) wrong++;
      if (++seen % 2_500 === 0) onMemory?.();
    },
  });
  const ms = performance.now() - started;
  dns.close();
  if (done.health.some((health) => !health.healthy)) throw new Error('the bench zone failed its test points');
  return { name: `Mailscope (maxInFlight ${maxInFlight})`, qps: (count / ms) * 1000, ms, wrong, errors };
}

async function builtin(port: number, count: number, concurrency: number): Promise<Measured> {
  const resolver = new Resolver({ timeout: 2_000, tries: 3 });
  resolver.setServers([`127.0.0.1:${port}`]);
  let wrong = 0;
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const name = `${queryPrefix({ value: address(i), kind: 'ip', family: 4 })}.${zone}`;
      try {
        const answer = await resolver.resolve4(name);
        if (!isListed(i) || !answer.includes('127.0.0.2')) wrong++;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOTFOUND') {
          if (isListed(i)) wrong++;
        } else errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const ms = performance.now() - started;
  return { name: `node:dns Resolver (concurrency ${concurrency})`, qps: (count / ms) * 1000, ms, wrong, errors };
}

function dnsperf(port: number, count: number, dir: string): Measured {
  const file = join(dir, 'queries.txt');
  writeFileSync(file, Array.from({ length: count }, (_, i) => `${queryPrefix({ value: address(i), kind: 'ip', family: 4 })}.${zone} A`).join('\n'));
  const output = execFileSync('dnsperf', ['-s', '127.0.0.1', '-p', String(port), '-d', file, '-n', '1', '-q', '100', '-t', '2'], { encoding: 'utf8' });
  const qps = Number(/Queries per second:\s+([\d.]+)/.exec(output)?.[1]);
  const lost = Number(/Queries lost:\s+(\d+)/.exec(output)?.[1] ?? 0);
  return { name: 'dnsperf (100 outstanding)', qps, ms: (count / qps) * 1000, wrong: 0, errors: lost };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the bench starts rbldnsd as in the lab: run it as root');
  ensurePackage('rbldnsd', 'rbldnsd');
  ensurePackage('dnsperf', 'dnsperf');
  const server = await startRbldnsd(pairs * 2);
  try {
    console.log(`blacklist bench: ${pairs.toLocaleString('en')} (target, list) pairs against rbldnsd 127.0.0.1:${server.port}, 1 in ${listedEvery} listed; Node ${process.version}\n`);
    // Warm-up (JIT, sockets, rbldnsd caches) before anything is measured.
    await ours(server.port, 2_000, 100);
    await builtin(server.port, 2_000, 100);

    // Interleaved rounds, the median of each: one lucky or unlucky run says little on a noisy machine.
    const rounds = 5;
    const contenders: { name: string; run: () => Promise<Measured> }[] = [
      ...[100, 150].map((inFlight) => ({ name: `Mailscope (maxInFlight ${inFlight})`, run: () => ours(server.port, pairs, inFlight) })),
      ...[50, 100, 200].map((concurrency) => ({ name: `node:dns Resolver (concurrency ${concurrency})`, run: () => builtin(server.port, pairs, concurrency) })),
    ];
    const samples = new Map<string, Measured[]>(contenders.map((contender) => [contender.name, []]));
    for (let round = 0; round < rounds; round++) {
      const order = [...contenders.slice(round % contenders.length), ...contenders.slice(0, round % contenders.length)];
      for (const contender of order) samples.get(contender.name)!.push(await contender.run());
    }
    const summary = contenders.map((contender) => {
      const runs = samples.get(contender.name)!;
      return {
        name: contender.name,
        qps: median(runs.map((run) => run.qps)),
        min: Math.min(...runs.map((run) => run.qps)),
        max: Math.max(...runs.map((run) => run.qps)),
        wrong: runs.reduce((sum, run) => sum + run.wrong, 0),
        errors: runs.reduce((sum, run) => sum + run.errors, 0),
      };
    });
    const perf = dnsperf(server.port, pairs, server.dir);

    console.log(`median of ${rounds} interleaved rounds (min-max), answers per second:`);
    for (const row of summary) {
      console.log(`  ${row.name.padEnd(38)} ${row.qps.toFixed(0).padStart(7)}  (${row.min.toFixed(0)}-${row.max.toFixed(0)})  wrong ${row.wrong}  errors ${row.errors}`);
    }
    console.log(`  ${perf.name.padEnd(38)} ${perf.qps.toFixed(0).padStart(7)}  lost ${perf.errors}`);
    const ourRows = summary.filter((row) => row.name.startsWith('Mailscope'));
    const bestOurs = ourRows.reduce((best, row) => (row.qps > best.qps ? row : best));
    const bestBuiltin = summary.filter((row) => !row.name.startsWith('Mailscope')).reduce((best, row) => (row.qps > best.qps ? row : best));
    console.log('');
    console.log(`ratio Mailscope / node:dns Resolver (best median of each): ${(bestOurs.qps / bestBuiltin.qps).toFixed(2)}x`);
    console.log(`ratio Mailscope / dnsperf (the server's limit):           ${(bestOurs.qps / perf.qps).toFixed(2)}x`);
    const correct = ourRows.every((row) => row.wrong === 0 && row.errors === 0);
    console.log(`every Mailscope answer correct (${rounds * ourRows.length * pairs} answers): ${correct ? 'yes' : 'NO'}`);

    // Memory as the sweep grows: the sweep keeps nothing per pair (results stream out),
    // so what it holds above the input it was given should not grow with the sweep.
    const gc = (globalThis as { gc?: () => void }).gc;
    const inFlight = bestOurs.name.includes('150') ? 150 : 100;
    console.log(`\nmemory of the sweep itself (heap above its input, after GC), maxInFlight ${inFlight}:`);
    for (const size of [5_000, 10_000, 20_000, 40_000]) {
      const targets = targetsOf(size);
      gc?.();
      const baseline = process.memoryUsage().heapUsed;
      let peak = 0;
      const measured = await ours(
        server.port,
        size,
        inFlight,
        () => {
          gc?.();
          peak = Math.max(peak, process.memoryUsage().heapUsed - baseline);
        },
        targets,
      );
      console.log(
        `  ${String(size).padStart(6)} pairs: ${mib(peak)} above the ${mib(baseline)} baseline; RSS ${mib(process.memoryUsage().rss)}  (${measured.qps.toFixed(0)} answers/s, wrong ${measured.wrong})`,
      );
    }
    if (!gc) console.log('  (run with --expose-gc for heap figures after collection)');
    if (!correct) process.exitCode = 1;
  } finally {
    server.stop();
    rmSync(server.dir, { recursive: true, force: true });
  }
}

await main();
