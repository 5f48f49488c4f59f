/** What the lab knows about each daemon: its files, its ports, how it starts, when it is ready. */
import { execFileSync } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { LabKeys } from './keys.ts';
import { lab } from './plan.ts';

export interface LabPaths {
  state: string;
  etc: string;
  run: string;
  log: string;
  data: string;
}

export function labPaths(state = lab.stateDir): LabPaths {
  return { state, etc: join(state, 'etc'), run: join(state, 'run'), log: join(state, 'log'), data: join(state, 'data') };
}

export interface ServiceContext {
  paths: LabPaths;
  keys: LabKeys;
}

export interface Listener {
  address: string;
  port: number;
  protocol: 'tcp' | 'udp';
}

export interface StartSpec {
  argv: string[];
  /** Where the daemon (or the lab, for a foreground program) writes its pid. */
  pidFile: string;
  /** A program that stays in the foreground: the lab detaches it and writes its pid. */
  foreground?: boolean;
  /** Its stdout and stderr, for foreground programs. */
  logFile?: string;
}

export interface LabService {
  name: string;
  /** A pid is this service's only if /proc/PID/cmdline contains this. */
  processMatch: string;
  listeners: Listener[];
  /** Files to write, by path relative to the state dir. */
  files(ctx: ServiceContext): Record<string, string>;
  /** Directories, permissions, compiled scripts: whatever must exist before start. */
  prepare?(ctx: ServiceContext): void;
  start(ctx: ServiceContext): StartSpec;
  /** Resolves once the service answers; rejects with the reason it does not. */
  ready(ctx: ServiceContext): Promise<void>;
}

/** Connects and reads the first line; resolves with it. */
export function readBanner(host: string, port: number, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${host}:${port}: no banner within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const newline = received.indexOf('\n');
      if (newline === -1) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(received.slice(0, newline).replace(/\r$/, ''));
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${host}:${port}: ${error.message}`));
    });
  });
}

export async function expectBanner(host: string, port: number, prefix: string): Promise<void> {
  const banner = await readBanner(host, port);
  if (!banner.startsWith(prefix)) throw new Error(`${host}:${port} greets "${banner}", expected "${prefix}…"`);
}

export function tcpOpen(host: string, port: number, timeoutMs = 2_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${host}:${port}: no connection within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${host}:${port}: ${error.message}`));
    });
  });
}

/** A resolver that asks one server only (c-ares: no /etc/resolv.conf involved). */
export function resolverAt(host: string, port: number): Resolver {
  const resolver = new Resolver({ timeout: 1_000, tries: 1 });
  resolver.setServers([`${host}:${port}`]);
  return resolver;
}

export async function httpOk(url: string, init: RequestInit = {}): Promise<void> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(2_000) });
  await response.body?.cancel();
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
}

/** uid and gid of a system user (the packages create them). */
export function userIds(user: string): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, user], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}
