/** The lab's processes: found by pid file, confirmed by command line, stopped by pid. */
import { existsSync, readFileSync, rmSync } from 'node:fs';

export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

/** Alive, not a zombie (a zombie still passes kill -0), and running the program we expect. */
export function isOurs(pid: number, processMatch: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
    const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    return commandLine.includes(processMatch);
  } catch {
    return false;
  }
}

/** The pid in pidFile when it is a live process of ours; else undefined. */
export function runningPid(pidFile: string, processMatch: string): number | undefined {
  const pid = readPid(pidFile);
  return pid !== undefined && isOurs(pid, processMatch) ? pid : undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. */
export async function stopProcess(pid: number, processMatch: string, graceMs = 8_000): Promise<'stopped' | 'killed' | 'gone'> {
  if (!isOurs(pid, processMatch)) return 'gone';
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isOurs(pid, processMatch)) return 'stopped';
    await sleep(50);
  }
  process.kill(pid, 'SIGKILL');
  while (isOurs(pid, processMatch)) await sleep(50);
  return 'killed';
}

export function removePidFile(pidFile: string): void {
  rmSync(pidFile, { force: true });
}
