import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { redactLogLine } from './redact.ts';
import { redacted } from './secret.ts';

export type { Logger };

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const satisfies readonly LevelWithSilent[];
export type LogLevel = (typeof logLevels)[number];

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
