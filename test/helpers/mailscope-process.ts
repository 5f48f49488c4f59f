/**
 * `mailscope run` as a real process (the binary, a child process) with its own
 * environment; its JSON log lines kept, its API's port read from them; killed when
 * the test ends. Several of them on one PostgreSQL make a cluster.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { onTestFinished } from 'vitest';
import { binary } from './cli.ts';
import { waitFor } from './probes.ts';

export interface LogLine {
  /** Milliseconds since the epoch (the line's ISO time). */
  time: number;
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface Instance {
  name: string;
  child: ChildProcess;
  /** Where its API answers. */
  port: number;
  logs: LogLine[];
  exited: Promise<number | null>;
  /** GET or POST to its API as the test's admin token. */
  api(path: string, init?: RequestInit): Promise<{ status: number; body: any }>;
  /** The first log line with this message, after `since` (a log time). */
  logged(msg: string, since?: number): LogLine | undefined;
}

export async function startInstance(name: string, configFile: string, env: Record<string, string>, token: string): Promise<Instance> {
  const child = spawn(process.execPath, [binary, 'run', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', ...env } });
  const logs: LogLine[] = [];
  let buffered = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        logs.push({ ...parsed, time: Date.parse(String(parsed.time)), level: Number(parsed.level), msg: String(parsed.msg) });
      } catch {
        // Not a log line.
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  let running: LogLine | undefined;
  try {
    await waitFor(() => (running = logs.find((line) => line.msg === 'mailscope running')) !== undefined || child.exitCode !== null, `${name} to run`, 30_000);
  } catch (error) {
    throw new Error(`${(error as Error).message}; stderr: ${stderr.slice(0, 2_000)}`);
  }
  if (!running) throw new Error(`${name} exited (${child.exitCode}): ${stderr.slice(0, 2_000)}`);
  const port = Number(/:(\d+)$/.exec(String(running.listen))![1]);
  return {
    name,
    child,
    port,
    logs,
    exited,
    async api(path, init = {}) {
      const response = await fetch(`http://127.0.0.1:${port}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    },
    logged: (msg, since = 0) => logs.find((line) => line.msg === msg && line.time >= since),
  };
}
