/**
 * The one error class of the application. Every expected failure carries an
 * UPPER_SNAKE code from this list; the CLI prints the message, the API maps the
 * code to a status (src/http/plugins/errors.ts), and runner/ records it with the run.
 */
export const errorCodes = [
  // configuration and command line
  'CONFIG_INVALID',
  'CONFIG_NOT_FOUND',
  'USAGE',
  // embedded store
  'STORE_UNAVAILABLE',
  'STORE_TOO_NEW',
  'STORE_MIGRATION_FAILED',
  // probes and runs
  'SERIES_INVALID',
  'PROBE_NOT_FOUND',
  'PROBE_BUSY',
  'PROBE_TIMEOUT',
  'PROBE_OVERLAP',
  'PROBE_ABORTED',
  'PROBE_CRASHED',
  'TARGET_UNRESOLVED',
  // HTTP API
  'BAD_REQUEST',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

export type ErrorDetails = Record<string, unknown>;

export class MailscopeError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails | undefined;

  constructor(code: ErrorCode, message: string, options: { details?: ErrorDetails; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MailscopeError';
    this.code = code;
    this.details = options.details;
  }
}

export function isMailscopeError(value: unknown): value is MailscopeError {
  return value instanceof MailscopeError;
}

/** The message of anything thrown, for places that must report a foreign throw as text. */
export function messageOf(value: unknown): string {
  if (value instanceof Error) return value.message;
  return String(value);
}
