/**
 * The composition root: the only file that reads the process environment and
 * builds the real clients (logger on stdout/stderr, the store on disk, the
 * system clock). Everything else receives them.
 */
import packageJson from '../package.json' with { type: 'json' };
import { runCli, type Host } from './cli.ts';
import { systemClock } from './core/clock.ts';
import { createLogger, prettyDestination, resolveLogFormat } from './core/logger.ts';
import { Database } from './store/database.ts';
import { getServers } from 'node:dns';
import { pino } from 'pino';
import { parseServerAddress } from './core/schema.ts';
import { DnsClient } from './protocols/dns/client.ts';

const shutdown = new AbortController();
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (shutdown.signal.aborted) {
      // A second signal: the operator wants out now. Committed transactions are safe in the WAL.
      process.exit(130);
    }
    shutdown.abort(signal);
  });
}

const host: Host = {
  env: process.env,
  cwd: process.cwd(),
  stdout: process.stdout,
  stderr: process.stderr,
  shutdown: shutdown.signal,
  clock: systemClock,
  version: packageJson.version,
  createLogger: ({ level, to, format = 'auto' }) => {
    const stream = to === 'stdout' ? process.stdout : process.stderr;
    const destination = pino.destination({ dest: to === 'stdout' ? 1 : 2, sync: true });
    if (resolveLogFormat(format, stream.isTTY === true) === 'json') return createLogger({ level, destination });
    // Colours for a terminal only, and not when NO_COLOR asks for none (no-color.org).
    return createLogger({ level, destination: prettyDestination(destination, { colorize: stream.isTTY === true && !process.env.NO_COLOR }) });
  },
  openDatabase: (location) => Database.at(location),
  createDnsClient: (options) => new DnsClient(options),
  systemResolvers: getServers().flatMap((server) => {
    const parsed = parseServerAddress(server);
    return parsed ? [parsed] : [];
  }),
};

process.exitCode = await runCli(process.argv.slice(2), host);
// Whatever a misbehaving probe left running (a timer, a socket) must not keep a finished command alive.
setTimeout(() => process.exit(), 2_000).unref();
