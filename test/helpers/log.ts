import { Writable } from 'node:stream';
import { createLogger, type Logger, type LogLevel } from '../../src/core/logger.ts';

export interface CapturedLog {
  log: Logger;
  /** Everything logged so far, as raw text. */
  text(): string;
  /** Everything logged so far, one parsed object per line. */
  entries(): Record<string, unknown>[];
}

/** A real pino logger (same redaction as production) writing into memory. */
export function captureLog(level: LogLevel = 'trace'): CapturedLog {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  const log = createLogger({ level, destination });
  return {
    log,
    text: () => chunks.join(''),
    entries: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
