/**
 * The console: server-rendered pages to watch and act, in the same Fastify
 * server as the API, on the same services. A person signs in with an API token
 * (viewer or higher); the token is checked once and never kept by the browser:
 * the answer is a session (an opaque random id in an HttpOnly, SameSite=Strict
 * cookie; only its digest is stored). Every form carries the session's form
 * token (CSRF), checked on every POST with the request's origin. Every answer
 * carries a Content-Security-Policy without inline script and frame-ancestors
 * 'none'. Pages are HTML; what they show live comes from /console/events
 * (server-sent events) and a small ES module that reloads the page's main part.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseCookie, stringifySetCookie } from 'cookie';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isMailscopeError, MailscopeError, statusOf } from '../../core/errors.ts';
import { digest, sessionCookie } from '../plugins/auth.ts';
import type { ApiServices } from '../services.ts';
import { consolePages } from './pages/index.ts';
import { renderPage, renderStandalone } from './render.ts';

/** The pre-sign-in form token's cookie (login CSRF: a forged sign-in into the attacker's session). */
const loginCookie = 'mailscope_login';

/** Forms are small: a reason, a scope, a rate. */
const maxFormBytes = 16 * 1024;

export const consoleAssetsPrefix = '/console/assets';

const securityHeaders: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
};

const random = () => randomBytes(32).toString('base64url');

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Only a path of this console: never another site (an open redirect), never a protocol-relative URL. */
export function localPath(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])[^\s]*$/.test(next) && next.length <= 500 ? next : '/';
}

/** A form POST came from this console's page: the browser says same-origin, or the Origin is this host. */
function sameOrigin(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = request.headers.origin;
  if (origin === undefined || origin === 'null') return site === 'same-origin' || origin === undefined;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/** The form token of a POST, checked against the session's (or, before sign-in, the login cookie's). */
export function checkForm(request: FastifyRequest, expected: string | undefined): void {
  const given = (request.body as Record<string, unknown> | undefined)?._csrf;
  if (!expected || typeof given !== 'string' || !sameText(given, expected) || !sameOrigin(request)) {
    throw new MailscopeError('FORBIDDEN', 'this form did not come from this console, or it has expired: reload the page and try again');
  }
}

export function consolePlugin(services: ApiServices) {
  const settings = services.config.instance.console;
  const cookieOptions = { httpOnly: true, sameSite: 'strict' as const, path: '/', secure: settings.secureCookie };

  return async (app: FastifyInstance) => {
    // Forms: application/x-www-form-urlencoded, here only (the API takes JSON).
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: maxFormBytes }, (_request, body, done) => {
      const fields: Record<string, string> = {};
      for (const [key, value] of new URLSearchParams(body as string)) if (!(key in fields)) fields[key] = value;
      done(null, fields);
    });

    app.addHook('onSend', async (request, reply, payload) => {
      for (const [name, value] of Object.entries(securityHeaders)) reply.header(name, value);
      // A page is text that compresses to a tenth: gzip it for a browser that takes it (assets are cached instead).
      if (typeof payload === 'string' && payload.length >= 1_024 && /^text\/html/.test(String(reply.getHeader('content-type') ?? ''))) {
        reply.header('vary', 'accept-encoding');
        if (/\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) {
          reply.header('content-encoding', 'gzip');
          reply.removeHeader('content-length');
          return gzipSync(payload, { level: 6 });
        }
      }
      return payload;
    });

    // An error on a page is a page: sign in again, not allowed, bad input, or nothing there.
    app.setErrorHandler(async (error, request, reply) => {
      const code = isMailscopeError(error) ? error.code : (error as { statusCode?: number }).statusCode === 413 ? 'BAD_REQUEST' : undefined;
      if (code === 'UNAUTHORIZED') {
        if (request.method === 'GET' && request.url !== '/console/events') return reply.redirect(`/login?next=${encodeURIComponent(localPath(request.url))}`, 303);
        return reply
          .code(401)
          .type('text/html; charset=utf-8')
          .send(renderStandalone('error', { title: 'Signed out', message: 'Your session ended: sign in again.', signIn: true }));
      }
      const status = code ? statusOf(code) : 500;
      if (status >= 500) request.log.error({ err: error }, 'console page failed');
      const message = status >= 500 ? 'Something went wrong on this page; the log says what.' : (error as Error).message;
      const title = status === 403 ? 'Not allowed' : status === 404 ? 'Not found' : status === 409 ? 'Already done' : status < 500 ? 'Not done' : 'Error';
      return reply
        .code(status)
        .type('text/html; charset=utf-8')
        .send(renderStandalone('error', { title, message, signIn: false }));
    });

    await app.register(fastifyStatic, { root: join(import.meta.dirname, 'assets'), prefix: `${consoleAssetsPrefix}/`, cacheControl: true, maxAge: 3_600_000 });
    await app.register(fastifyStatic, {
      root: join(import.meta.dirname, '..', '..', '..', 'node_modules', 'uplot', 'dist'),
      prefix: `${consoleAssetsPrefix}/vendor/uplot/`,
      decorateReply: false,
      allowedPath: (path) => path === '/uPlot.iife.min.js' || path === '/uPlot.min.css',
      maxAge: 3_600_000,
    });

    app.get('/login', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
      const next = localPath((request.query as Record<string, unknown>).next);
      const csrf = random();
      reply.header('set-cookie', stringifySetCookie({ name: loginCookie, value: csrf, ...cookieOptions, maxAge: 3_600 }));
      return reply.type('text/html; charset=utf-8').send(renderStandalone('login', { csrf, next, error: undefined }));
    });

    app.post('/login', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
      const form = (request.body ?? {}) as Record<string, string>;
      checkForm(request, parseCookie(request.headers.cookie ?? '')[loginCookie]);
      const token = typeof form.token === 'string' ? form.token.trim() : '';
      const principal = token ? app.principalOf(token) : undefined;
      const next = localPath(form.next);
      if (!principal || principal.role === 'ingest') {
        const csrf = random();
        reply.header('set-cookie', stringifySetCookie({ name: loginCookie, value: csrf, ...cookieOptions, maxAge: 3_600 }));
        return reply
          .code(401)
          .type('text/html; charset=utf-8')
          .send(renderStandalone('login', { csrf, next, error: principal ? 'An ingest token cannot sign in: use a viewer, operator or admin token.' : 'That token is not valid.' }));
      }
      const now = services.clock.now().getTime();
      const id = random();
      services.queries.sessions.prune(now);
      services.queries.sessions.create({ digest: digest(id), token: digest(token), name: principal.name, role: principal.role, csrf: random(), createdAt: now, expiresAt: now + settings.sessionTtl });
      request.log.info({ name: principal.name, role: principal.role }, 'console sign-in');
      reply.header('set-cookie', [
        stringifySetCookie({ name: sessionCookie, value: id, ...cookieOptions, maxAge: Math.floor(settings.sessionTtl / 1000) }),
        stringifySetCookie({ name: loginCookie, value: '', ...cookieOptions, maxAge: 0 }),
      ]);
      return reply.redirect(next, 303);
    });

    app.post('/logout', { config: { access: 'viewer', session: true }, schema: { hide: true } }, async (request, reply) => {
      checkForm(request, request.session?.csrf);
      services.queries.sessions.end(request.session!.digest);
      reply.header('set-cookie', stringifySetCookie({ name: sessionCookie, value: '', ...cookieOptions, maxAge: 0 }));
      return reply.redirect('/login', 303);
    });

    // Live: a line per change (a run recorded, an alert, a control, traffic, a report); the page reloads its main part.
    const streams = new Set<FastifyReply>();
    app.addHook('preClose', async () => {
      for (const reply of streams) reply.raw.end();
    });
    app.get('/console/events', { config: { access: 'viewer', session: true }, schema: { hide: true } }, (request, reply) => {
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', ...securityHeaders });
      raw.write('retry: 5000\n\n');
      streams.add(reply);
      const unsubscribe = services.changes?.subscribe((kind) => raw.write(`event: change\ndata: ${kind}\n\n`)) ?? (() => {});
      const heartbeat = setInterval(() => raw.write(': alive\n\n'), 25_000);
      heartbeat.unref();
      request.raw.on('close', () => {
        clearInterval(heartbeat);
        unsubscribe();
        streams.delete(reply);
      });
    });

    // The pages, each in its own file under pages/.
    for (const page of consolePages) page(app, services, { checkForm, render: renderPage });
  };
}

/** The session lookup the auth plugin asks: a session that has not expired (the auth plugin checks its token is still configured). */
export function consoleSessions(services: Pick<ApiServices, 'queries' | 'clock'>) {
  return (sessionDigest: string) => {
    const row = services.queries.sessions.get(sessionDigest, services.clock.now().getTime());
    if (!row) return undefined;
    return { principal: { name: row.name, role: row.role as 'viewer' | 'operator' | 'admin' }, csrf: row.csrf, digest: row.digest, token: row.token };
  };
}
