import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { checkBlacklist, resolveInput } from './commands/check-blacklist.ts';
import { checkDns, resolveDnsInput } from './commands/check-dns.ts';
import { allControls, controlListHeader, controlRow, resolveControlArguments, resumeReasonProblem, type ControlArguments } from './commands/control.ts';
import type { Env } from './config/interpolate.ts';
import { ConfigError, defaultConfigFile, loadConfig, type LoadedConfig } from './config/load.ts';
import { InstanceSchema, type InstanceConfig } from './config/schema.ts';
import type { Clock } from './core/clock.ts';
import { isMailscopeError, MailscopeError } from './core/errors.ts';
import type { Logger, LogLevel } from './core/logger.ts';
import type { Observation } from './core/observation.ts';
import { parseServerAddress } from './core/schema.ts';
import { describeScope, scopeKeyNames } from './core/scope.ts';
import { escapeControls } from './core/text.ts';
import { heldCount, type ControlRow } from './store/controls.ts';
import type { DnsClient, DnsClientOptions } from './protocols/dns/client.ts';
import type { DnsServer } from './protocols/dns/types.ts';
import { startObservatory } from './observatory.ts';
import { Runner } from './runner/runner.ts';
import { AlertEngine } from './alerts/engine.ts';
import { controlActions } from './controls/rule-actions.ts';
import { ControlService } from './controls/service.ts';
import { alertSettingsOf, controlSettingsOf } from './config/settings.ts';
import { pushTargetsOf } from './controls/pusher.ts';
import { dnsOptionsOf, outboxSnapshotOf, probeServicesOf } from './runner/services.ts';
import type { Database } from './store/database.ts';

/** Everything the CLI needs from the outside world; main.ts provides the real one. */
export interface Platform {
  env: Env;
  cwd: string;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** Aborted on SIGTERM / SIGINT. */
  shutdown: AbortSignal;
  clock: Clock;
  version: string;
  createLogger(options: { level: LogLevel; to: 'stdout' | 'stderr' }): Logger;
  openDatabase(dataDir: string): Database;
  createDnsClient(options: DnsClientOptions): DnsClient;
  /** The system's resolvers (/etc/resolv.conf), the DNS default. */
  systemResolvers: DnsServer[];
}

export const exitCodes = { ok: 0, failed: 1, badConfig: 2, errorsOnly: 3 } as const;

class ExitError extends Error {
  readonly exitCode: number;

  constructor(exitCode: number, message: string) {
    super(message);
    this.exitCode = exitCode;
  }
}

function formatFields(record: Record<string, unknown>): string {
  return Object.entries(record)
    // Values a peer sent (a banner, a DNS record) are shown escaped: they cannot drive the terminal.
    .map(([key, value]) => `${key}=${typeof value === 'string' && /[\s"=]/.test(value) ? escapeControls(JSON.stringify(value)) : escapeControls(String(value))}`)
    .join(' ');
}

function observationLine(observation: Observation): string {
  return `${observation.measurement}  ${formatFields(observation.tags)}  ${formatFields(observation.fields)}`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}

export async function runCli(argv: readonly string[], platform: Platform): Promise<number> {
  const out = (text: string) => platform.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  const err = (text: string) => platform.stderr.write(text.endsWith('\n') ? text : `${text}\n`);

  const program = new Command('mailscope')
    .description('Deliverability observatory: inbox placement, blocklists, DNS authentication, alerts and send control.')
    .version(platform.version, '-V, --version')
    .addOption(new Option('-c, --config <file>', `the instance configuration file (default: $MAILSCOPE_CONFIG, else ${defaultConfigFile})`))
    .addOption(
      new Option('--resolver <host:port>', "DNS resolver to ask instead of dns.resolvers or the system's (repeatable)").argParser((value: string, previous: DnsServer[] = []) => {
        const server = parseServerAddress(value);
        if (!server) throw new InvalidArgumentError(`"${value}" is not a DNS server address (an IP, optionally with a port: 127.0.0.1:53, [::1]:53)`);
        return [...previous, server];
      }),
    )
    .showHelpAfterError('(run "mailscope --help" for the commands)')
    .exitOverride()
    .configureOutput({ writeOut: (text) => platform.stdout.write(text), writeErr: (text) => platform.stderr.write(text) });

  const configFile = (): string => (program.opts().config as string | undefined) ?? platform.env.MAILSCOPE_CONFIG ?? defaultConfigFile;
  const load = (): LoadedConfig => loadConfig(configFile(), { env: platform.env, cwd: platform.cwd });
  /** For commands that work without one: the config when it was named or exists, else the defaults. */
  const loadIfPresent = (): InstanceConfig => {
    const named = program.opts().config !== undefined || platform.env.MAILSCOPE_CONFIG !== undefined;
    if (!named && !existsSync(resolve(platform.cwd, defaultConfigFile))) return InstanceSchema.parse({});
    return load().instance;
  };
  const dnsFor = (instance: InstanceConfig): DnsClient =>
    platform.createDnsClient(dnsOptionsOf(instance, platform.systemResolvers, program.opts().resolver as DnsServer[] | undefined));

  program
    .command('run')
    .description('run the scheduler and the HTTP API until SIGTERM or SIGINT')
    .action(async () => {
      const config = load();
      const log = platform.createLogger({ level: config.instance.log.level, to: 'stdout' });
      const observatory = await startObservatory({
        config,
        log,
        clock: platform.clock,
        db: platform.openDatabase(config.dataDir),
        dns: dnsFor(config.instance),
        version: platform.version,
      });
      await new Promise<void>((resolve) => {
        if (platform.shutdown.aborted) resolve();
        else platform.shutdown.addEventListener('abort', () => resolve(), { once: true });
      });
      log.info({ signal: String(platform.shutdown.reason) }, 'shutting down');
      await observatory.stop();
      log.info('stopped');
    });

  const configCommand = program.command('config').description('work with the configuration');
  configCommand
    .command('check')
    .description('validate the configuration and every probe file, without side effects')
    .action(() => {
      const config = load();
      const kinds = new Map<string, number>();
      for (const { definition } of config.probes) kinds.set(definition.kind, (kinds.get(definition.kind) ?? 0) + 1);
      const byKind = [...kinds].map(([kind, count]) => `${kind}: ${count}`).join(', ');
      const files = config.probeFiles.length === 1 ? '1 file' : `${config.probeFiles.length} files`;
      const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;
      const alerting = config.rules.length > 0 || config.instance.notifiers.length > 0 ? `, ${plural(config.rules.length, 'alert rule')}, ${plural(config.instance.notifiers.length, 'notifier')}` : '';
      out(`configuration ok: ${plural(config.probes.length, 'probe')} in ${files}${byKind ? ` (${byKind})` : ''}${alerting}, ${plural(config.instance.tokens.length, 'API token')}`);
    });

  const probeCommand = program.command('probe').description('list and run probes');
  probeCommand
    .command('list')
    .description('list the probe definitions')
    .option('--json', 'one JSON object per line')
    .action((options: { json?: boolean }) => {
      const config = load();
      if (options.json) {
        for (const { definition, file } of config.probes) out(JSON.stringify({ ...definition, file }));
        return;
      }
      if (config.probes.length === 0) {
        out('no probes defined');
        return;
      }
      const rows = [['ID', 'KIND', 'SCHEDULE', 'TIMEOUT', 'ENABLED', 'FILE']];
      for (const { definition, file } of config.probes) {
        rows.push([definition.id, definition.kind, definition.schedule, `${definition.timeout}ms`, String(definition.enabled), file]);
      }
      out(table(rows));
    });

  probeCommand
    .command('run')
    .description('run one probe now, record it, and print its observations (exit 0 ok, 1 probe failed, 2 bad config)')
    .argument('<id>', 'probe id')
    .option('--json', 'observations as JSON lines')
    .action(async (id: string, options: { json?: boolean }) => {
      const config = load();
      const loaded = config.probes.find((probe) => probe.definition.id === id);
      if (!loaded) {
        const known = config.probes.map((probe) => probe.definition.id).join(', ') || 'none defined';
        throw new ExitError(exitCodes.badConfig, `no probe "${id}" (known: ${known})`);
      }
      const log = platform.createLogger({ level: 'warn', to: 'stderr' });
      const db = platform.openDatabase(config.dataDir);
      const dns = dnsFor(config.instance);
      try {
        const outbox = outboxSnapshotOf(db, platform.clock, config.instance.influx !== undefined);
        // Rules are evaluated as in `mailscope run`; what they queue is delivered by the running observatory.
        // So are rules' control actions: the controls are written here, pushed and enforced there.
        const controls = new ControlService({ db, clock: platform.clock, log, settings: controlSettingsOf(config.instance), platforms: pushTargetsOf(config.instance.platforms) });
        const alerts = new AlertEngine({ db, rules: config.rules.map(({ rule }) => rule), clock: platform.clock, log, settings: alertSettingsOf(config.instance), actions: controlActions(controls) });
        const runner = new Runner({ db, clock: platform.clock, log, services: probeServicesOf(config.instance, dns, outbox), onRecord: (observations) => alerts.evaluate(observations) });
        const onShutdown = () => void runner.stop();
        platform.shutdown.addEventListener('abort', onShutdown, { once: true });
        const completed = await runner.run(loaded.definition, 'cli');
        platform.shutdown.removeEventListener('abort', onShutdown);
        if (options.json) {
          for (const observation of completed.observations) out(JSON.stringify(observation));
        } else {
          const status = completed.success ? 'ok' : `FAILED ${completed.error?.code}: ${completed.error?.message}`;
          out(`${id} (${loaded.definition.kind}): ${status} in ${Math.round(completed.run.durationMs)} ms, run ${completed.runId}`);
          for (const observation of completed.observations) out(`  ${observationLine(observation)}`);
        }
        if (!completed.success) throw new ExitError(exitCodes.failed, '');
      } finally {
        dns.close();
        db.close();
      }
    });

  const checkCommand = program.command('check').description('one-shot checks, by hand or in scripts (nothing is recorded)');
  checkCommand
    .command('blacklist')
    .description('look up IPs, CIDR ranges and domains on DNS blocklists (exit 0 nothing listed, 1 listed, 3 only errors, 2 bad input)')
    .argument('<targets...>', 'IPv4/IPv6 addresses, CIDR ranges, domains')
    .option('--list <name>', 'a list id (built-in or from the config) or a DNSBL zone; repeatable; default: the free public set', (value: string, previous: string[] = []) => [...previous, value])
    .option('--max-range <addresses>', 'largest range expanded', (value: string) => {
      const parsed = Number(value);
      if (!Number.isInteger(parsed) || parsed < 1 || parsed > 65_536) throw new InvalidArgumentError(`"${value}" is not a number of addresses from 1 to 65536`);
      return parsed;
    })
    .option('--json', 'one JSON object per (target, list)')
    .action(async (targets: string[], options: { list?: string[]; json?: boolean; maxRange?: number }) => {
      const instance = loadIfPresent();
      const resolved = resolveInput({ targets, lists: options.list ?? [], json: Boolean(options.json), ...(options.maxRange ? { maxRangeSize: options.maxRange } : {}) }, instance);
      if (!resolved.ok) throw new ExitError(exitCodes.badConfig, resolved.problems.join('\n'));
      const dns = dnsFor(instance);
      try {
        const code = await checkBlacklist(dns, resolved, { json: Boolean(options.json), now: () => platform.clock.now(), write: out });
        if (code !== 0) throw new ExitError(code, '');
      } finally {
        dns.close();
      }
    });

  const repeatable = (value: string, previous: string[] = []) => [...previous, value];
  checkCommand
    .command('dns')
    .description("lint a sending domain's SPF, DKIM, DMARC, MX, PTR, MTA-STS, TLS-RPT and BIMI (exit 0 no failures, 1 a check failed, 3 only errors, 2 bad input)")
    .argument('<domain>', 'the sending domain')
    .option('--ip <address>', 'a sending IP: its SPF result and reverse DNS are checked (repeatable)', repeatable)
    .option('--selector <name>', 'a DKIM selector the platform signs with (repeatable)', repeatable)
    .option('--skip <check>', 'a check not to run (repeatable)', repeatable)
    .option('--ca-file <file>', 'PEM of a private CA trusted for the MTA-STS policy host, besides the system trust store')
    .option('--json', 'one JSON document with every check, its findings and the records seen')
    .action(async (domain: string, options: { ip?: string[]; selector?: string[]; skip?: string[]; caFile?: string; json?: boolean }) => {
      const resolved = resolveDnsInput({ domain, ips: options.ip ?? [], selectors: options.selector ?? [], skip: options.skip ?? [], caFile: options.caFile });
      if (!resolved.ok) throw new ExitError(exitCodes.badConfig, resolved.problems.join('\n'));
      const instance = loadIfPresent();
      const dns = dnsFor(instance);
      try {
        const code = await checkDns(dns, resolved, { json: Boolean(options.json), write: out });
        if (code !== 0) throw new ExitError(code, '');
      } finally {
        dns.close();
      }
    });

  // ── send control by hand: written to the store; a running observatory picks it up within controls.interval ──
  const controlCommand = program.command('control').description('list, pause, throttle and resume send controls (the running observatory enforces, pushes and releases them)');
  /** The store and the service, for one command. */
  const withControls = async <T>(use: (controls: ControlService, db: Database, config: LoadedConfig) => T | Promise<T>): Promise<T> => {
    const config = load();
    const log = platform.createLogger({ level: 'warn', to: 'stderr' });
    const db = platform.openDatabase(config.dataDir);
    try {
      const controls = new ControlService({ db, clock: platform.clock, log, settings: controlSettingsOf(config.instance), platforms: pushTargetsOf(config.instance.platforms) });
      return await use(controls, db, config);
    } finally {
      db.close();
    }
  };
  const actor = () => `cli:${platform.env.USER ?? platform.env.LOGNAME ?? 'unknown'}`;
  /** Create (or find) the control the arguments describe; bad input exits 2 with every problem, and stores nothing. */
  const createControl = (args: ControlArguments) => {
    const resolved = resolveControlArguments(args, platform.clock.now().getTime());
    if (!resolved.ok) throw new ExitError(exitCodes.badConfig, resolved.problems.join('\n'));
    const { action, scope, rate, reason } = resolved.request;
    return withControls((controls) => {
      const result = controls.create({ action, scope, ratePerMinute: rate, reason, expiresAt: resolved.expiresAt, source: actor(), actor: actor() });
      const rateShown = result.control.ratePerMinute === undefined ? '' : ` at ${result.control.ratePerMinute}/min`;
      out(`${result.created ? 'created' : 'already active'}: ${action} ${escapeControls(describeScope(result.control.scope))}${rateShown} (${result.control.id})`);
    });
  };
  controlCommand
    .command('list')
    .description('the active controls (with --all, lifted ones too), newest first, every one of them')
    .option('--all', 'lifted and expired controls too')
    .option('--json', 'one JSON object per line')
    .action((options: { all?: boolean; json?: boolean }) =>
      withControls((_controls, db) => {
        const rows: string[][] = [];
        for (const control of allControls(db, { all: Boolean(options.all) })) {
          if (options.json) out(JSON.stringify({ ...control, held: heldCount(db, control.id) }));
          else rows.push(controlRow(control, db));
        }
        if (options.json) return;
        if (rows.length === 0) {
          out(options.all ? 'no controls' : 'no active controls');
          return;
        }
        out(table([controlListHeader, ...rows]));
      }),
    );
  const scopeArgument = `key=value pairs, all of which must match: ${scopeKeyNames.join(', ')}`;
  controlCommand
    .command('pause')
    .description('pause a scope: its mail is held (Postfix) or suspended at push platforms until resumed or expired (exit 0 done, 2 bad input: nothing stored)')
    .argument('<scope...>', scopeArgument)
    .requiredOption('--reason <text>', 'why (one line, at most 1000 characters): kept in the audit log and shown to the platforms')
    .option('--expires <when>', 'lift by itself: a duration from now (2h) or an ISO 8601 time, at most a year ahead')
    .action((pairs: string[], options: { reason: string; expires?: string }) => createControl({ action: 'pause', pairs, reason: options.reason, expires: options.expires }));
  controlCommand
    .command('throttle')
    .description('limit a scope to a rate (messages per minute for the whole scope) (exit 0 done, 2 bad input: nothing stored)')
    .argument('<scope...>', scopeArgument)
    .requiredOption('--rate <per-minute>', 'messages per minute, 0 or more', (value: string) => {
      if (!/^\d{1,9}$/.test(value)) throw new InvalidArgumentError(`"${escapeControls(value)}" is not a whole number of messages per minute (0 or more)`);
      return Number(value);
    })
    .requiredOption('--reason <text>', 'why (one line, at most 1000 characters): kept in the audit log and shown to the platforms')
    .option('--expires <when>', 'lift by itself: a duration from now (2h) or an ISO 8601 time, at most a year ahead')
    .action((pairs: string[], options: { rate: number; reason: string; expires?: string }) => createControl({ action: 'throttle', pairs, rate: options.rate, reason: options.reason, expires: options.expires }));
  controlCommand
    .command('resume')
    .description('lift a control now (exit 0 lifted, 1 already lifted, 2 no such control or bad input)')
    .argument('<id>', 'the control id (mailscope control list)')
    .requiredOption('--reason <text>', 'why (one line, at most 1000 characters): kept in the audit log')
    .action((id: string, options: { reason: string }) => {
      const problem = resumeReasonProblem(options.reason);
      if (problem) throw new ExitError(exitCodes.badConfig, problem);
      return withControls((controls, db) => {
        try {
          const lifted: ControlRow = controls.lift(id, actor(), options.reason);
          const held = heldCount(db, id);
          out(`lifted: ${lifted.action} ${escapeControls(describeScope(lifted.scope))} (${id})${held.held > 0 ? `; ${held.held} held message(s) are released by the running observatory (platforms with release:)` : ''}`);
        } catch (error) {
          if (isMailscopeError(error) && error.code === 'CONTROL_NOT_FOUND') throw new ExitError(exitCodes.badConfig, escapeControls(error.message));
          if (isMailscopeError(error) && error.code === 'CONTROL_NOT_ACTIVE') throw new ExitError(exitCodes.failed, escapeControls(error.message));
          throw error;
        }
      });
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCodes.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? exitCodes.ok : exitCodes.badConfig;
    }
    if (error instanceof ExitError) {
      if (error.message) err(error.message);
      return error.exitCode;
    }
    if (error instanceof ConfigError || (isMailscopeError(error) && error.code === 'CONFIG_NOT_FOUND')) {
      err(error.message);
      return exitCodes.badConfig;
    }
    if (error instanceof MailscopeError) {
      err(`mailscope: ${error.code}: ${escapeControls(error.message)}`);
      return exitCodes.failed;
    }
    throw error;
  }
}
