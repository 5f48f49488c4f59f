import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { runCli, type Host } from '../../src/cli.ts';
import { systemClock } from '../../src/core/clock.ts';
import { createLogger, prettyDestination, resolveLogFormat } from '../../src/core/logger.ts';
import { Database } from '../../src/store/database.ts';
import { DnsClient } from '../../src/protocols/dns/client.ts';
import type { DnsServer } from '../../src/protocols/dns/types.ts';
import { noResolver } from './services.ts';
import { Writable } from 'node:stream';

export const repoRoot = join(import.meta.dirname, '..', '..');
export const binary = join(repoRoot, 'bin', 'mailscope.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The CLI in this process, with its output captured and a real store on disk. The
 * system's resolvers are `systemResolvers` (default: none there; the lab's in helpers/lab.ts).
 */
export async function cli(argv: string[], options: { cwd: string; env?: Record<string, string>; shutdown?: AbortSignal; systemResolvers?: DnsServer[]; host?: Partial<Host> }): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        append(chunk.toString());
        callback();
      },
    });
  const host: Host = {
    env: options.env ?? {},
    cwd: options.cwd,
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    shutdown: options.shutdown ?? new AbortController().signal,
    clock: systemClock,
    version: '0.0.0-test',
    // Not a terminal: JSON unless the configuration says pretty, as main.ts decides.
    createLogger: ({ level, to, format = 'auto' }) => {
      const destination = sink(to === 'stdout' ? (t) => (stdout += t) : (t) => (stderr += t));
      return createLogger({ level, destination: resolveLogFormat(format, false) === 'pretty' ? prettyDestination(destination, { colorize: false }) : destination });
    },
    openDatabase: (location) => Database.at(location),
    createDnsClient: (dnsOptions) => new DnsClient(dnsOptions),
    systemResolvers: options.systemResolvers ?? [noResolver],
    ...options.host,
  };
  const code = await runCli(argv, host);
  return { code, stdout, stderr };
}

/** The real binary in a child process (Node 24, the one running the tests). */
export function spawnCli(argv: string[], options: { cwd: string; env?: Record<string, string> }) {
  const child = spawn(process.execPath, [binary, ...argv], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}
