/**
 * `mailscope <command>`: the command line's wiring. Each command's work is in
 * commands/<name>.ts; here are its name, arguments, options and help, and how
 * an error becomes a message and an exit code.
 */
import { Command, CommanderError, Option } from 'commander';
import { checkBlacklistCommand, parseMaxRange } from './commands/check-blacklist.ts';
import { checkDnsCommand } from './commands/check-dns.ts';
import { configCheck } from './commands/config-check.ts';
import { commandContext, exitCodes, ExitError, parseResolver, type GlobalOptions, type Host } from './commands/context.ts';
import { controlCreate, controlList, controlResume, parseRate } from './commands/control.ts';
import { reportImport, reportParse } from './commands/report.ts';
import { parseBy, parseSince, trafficCommand } from './commands/traffic.ts';
import { statusCommand } from './commands/status.ts';
import type { TrafficGrouping } from './store/traffic.ts';
import { probeList, probeRun } from './commands/probe.ts';
import { run } from './commands/run.ts';
import { ConfigError, defaultConfigFile } from './config/load.ts';
import { isMailscopeError, MailscopeError } from './core/errors.ts';
import { scopeKeyNames } from './core/scope.ts';
import { escapeControls } from './core/text.ts';

export { exitCodes, type Host };

const repeatable = (value: string, previous: string[] = []) => [...previous, value];

export async function runCli(argv: readonly string[], host: Host): Promise<number> {
  const program = new Command('mailscope')
    .description('Deliverability observatory: inbox placement, blocklists, DNS authentication, alerts and send control.')
    .version(host.version, '-V, --version')
    .addOption(new Option('-c, --config <file>', `the instance configuration file (default: $MAILSCOPE_CONFIG, else ${defaultConfigFile})`))
    .addOption(new Option('--resolver <host:port>', "DNS resolver to ask instead of dns.resolvers or the system's (repeatable)").argParser(parseResolver))
    .showHelpAfterError('(run "mailscope --help" for the commands)')
    .exitOverride()
    .configureOutput({ writeOut: (text) => host.stdout.write(text), writeErr: (text) => host.stderr.write(text) });
  const ctx = commandContext(host, () => program.opts() as GlobalOptions);

  program
    .command('run')
    .description('run the scheduler and the HTTP API until SIGTERM or SIGINT')
    .action(() => run(ctx));

  const configCommand = program.command('config').description('work with the configuration');
  configCommand
    .command('check')
    .description('validate the configuration and every probe file, without side effects')
    .action(() => configCheck(ctx));

  const probeCommand = program.command('probe').description('list and run probes');
  probeCommand
    .command('list')
    .description('list the probe definitions')
    .option('--json', 'one JSON object per line')
    .action((options: { json?: boolean }) => probeList(ctx, options));
  probeCommand
    .command('run')
    .description('run one probe now, record it, and print its observations (exit 0 ok, 1 probe failed, 2 bad config)')
    .argument('<id>', 'probe id')
    .option('--json', 'observations as JSON lines')
    .action((id: string, options: { json?: boolean }) => probeRun(ctx, id, options));

  const checkCommand = program.command('check').description('one-shot checks, by hand or in scripts (nothing is recorded)');
  checkCommand
    .command('blacklist')
    .description('look up IPs, CIDR ranges and domains on DNS blocklists (exit 0 nothing listed, 1 listed, 3 only errors, 2 bad input)')
    .argument('<targets...>', 'IPv4/IPv6 addresses, CIDR ranges, domains')
    .option('--list <name>', 'a list id (built-in or from the config) or a DNSBL zone; repeatable; default: the free public set', repeatable)
    .option('--max-range <addresses>', 'largest range expanded', parseMaxRange)
    .option('--json', 'one JSON object per (target, list)')
    .action((targets: string[], options: { list?: string[]; json?: boolean; maxRange?: number }) => checkBlacklistCommand(ctx, targets, options));
  checkCommand
    .command('dns')
    .description("lint a sending domain's SPF, DKIM, DMARC, MX, PTR, MTA-STS, TLS-RPT and BIMI (exit 0 no failures, 1 a check failed, 3 only errors, 2 bad input)")
    .argument('<domain>', 'the sending domain')
    .option('--ip <address>', 'a sending IP: its SPF result and reverse DNS are checked (repeatable)', repeatable)
    .option('--selector <name>', 'a DKIM selector the platform signs with (repeatable)', repeatable)
    .option('--skip <check>', 'a check not to run (repeatable)', repeatable)
    .option('--ca-file <file>', 'PEM of a private CA trusted for the MTA-STS policy host, besides the system trust store')
    .option('--json', 'one JSON document with every check, its findings and the records seen')
    .action((domain: string, options: { ip?: string[]; selector?: string[]; skip?: string[]; caFile?: string; json?: boolean }) => checkDnsCommand(ctx, domain, options));

  program
    .command('traffic')
    .description("the platform's traffic as the running observatory counted it: per provider, sending IP or pool, and what the receivers said most")
    .option('--since <when>', 'start of the window: a duration back from now (15m, 1h, 7d) or an ISO 8601 time', parseSince, '1h')
    .option('--by <grouping>', 'rows per provider, ip or pool', parseBy, 'provider')
    .option('--provider <name>', 'only this provider')
    .option('--json', 'one JSON document')
    .action((options: { since: string; by: TrafficGrouping; json?: boolean; provider?: string }) => trafficCommand(ctx, options));

  program
    .command('status')
    .description('the store and, on PostgreSQL, the cluster: each instance (API, heartbeat, state) and each lease (holder, epoch, expiry)')
    .option('--json', 'one JSON document')
    .action((options: { json?: boolean }) => statusCommand(ctx, options));

  const reportCommand = program.command('report').description('feedback reports: DMARC aggregate, TLS-RPT, ARF complaints, DSN bounces (bare, gzip, zip or in a mail)');
  reportCommand
    .command('parse')
    .description('read report files and print what each says, recording nothing (exit 0 every file read, 1 some were not, 2 bad usage)')
    .argument('<files...>', 'report files or mails')
    .option('--json', 'one JSON object per report: {file, kind, ...}, or {file, kind: "unknown", error} for a file refused')
    .action((files: string[], options: { json?: boolean }) => reportParse(ctx, files, options));
  reportCommand
    .command('import')
    .description('record report files as a report source would: each report once, what cannot be read quarantined (exit 0 every file recorded, 1 some were not, 2 bad config)')
    .argument('<files...>', 'report files or mails')
    .option('--json', 'one JSON object per report')
    .action((files: string[], options: { json?: boolean }) => reportImport(ctx, files, options));

  // ── send control by hand: written to the store; a running observatory picks it up within controls.interval ──
  const controlCommand = program.command('control').description('list, pause, throttle and resume send controls (the running observatory enforces, pushes and releases them)');
  controlCommand
    .command('list')
    .description('the active controls (with --all, lifted ones too), newest first, every one of them')
    .option('--all', 'lifted and expired controls too')
    .option('--json', 'one JSON object per line')
    .action((options: { all?: boolean; json?: boolean }) => controlList(ctx, options));
  const scopeArgument = `key=value pairs, all of which must match: ${scopeKeyNames.join(', ')}`;
  controlCommand
    .command('pause')
    .description('pause a scope: its mail is held (Postfix) or suspended at push platforms until resumed or expired (exit 0 done, 2 bad input: nothing stored)')
    .argument('<scope...>', scopeArgument)
    .requiredOption('--reason <text>', 'why (one line, at most 1000 characters): kept in the audit log and shown to the platforms')
    .option('--expires <when>', 'lift by itself: a duration from now (2h) or an ISO 8601 time, at most a year ahead')
    .action((pairs: string[], options: { reason: string; expires?: string }) => controlCreate(ctx, { action: 'pause', pairs, reason: options.reason, expires: options.expires }));
  controlCommand
    .command('throttle')
    .description('limit a scope to a rate (messages per minute for the whole scope) (exit 0 done, 2 bad input: nothing stored)')
    .argument('<scope...>', scopeArgument)
    .requiredOption('--rate <per-minute>', 'messages per minute, 0 or more', parseRate)
    .requiredOption('--reason <text>', 'why (one line, at most 1000 characters): kept in the audit log and shown to the platforms')
    .option('--expires <when>', 'lift by itself: a duration from now (2h) or an ISO 8601 time, at most a year ahead')
    .action((pairs: string[], options: { rate: number; reason: string; expires?: string }) =>
      controlCreate(ctx, { action: 'throttle', pairs, rate: options.rate, reason: options.reason, expires: options.expires }),
    );
  controlCommand
    .command('resume')
    .description('lift a control now (exit 0 lifted, 1 already lifted, 2 no such control or bad input)')
    .argument('<id>', 'the control id (mailscope control list)')
    .requiredOption('--reason <text>', 'why (one line, at most 1000 characters): kept in the audit log')
    .action((id: string, options: { reason: string }) => controlResume(ctx, id, options));

  const err = (text: string) => host.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
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
