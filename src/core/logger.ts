import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { redactLogLine } from './redact.ts';
import { redacted } from './secret.ts';

export type { Logger };

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const satisfies readonly LevelWithSilent[];
export type LogLevel = (typeof logLevels)[number];

export const logFormats = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof logFormats)[number];

/** `auto`: pretty for someone at a terminal, JSON for everything else (systemd's journal, a pipe, a file, the tests). */
export function resolveLogFormat(format: LogFormat, isTTY: boolean): 'json' | 'pretty' {
  return format === 'auto' ? (isTTY ? 'pretty' : 'json') : format;
}

/** Keys whose values are secrets wherever they appear (up to three levels deep). */
const secretKeys = ['token', 'password', 'pass', 'secret', 'webhookUrl', 'apiKey', 'accessToken', 'authorization', 'cookie'];

const redactPaths = [...secretKeys.flatMap((key) => [key, `*.${key}`, `*.*.${key}`, `*.*.*.${key}`]), 'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'];

/**
 * The one root logger. Components take children (`log.child({ component })`);
 * messages are constant strings, the data goes in fields. Secrets are redacted by
 * path here and render as "[redacted]" by themselves (core/secret.ts); and no line
 * leaves with a configured secret's value in any field (core/redact.ts).
 */
export function createLogger(options: { level?: LogLevel; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { app: 'mailscope' },
      redact: { paths: redactPaths, censor: redacted },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      hooks: { streamWrite: redactLogLine },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/**
 * A destination for people (pino-pretty): each line as local time, level,
 * component and message, then the other fields indented below. Written
 * synchronously, like the JSON destination, so that no line is lost at exit.
 * It is given the lines createLogger writes, already redacted (hooks.streamWrite):
 * it shows no secret that the JSON would not.
 */
export function prettyDestination(to: { write(text: string): unknown }, options: { colorize: boolean }): DestinationStream {
  const format = prettyFactory({
    colorize: options.colorize,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    ignore: 'pid,hostname,app,component',
    messageFormat: '{if component}{component}: {end}{msg}',
  });
  return { write: (line) => void to.write(format(line)) };
}
