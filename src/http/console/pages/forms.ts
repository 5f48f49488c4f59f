/**
 * What the console's forms and lists share: the fields of a form, a reason
 * checked by the same rule as the API's and the CLI's, the redirect that shows
 * the outcome, and the page cursor of a long list.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { reasonText } from '../../../controls/input.ts';
import { MailscopeError } from '../../../core/errors.ts';
import { plainTextProblem } from '../../../core/text.ts';
import { errorMap, formatPath } from '../../../core/zod-messages.ts';
import type { PageKey } from '../../../queries/index.ts';
import { cursorParam, paged } from '../../schemas.ts';

/** The fields of a posted form (the console's parser keeps the first of each name). */
export function formOf(request: FastifyRequest): Record<string, string> {
  const body = request.body;
  return body && typeof body === 'object' ? (body as Record<string, string>) : {};
}

/** The query of a page: a string per name (a repeated name keeps its first value). */
export function queryOf(request: FastifyRequest): Record<string, string> {
  const query = (request.query ?? {}) as Record<string, unknown>;
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(query)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (typeof first === 'string') out[key] = first;
  }
  return out;
}

/** The issues of a refused form as one message: `where: what`, each once. */
export function issuesOf(error: z.ZodError, where: (path: readonly PropertyKey[]) => string = formatPath): string {
  const lines = error.issues.map((issue) => {
    const at = where(issue.path);
    return at ? `${at}: ${issue.message}` : issue.message;
  });
  return [...new Set(lines)].join('; ');
}

/** A reason (or comment) as a person typed it: required, one line of plain text, as the API checks it. */
export function reasonOf(form: Record<string, string>, field = 'reason'): string {
  const parsed = reasonText.safeParse(form[field] ?? '', { error: errorMap });
  if (!parsed.success) throw new MailscopeError('BAD_REQUEST', `${field}: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`);
  return parsed.data;
}

/**
 * The page a form goes back to (`back`): a path of this console only, never another site or a
 * protocol-relative URL (the rule of the sign-in's `next`); undefined when the form names none.
 */
export function backOf(form: Record<string, string>): string | undefined {
  const back = form.back;
  if (back === undefined || back === '') return undefined;
  return /^\/(?![/\\])[^\s]*$/.test(back) && back.length <= 500 ? back : '/';
}

/** After a form acted: back to the page (303), saying what was done (`?done=paused`). */
export function doneRedirect(reply: FastifyReply, path: string, outcome: string): FastifyReply {
  return reply.redirect(`${path}${path.includes('?') ? '&' : '?'}done=${encodeURIComponent(outcome)}`, 303);
}

/** The outcome a redirect named, as a sentence for the page; unknown words are not shown. */
export function doneMessage(request: FastifyRequest, messages: Record<string, string>): string | undefined {
  const done = queryOf(request).done;
  return done !== undefined && Object.hasOwn(messages, done) ? messages[done] : undefined;
}

/** The page key of `?cursor=` (a cursor this console or the API handed out); a forged one is a 400. */
export function cursorOf(request: FastifyRequest): PageKey | undefined {
  const text = queryOf(request).cursor;
  if (text === undefined || text === '') return undefined;
  const parsed = cursorParam.safeParse(text);
  if (!parsed.success) throw new MailscopeError('BAD_REQUEST', 'cursor: not a page this console handed out (follow the "Older" link)');
  return parsed.data;
}

export { paged };

/** Rows per page of a list. */
export const pageSize = 50;

/** Text from a query parameter, bounded and without control characters (a filter, a search). */
export function filterOf(request: FastifyRequest, name: string, max = 200): string | undefined {
  const value = queryOf(request)[name]?.trim();
  if (value === undefined || value === '') return undefined;
  if (value.length > max) throw new MailscopeError('BAD_REQUEST', `${name}: at most ${max} characters`);
  const problem = plainTextProblem(value);
  if (problem) throw new MailscopeError('BAD_REQUEST', `${name}: ${problem}`);
  return value;
}

/** A URL of this page with these query parameters (empty ones left out). */
export function urlOf(path: string, query: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(key, value);
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** Windows a page offers, and their length. */
export const windows = { '1h': 3_600_000, '6h': 6 * 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 } as const;
export type WindowName = keyof typeof windows;

/** `?window=` as one of `windows` (the default when absent); another value is a 400. */
export function windowOf(request: FastifyRequest, fallback: WindowName): WindowName {
  const value = queryOf(request).window;
  if (value === undefined || value === '') return fallback;
  if (!Object.hasOwn(windows, value)) throw new MailscopeError('BAD_REQUEST', `window: expected one of ${Object.keys(windows).join(', ')}`);
  return value as WindowName;
}
