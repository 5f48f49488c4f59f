import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaCompiler } from 'fastify';
import { escapeControls } from '../../core/text.ts';
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
  REQUEST_TIMEOUT: 408,
  BODY_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  HEADERS_TOO_LARGE: 431,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  INTERNAL: 500,
};

/** Issues listed in one answer. */
const maxIssues = 20;

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

/** The code of a client error Fastify or Node's HTTP parser answers by status. */
const clientErrorCodes: Partial<Record<number, ErrorCode>> = { 408: 'REQUEST_TIMEOUT', 413: 'BODY_TOO_LARGE', 414: 'URI_TOO_LONG', 415: 'UNSUPPORTED_MEDIA_TYPE', 431: 'HEADERS_TOO_LARGE' };

/**
 * Errors before a request reaches a route (a %-escape that is not one, a path
 * segment longer than maxParamLength): the same error shape, and never the URL
 * itself, which may carry a credential.
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    void reply.code(414).send(errorBody('URI_TOO_LONG', 'a path segment is longer than 200 characters'));
    return;
  }
  if (error.code === 'FST_ERR_BAD_URL') {
    void reply.code(400).send(errorBody('BAD_REQUEST', 'the URL is not valid: a %-escape that is not one, or not UTF-8'));
    return;
  }
  reply.log.error({ err: error }, 'unexpected framework error');
  void reply.code(500).send(errorBody('INTERNAL', 'internal error'));
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (headers too large,
 * a request that did not arrive within http.requestTimeout, bytes that are not
 * HTTP): answered in the same error shape, then the connection is closed.
 */
export function clientErrorHandler(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message]: [number, ErrorCode, string] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'REQUEST_TIMEOUT', 'the request did not arrive in full within http.requestTimeout']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'HEADERS_TOO_LARGE', 'the request line and headers are larger than 16 KiB']
        : [400, 'BAD_REQUEST', 'not an HTTP request this server can read'];
  this.log.debug({ code: error.code, status }, 'client error');
  if (socket.writable) {
    const body = JSON.stringify(errorBody(code, message));
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
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
      // Messages may quote what was sent: one line each, whatever it held.
      const issues: ValidationIssue[] = error.validation.map((item) => ({
        in: where,
        path: escapeControls(item.instancePath),
        message: escapeControls(item.message ?? 'invalid'),
      }));
      // Every issue, up to a bound: a body with thousands of bad keys gets a page, not a book.
      const shown = issues.slice(0, maxIssues);
      const more = issues.length > maxIssues ? `; and ${issues.length - maxIssues} more` : '';
      const summary = shown.map((issue) => (issue.path ? `${issue.in}.${issue.path}: ${issue.message}` : `${issue.in}: ${issue.message}`));
      return reply.code(400).send(errorBody('BAD_REQUEST', `invalid request: ${summary.join('; ')}${more}`, { issues: shown }));
    }
    if (error instanceof MailscopeError) {
      const status = statusOfCode[error.code];
      if (status >= 500) request.log.error({ err: error }, 'request failed');
      if (error.code === 'UNAUTHORIZED') reply.header('www-authenticate', 'Bearer realm="mailscope"');
      return reply.code(status).send(errorBody(error.code, escapeControls(error.message)));
    }
    const status = typeof error.statusCode === 'number' ? error.statusCode : 500;
    if (status >= 400 && status < 500) {
      // Fastify's own client errors (bad JSON, wrong content type, body too large): their messages are
      // safe, but kept to one bounded line all the same.
      return reply.code(status).send(errorBody(clientErrorCodes[status] ?? 'BAD_REQUEST', escapeControls(error.message).slice(0, 300)));
    }
    request.log.error({ err: error }, 'unexpected error');
    return reply.code(500).send(errorBody('INTERNAL', 'internal error'));
  });

  app.setNotFoundHandler((request, reply) => {
    const path = escapeControls(request.url.split('?')[0]!);
    reply.code(404).send(errorBody('NOT_FOUND', `no route ${request.method} ${path.length > 200 ? `${path.slice(0, 197)}...` : path}`));
  });
}
