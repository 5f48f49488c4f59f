// Runs inside `unshare --mount`: puts the lab's resolv.conf over /etc/resolv.conf in this
// mount namespace only, then starts every daemon, which inherit the namespace. Reads the
// start plan written by lab.ts; prints one JSON line per service.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import type { StartSpec } from './service.ts';

interface PlannedStart extends StartSpec {
  name: string;
  startLog: string;
}

const [planFile, resolvConf] = process.argv.slice(2);
const plan = JSON.parse(readFileSync(planFile!, 'utf8')) as PlannedStart[];

const mounted = spawnSync('mount', ['--bind', resolvConf!, '/etc/resolv.conf'], { encoding: 'utf8' });
if (mounted.status !== 0) {
  process.stdout.write(`${JSON.stringify({ name: 'resolv.conf', ok: false, error: mounted.stderr.trim() })}\n`);
  process.exit(1);
}

for (const step of plan) {
  const [command, ...args] = step.argv;
  // Daemons must not hold a pipe of ours open: everything they print goes to a file.
  const out = openSync(step.foreground ? step.logFile! : step.startLog, 'a');
  if (step.foreground) {
    const child = spawn(command!, args, { detached: true, stdio: ['ignore', out, out] });
    writeFileSync(step.pidFile, `${child.pid}\n`);
    child.unref();
    process.stdout.write(`${JSON.stringify({ name: step.name, ok: true })}\n`);
  } else {
    const result = spawnSync(command!, args, { stdio: ['ignore', out, out], timeout: 60_000 });
    const ok = result.status === 0;
    process.stdout.write(`${JSON.stringify({ name: step.name, ok, error: ok ? undefined : `exit ${result.status ?? result.signal}: see ${step.startLog}` })}\n`);
  }
  closeSync(out);
}
