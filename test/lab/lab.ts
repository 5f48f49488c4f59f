/**
 * The lab: real DNS, DNSBL, MTA, spam filter, IMAP and time-series servers on
 * loopback. `node test/lab/lab.ts up|down|status` (npm run lab:up, lab:down,
 * lab:status). up installs what is missing, renders every config into the state
 * dir (nothing in /etc is edited), starts the daemons inside a private mount
 * namespace whose /etc/resolv.conf points at the lab resolver, and waits until
 * each answers. It is idempotent; down stops exactly the processes it started.
 */
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { labKeys } from './keys.ts';
import { delist, list, queryName } from './dnsbl.ts';
import { installPackages } from './packages.ts';
import { withLock } from './lock.ts';
import { labDir, sender } from './plan.ts';
import { setZoneRecords } from './zone-edit.ts';
import { labZones } from './zones.ts';
import { readPid, removePidFile, runningPid, stopProcess } from './processes.ts';
import { labPaths, type LabPaths, type LabService, type Listener, type ServiceContext } from './service.ts';
import { services } from './services/index.ts';

export class LabError extends Error {
  override name = 'LabError';
}

type Log = (line: string) => void;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new LabError('the lab must run as root: it binds ports 25 and 53, installs Debian packages and mounts a private resolv.conf');
  }
}

function pidFileOf(service: LabService, context: ServiceContext): string {
  return service.start(context).pidFile;
}

/** Just enough context to find pid files, without making keys. */
function bareContext(paths: LabPaths): ServiceContext {
  const keys = join(paths.state, 'keys');
  return {
    paths,
    keys: {
      rsa2048: '',
      rsa1024: '',
      dkimPrivateKey: join(keys, 'rsa2048.private'),
      caCert: join(keys, 'ca.pem'),
      serverCert: join(keys, 'server.pem'),
      serverKey: join(keys, 'server.key'),
    },
  };
}

export interface ServiceStatus {
  name: string;
  pid: number | undefined;
  ready: boolean;
  reason?: string;
}

async function readiness(service: LabService, context: ServiceContext): Promise<string | undefined> {
  try {
    await service.ready(context);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

export async function labStatus(paths = labPaths()): Promise<ServiceStatus[]> {
  const context = bareContext(paths);
  return Promise.all(
    services.map(async (service) => {
      const pid = runningPid(pidFileOf(service, context), service.processMatch);
      if (pid === undefined) return { name: service.name, pid, ready: false, reason: 'not running' };
      const reason = await readiness(service, context);
      return { name: service.name, pid, ready: reason === undefined, ...(reason ? { reason } : {}) };
    }),
  );
}

function listenerFree(listener: Listener): Promise<string | undefined> {
  return new Promise((resolve) => {
    if (listener.protocol === 'udp') {
      const socket = createSocket('udp4');
      socket.once('error', (error) => {
        socket.close();
        resolve((error as NodeJS.ErrnoException).code ?? error.message);
      });
      socket.bind(listener.port, listener.address, () => socket.close(() => resolve(undefined)));
      return;
    }
    const server = createServer();
    server.once('error', (error) => resolve((error as NodeJS.ErrnoException).code ?? error.message));
    server.listen(listener.port, listener.address, () => server.close(() => resolve(undefined)));
  });
}

async function checkPortsFree(): Promise<void> {
  const taken: string[] = [];
  for (const service of services) {
    for (const listener of service.listeners) {
      const problem = await listenerFree(listener);
      if (problem) taken.push(`${listener.address}:${listener.port}/${listener.protocol} (${service.name}): ${problem === 'EADDRINUSE' ? 'taken by another process' : problem}`);
    }
  }
  if (taken.length > 0) {
    throw new LabError(`lab ports are not free (move them with MAILSCOPE_LAB_PORTS=name=port,...):\n  ${taken.join('\n  ')}`);
  }
}

function render(paths: LabPaths, log: Log): ServiceContext {
  for (const dir of [paths.etc, paths.run, paths.log, paths.data, join(paths.data, 'nsd'), join(paths.data, 'spamd')]) mkdirSync(dir, { recursive: true });
  // Daemons that drop privileges (rbldnsd, Dovecot, pyspf) must reach their files.
  for (const dir of [paths.state, paths.etc, paths.run, paths.data]) chmodSync(dir, 0o755);
  const context: ServiceContext = { paths, keys: labKeys() };
  let count = 0;
  for (const service of services) {
    for (const [relative, content] of Object.entries(service.files(context))) {
      const file = join(paths.state, relative);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content, { mode: 0o644 });
      count++;
    }
  }
  for (const service of services) service.prepare?.(context);
  log(`rendered ${count} files into ${paths.state}`);
  return context;
}

function tail(file: string, lines = 15): string {
  if (!existsSync(file)) return `(no ${file})`;
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

async function waitReady(service: LabService, context: ServiceContext, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let reason: string | undefined = 'not checked';
  while (Date.now() < deadline) {
    reason = await readiness(service, context);
    if (reason === undefined) return;
    await sleep(100);
  }
  const logs = [join(context.paths.log, `${service.name}.start.log`), service.start(context).logFile].filter((file): file is string => Boolean(file));
  throw new LabError(`${service.name} is not ready after ${timeoutMs} ms: ${reason}\n${logs.map((file) => `--- ${file}\n${tail(file)}`).join('\n')}`);
}

const defaultLog: Log = (line) => process.stderr.write(`lab: ${line}\n`);
const lockFile = (paths: LabPaths) => join(paths.state, 'lab.lock');

/** Bring the lab up (or confirm it is up). Returns whether it started anything. */
export async function labUp(options: { log?: Log; paths?: LabPaths } = {}): Promise<{ started: boolean; ms: number }> {
  const paths = options.paths ?? labPaths();
  requireRoot();
  return withLock(lockFile(paths), () => up(options.log ?? defaultLog, paths));
}

/** Stop exactly the processes the lab started: each by its pid, after checking its command line. */
export async function labDown(options: { log?: Log; paths?: LabPaths } = {}): Promise<void> {
  const paths = options.paths ?? labPaths();
  requireRoot();
  await withLock(lockFile(paths), () => down(options.log ?? defaultLog, paths));
}

async function up(log: Log, paths: LabPaths): Promise<{ started: boolean; ms: number }> {
  const began = performance.now();
  installPackages(log);

  const status = await labStatus(paths);
  if (status.every((service) => service.ready)) {
    log('already up');
    return { started: false, ms: performance.now() - began };
  }
  if (status.some((service) => service.pid !== undefined)) {
    log(
      `partly up (${status
        .filter((s) => !s.ready)
        .map((s) => `${s.name}: ${s.reason}`)
        .join('; ')}): restarting`,
    );
    await down(log, paths);
  }
  await checkPortsFree();
  const context = render(paths, log);

  const plan = services.map((service) => ({ name: service.name, ...service.start(context), startLog: join(paths.log, `${service.name}.start.log`) }));
  for (const step of plan) removePidFile(step.pidFile);
  const planFile = join(paths.run, 'start-plan.json');
  writeFileSync(planFile, JSON.stringify(plan, null, 2));
  const started = spawnSync('unshare', ['--mount', '--propagation', 'private', '--', process.execPath, join(labDir, 'namespace-start.ts'), planFile, join(paths.etc, 'resolv.conf')], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  const reports = started.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { name: string; ok: boolean; error?: string });
  const failed = reports.filter((report) => !report.ok);
  if (started.status !== 0 || failed.length > 0) {
    await down(log, paths);
    const details = failed.map((report) => `${report.name}: ${report.error ?? 'failed'}\n${tail(join(paths.log, `${report.name}.start.log`))}`);
    throw new LabError(`the lab did not start:\n${details.join('\n') || started.stderr}`);
  }
  try {
    await Promise.all(services.map((service) => waitReady(service, context, 30_000)));
  } catch (error) {
    await down(log, paths);
    throw error;
  }
  const ms = performance.now() - began;
  log(`up: ${services.length} services ready in ${(ms / 1000).toFixed(1)} s`);
  return { started: true, ms };
}

async function down(log: Log, paths: LabPaths): Promise<void> {
  const context = bareContext(paths);
  // In parallel: the milters (libmilter) take about 5 s each to notice SIGTERM.
  const stopped = await Promise.all(
    services.map(async (service) => {
      const pidFile = pidFileOf(service, context);
      const pid = readPid(pidFile);
      if (pid === undefined) return undefined;
      let outcome: string | undefined;
      if (runningPid(pidFile, service.processMatch) !== undefined) {
        const how = await stopProcess(pid, service.processMatch);
        outcome = `${service.name} (${pid}${how === 'killed' ? ', killed' : ''})`;
      }
      removePidFile(pidFile);
      return outcome;
    }),
  ).then((outcomes) => outcomes.filter((outcome): outcome is string => outcome !== undefined));
  rmSync(join(paths.run, 'start-plan.json'), { force: true });
  log(stopped.length > 0 ? `stopped ${stopped.join(', ')}` : 'nothing was running');
}

/** Processes in the lab's mount namespace and their proportional memory (PSS), in MiB. */
export function labMemory(paths = labPaths()): { processes: number; pssMiB: number } | undefined {
  const context = bareContext(paths);
  const anchor = services.map((service) => runningPid(pidFileOf(service, context), service.processMatch)).find((pid) => pid !== undefined);
  if (anchor === undefined) return undefined;
  const namespace = readlinkSync(`/proc/${anchor}/ns/mnt`);
  let processes = 0;
  let pssKiB = 0;
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (readlinkSync(`/proc/${entry}/ns/mnt`) !== namespace) continue;
      const pss = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${entry}/smaps_rollup`, 'utf8'))?.[1];
      processes++;
      pssKiB += Number(pss ?? 0);
    } catch {
      // The process ended while we looked.
    }
  }
  return { processes, pssMiB: Math.round(pssKiB / 1024) };
}

/** sender.test's DMARC record weakened (p=none, no reports) or as the lab renders it. */
export async function breakDmarc(broken: boolean): Promise<void> {
  const zone = labZones(labKeys()).find((candidate) => candidate.origin === sender.domain)!;
  const records = zone.records.map((record) => (broken && record.name === `_dmarc.${sender.domain}` ? { ...record, value: ['v=DMARC1; p=none'] } : record));
  await setZoneRecords(sender.domain, records, broken ? 'the sending brand, DMARC weakened by hand (npm exec -- node test/lab/lab.ts fix-dmarc puts it back)' : zone.purpose);
}

async function main(command: string | undefined): Promise<number> {
  if (['up', 'down', 'status', 'list', 'delist', 'break-dmarc', 'fix-dmarc'].includes(command ?? '')) requireRoot();
  switch (command) {
    case 'up': {
      await labUp();
      return 0;
    }
    case 'down':
      await labDown();
      return 0;
    case 'status': {
      const status = await labStatus();
      for (const service of status) {
        process.stdout.write(`${service.name.padEnd(18)} ${service.ready ? 'ready' : 'DOWN '}  ${service.pid ?? '-'}${service.reason ? `  ${service.reason}` : ''}\n`);
      }
      process.stdout.write(`state: ${labPaths().state}\n`);
      const memory = labMemory();
      if (memory) process.stdout.write(`memory: ${memory.pssMiB} MiB PSS in ${memory.processes} processes\n`);
      return status.every((service) => service.ready) ? 0 : 1;
    }
    case 'list':
    case 'delist': {
      const entry = process.argv[3];
      if (!entry) {
        process.stderr.write(`usage: node test/lab/lab.ts ${command} <ip|range|domain>\n`);
        return 2;
      }
      await (command === 'list' ? list(entry) : delist(entry));
      process.stdout.write(`${command === 'list' ? 'listed' : 'delisted'} ${entry}: ${queryName(entry)} (visible within ~6 s)\n`);
      return 0;
    }
    case 'break-dmarc':
    case 'fix-dmarc': {
      // The demo's "break a record": sender.test's DMARC record weakened to p=none (a DNS change the
      // dns-auth probe reports, with its old and new record), or put back as the lab renders it.
      await breakDmarc(command === 'break-dmarc');
      process.stdout.write(`${command === 'break-dmarc' ? 'weakened' : 'restored'} _dmarc.${sender.domain} (the resolver caches up to 5 s)\n`);
      return 0;
    }
    default:
      process.stderr.write('usage: node test/lab/lab.ts up|down|status|list <entry>|delist <entry>|break-dmarc|fix-dmarc\n');
      return 2;
  }
}

if (process.argv[1] === import.meta.filename) {
  try {
    process.exitCode = await main(process.argv[2]);
  } catch (error) {
    process.stderr.write(`lab: ${error instanceof LabError ? error.message : (error as Error).stack}\n`);
    process.exitCode = 1;
  }
}
