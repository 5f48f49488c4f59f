import type { FastifyError, FastifyInstance, FastifySchemaCompiler } from 'fastify';
import type { z } from 'zod';
import { MailscopeError, type ErrorCode } from '../../core/errors.ts';
import { errorMap, formatPath } from '../../core/zod-messages.ts';

/** The one table from error code to HTTP status. A new code does not compile until it has a row. */
export const statusOfCode: Record<ErrorCode, number> = {
  CONFIG_INVALID: 500,
  CONFIG_NOT_FOUND: 500,
  STORE_UNAVAILABLE: 503,
  STORE_TOO_NEW: 500,
  STORE_MIGRATION_FAILED: 500,
  SERIES_INVALID: 500,
  PROBE_NOT_FOUND: 404,
  PROBE_BUSY: 409,
  PROBE_TIMEOUT: 504,
  PROBE_OVERLAP: 409,
  PROBE_ABORTED: 503,
  PROBE_CRASHED: 500,
  TARGET_UNRESOLVED: 502,
  DNS_TIMEOUT: 504,
  DNS_SERVFAIL: 502,
  DNS_REFUSED: 502,
  DNS_MALFORMED: 502,
  DNS_ID_MISMATCH: 502,
  DNS_RCODE: 502,
  DNS_NETWORK: 502,
  DNS_ABORTED: 503,
  DNSBL_REFUSED: 502,
  DNSBL_RATE_LIMITED: 502,
  DNSBL_BAD_ZONE: 502,
  DNSBL_WRONG_KIND: 502,
  DNSBL_BAD_ANSWER: 502,
  DNSBL_UNKNOWN_CODE: 502,
  DNSBL_ERROR_ANSWER: 502,
  DNSBL_BROKEN: 502,
  MTA_STS_UNREACHABLE: 502,
  SMTP_REJECTED: 502,
  SMTP_UNREACHABLE: 502,
  SMTP_AUTH_FAILED: 502,
  SMTP_TLS_FAILED: 502,
  SMTP_ERROR: 502,
  IMAP_AUTH_FAILED: 502,
  IMAP_UNREACHABLE: 502,
  IMAP_TLS_FAILED: 502,
  IMAP_ERROR: 502,
  OAUTH_TOKEN_FAILED: 502,
  NOTIFY_FAILED: 502,
  ALERT_NOT_FOUND: 404,
  ALERT_NOT_FIRING: 409,
  SILENCE_NOT_FOUND: 404,
  CONTROL_NOT_FOUND: 404,
  CONTROL_NOT_ACTIVE: 409,
  PUSH_FAILED: 502,
  ACTION_FAILED: 500,
  RELEASE_FAILED: 502,
  HTTP_LISTEN_FAILED: 500,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  INTERNAL: 500,
};

export interface ValidationIssue {
  in: string;
  path: string;
  message: string;
}

/** Request validation with zod and the same wording as config errors. */
export const validatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema }) =>
  (data) => {
    const result = schema.safeParse(data, { error: errorMap });
    if (result.success) return { value: result.data };
    return {
      error: result.error.issues.map((issue) => ({
        keyword: issue.code,
        instancePath: formatPath(issue.path),
        schemaPath: '',
        params: {},
        message: issue.message,
      })),
    };
  };

function errorBody(code: string, message: string, extra: Record<string, unknown> = {}) {
  return { error: { code, message, ...extra } };
}

/**
 * One error handler for the whole API: validation → 400 with every issue; a
 * MailscopeError → its status and message; anything else → 500 with no detail
 * (the log has it).
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (Array.isArray(error.validation)) {
      const where = error.validationContext ?? 'request';
      const issues: ValidationIssue[] = error.validation.map((item) => ({
        in: where,
        path: item.instancePath,
        message: item.message ?? 'invalid',
      }));
      const summary = issues.map((issue) => (issue.path ? `${issue.in}.${issue.path}: ${issue.message}` : `${issue.in}: ${issue.message}`));
      return reply.code(400).send(errorBody('BAD_REQUEST', `invalid request: ${summary.join('; ')}`, { issues }));
    }
    if (error instanceof MailscopeError) {
      const status = statusOfCode[error.code];
      if (status >= 500) request.log.error({ err: error }, 'request failed');
      if (error.code === 'UNAUTHORIZED') reply.header('www-authenticate', 'Bearer realm="mailscope"');
      return reply.code(status).send(errorBody(error.code, error.message));
    }
    const status = typeof error.statusCode === 'number' ? error.statusCode : 500;
    if (status >= 400 && status < 500) {
      // Fastify's own client errors (bad JSON, wrong content type, body too large): their messages are safe.
      return reply.code(status).send(errorBody('BAD_REQUEST', error.message));
    }
    request.log.error({ err: error }, 'unexpected error');
    return reply.code(500).send(errorBody('INTERNAL', 'internal error'));
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errorBody('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
  });
}
