import { Command, CommanderError, Option } from 'commander';
import type { Env } from './config/interpolate.ts';
import { ConfigError, defaultConfigFile, loadConfig, type LoadedConfig } from './config/load.ts';
import type { Clock } from './core/clock.ts';
import { isMailscopeError, MailscopeError } from './core/errors.ts';
import type { Logger, LogLevel } from './core/logger.ts';
import type { Observation } from './core/observation.ts';
import { startObservatory } from './observatory.ts';
import { Runner } from './runner/runner.ts';
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
    .map(([key, value]) => `${key}=${typeof value === 'string' && /[\s"=]/.test(value) ? JSON.stringify(value) : String(value)}`)
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
    .showHelpAfterError('(run "mailscope --help" for the commands)')
    .exitOverride()
    .configureOutput({ writeOut: (text) => platform.stdout.write(text), writeErr: (text) => platform.stderr.write(text) });

  const configFile = (): string => (program.opts().config as string | undefined) ?? platform.env.MAILSCOPE_CONFIG ?? defaultConfigFile;
  const load = (): LoadedConfig => loadConfig(configFile(), { env: platform.env, cwd: platform.cwd });

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
      out(
        `configuration ok: ${config.probes.length} probe${config.probes.length === 1 ? '' : 's'} in ${files}${byKind ? ` (${byKind})` : ''}, ` +
          `${config.instance.tokens.length} API token${config.instance.tokens.length === 1 ? '' : 's'}`,
      );
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
      try {
        const runner = new Runner({ db, clock: platform.clock, log });
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
        db.close();
      }
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
      err(`mailscope: ${error.code}: ${error.message}`);
      return exitCodes.failed;
    }
    throw error;
  }
}
