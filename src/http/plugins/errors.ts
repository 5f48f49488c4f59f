import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaCompiler } from 'fastify';
import { escapeControls } from '../../core/text.ts';
import type { z } from 'zod';
import { MailscopeError, statusOf, type ErrorCode } from '../../core/errors.ts';
import { errorMap, formatPath } from '../../core/zod-messages.ts';

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

/** An error answer with the status its code declares (core/errors.ts). */
function sendError(reply: FastifyReply, code: ErrorCode, message: string, extra?: Record<string, unknown>): FastifyReply {
  return reply.code(statusOf(code)).send(errorBody(code, message, extra));
}

/** The code of a client error Fastify or Node's HTTP parser answers by status: each code's own status. */
const clientErrorCodes: Partial<Record<number, ErrorCode>> = Object.fromEntries(
  (['REQUEST_TIMEOUT', 'BODY_TOO_LARGE', 'URI_TOO_LONG', 'UNSUPPORTED_MEDIA_TYPE', 'HEADERS_TOO_LARGE'] as const).map((code) => [statusOf(code), code]),
);

/**
 * Errors before a request reaches a route (a %-escape that is not one, a path
 * segment longer than maxParamLength): the same error shape, and never the URL
 * itself, which may carry a credential.
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    void sendError(reply, 'URI_TOO_LONG', 'a path segment is longer than 200 characters');
    return;
  }
  if (error.code === 'FST_ERR_BAD_URL') {
    void sendError(reply, 'BAD_REQUEST', 'the URL is not valid: a %-escape that is not one, or not UTF-8');
    return;
  }
  reply.log.error({ err: error }, 'unexpected framework error');
  void sendError(reply, 'INTERNAL', 'internal error');
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (headers too large,
 * a request that did not arrive within http.requestTimeout, bytes that are not
 * HTTP): answered in the same error shape, then the connection is closed.
 */
export function clientErrorHandler(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [code, message]: [ErrorCode, string] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? ['REQUEST_TIMEOUT', 'the request did not arrive in full within http.requestTimeout']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? ['HEADERS_TOO_LARGE', 'the request line and headers are larger than 16 KiB']
        : ['BAD_REQUEST', 'not an HTTP request this server can read'];
  const status = statusOf(code);
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
      return sendError(reply, 'BAD_REQUEST', `invalid request: ${summary.join('; ')}${more}`, { issues: shown });
    }
    if (error instanceof MailscopeError) {
      const status = statusOf(error.code);
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
    return sendError(reply, 'INTERNAL', 'internal error');
  });

  app.setNotFoundHandler((request, reply) => {
    const path = escapeControls(request.url.split('?')[0]!);
    void sendError(reply, 'NOT_FOUND', `no route ${request.method} ${path.length > 200 ? `${path.slice(0, 197)}...` : path}`);
  });
}
