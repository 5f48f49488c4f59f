/**
 * What every command is given: the process it runs in (main.ts builds the real
 * one, tests their own), its output, the configuration the command line names,
 * and the services assembled from it.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { assembleServices, type CommandServices, storeLocationOf } from '../assemble.ts';
import type { Env } from '../config/interpolate.ts';
import { defaultConfigFile, loadConfig, type LoadedConfig } from '../config/load.ts';
import { InstanceSchema, type InstanceConfig } from '../config/schema.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger, LogFormat, LogLevel } from '../core/logger.ts';
import { parseServerAddress } from '../core/schema.ts';
import type { DnsClient, DnsClientOptions } from '../protocols/dns/client.ts';
import type { DnsServer } from '../protocols/dns/types.ts';
import { dnsOptionsOf } from '../runner/services.ts';
import type { Database, StoreLocation } from '../store/database.ts';

/** Everything the CLI needs from the process it runs in. */
export interface Host {
  env: Env;
  cwd: string;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** Aborted on SIGTERM / SIGINT. */
  shutdown: AbortSignal;
  clock: Clock;
  version: string;
  /** A logger writing to stdout or stderr, as JSON or for people (`format`, default auto: pretty when that is a terminal). */
  createLogger(options: { level: LogLevel; to: 'stdout' | 'stderr'; format?: LogFormat }): Logger;
  /** The store where the configuration says (storeLocationOf): the data dir, or PostgreSQL. */
  openDatabase(location: StoreLocation): Database;
  createDnsClient(options: DnsClientOptions): DnsClient;
  /** The system's resolvers (/etc/resolv.conf), the DNS default. */
  systemResolvers: DnsServer[];
}

export const exitCodes = { ok: 0, failed: 1, badConfig: 2, errorsOnly: 3 } as const;

/** Ends a command with this exit code, and the message on stderr unless it is empty. */
export class ExitError extends Error {
  readonly exitCode: number;

  constructor(exitCode: number, message: string) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** The options given before the command (`mailscope --config FILE --resolver IP command ...`). */
export interface GlobalOptions {
  config?: string;
  resolver?: DnsServer[];
}

/** `--resolver`, repeatable. */
export function parseResolver(value: string, previous: DnsServer[] = []): DnsServer[] {
  const server = parseServerAddress(value);
  if (!server) throw new InvalidArgumentError(`"${value}" is not a DNS server address (an IP, optionally with a port: 127.0.0.1:53, [::1]:53)`);
  return [...previous, server];
}

export interface CommandContext {
  host: Host;
  /** One line (or more) on stdout, ended by a newline. */
  out(text: string): void;
  /** The configuration the command line names (--config, else $MAILSCOPE_CONFIG, else ./mailscope.yaml); a ConfigError when it is invalid. */
  config(): LoadedConfig;
  /** For commands that work without one: the configuration when it was named or exists, else the defaults. */
  instanceIfPresent(): InstanceConfig;
  /** A DNS client with the instance's settings, asking --resolver when given. */
  dns(instance: InstanceConfig): DnsClient;
  /** The services of one command over `config`, logging warnings and errors on stderr; the caller closes them. */
  services(config: LoadedConfig): CommandServices;
}

export function commandContext(host: Host, globals: () => GlobalOptions): CommandContext {
  const configFile = (): string => globals().config ?? host.env.MAILSCOPE_CONFIG ?? defaultConfigFile;
  const config = (): LoadedConfig => loadConfig(configFile(), { env: host.env, cwd: host.cwd });
  const dns = (instance: InstanceConfig): DnsClient => host.createDnsClient(dnsOptionsOf(instance, host.systemResolvers, globals().resolver));
  return {
    host,
    out: (text) => void host.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    config,
    instanceIfPresent() {
      const named = globals().config !== undefined || host.env.MAILSCOPE_CONFIG !== undefined;
      if (!named && !existsSync(resolve(host.cwd, defaultConfigFile))) return InstanceSchema.parse({});
      return config().instance;
    },
    dns,
    services(loaded) {
      const log = host.createLogger({ level: 'warn', to: 'stderr', format: loaded.instance.log.format });
      return assembleServices({ config: loaded, log, clock: host.clock, open: { store: () => host.openDatabase(storeLocationOf(loaded)), dns: () => dns(loaded.instance) }, role: 'command' });
    },
  };
}

/** Columns padded to their widest cell, two spaces apart. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
