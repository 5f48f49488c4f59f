import { createHash } from 'node:crypto';
import { parseCookie } from 'cookie';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { roles, type ApiTokenConfig, type Role } from '../../config/schema.ts';
import { MailscopeError } from '../../core/errors.ts';

/** Who a request acts as: the token's name and role. */
export interface Principal {
  name: string;
  role: Role;
}

/** What a route requires: 'public', or the lowest role allowed. */
export type Access = 'public' | Role;

export interface RouteAccess {
  method: string;
  url: string;
  access: Access;
  /** A console page or form (signed in by session), or the console's sign-in and assets: not part of the API. */
  console: boolean;
}

/** A signed-in console session: who, and the form token its forms carry. */
export interface ConsoleSession {
  principal: Principal;
  csrf: string;
  /** Digest of the session id (what the store keys it by). */
  digest: string;
  /** Digest of the token signed in with: a token no longer configured ends its sessions. */
  token: string;
}

/** The console's session cookie: an opaque random id, HttpOnly, SameSite=Strict. */
export const sessionCookie = 'mailscope_session';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    /** A console page or form: signed in by the session cookie, never by a bearer token. */
    session?: boolean;
  }
  interface FastifyInstance {
    /** Every route with the access it requires, in registration order. */
    routeAccess: RouteAccess[];
    /** Who a token is (its name and role), or undefined. */
    principalOf(token: string): Principal | undefined;
  }
  interface FastifyRequest {
    principal: Principal | null;
    session: ConsoleSession | null;
  }
}

const rank: Record<Role, number> = Object.fromEntries(roles.map((role, index) => [role, index])) as Record<Role, number>;

export const digest = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * Bearer tokens, each with a role: viewer < operator < admin. Every route
 * declares its access (`config: { access }`); a route that does not is refused
 * at start-up, so nothing is public by omission. Tokens are kept only as SHA-256
 * digests here, so the lookup neither compares secrets byte by byte nor keeps
 * them in this map.
 */
export function registerAuth(
  app: FastifyInstance,
  tokens: readonly ApiTokenConfig[],
  options: { publicPrefixes: string[]; consolePrefixes: string[]; session?: (digest: string) => ConsoleSession | undefined },
): void {
  const byDigest = new Map<string, Principal>(tokens.map((token) => [digest(token.token.reveal()), { name: token.name, role: token.role }]));
  // The console's sign-in asks who a token is, by the same digests.
  app.decorate('principalOf', (token: string) => byDigest.get(digest(token)));

  const table: RouteAccess[] = [];
  app.decorate('routeAccess', table);
  app.decorateRequest('principal', null);
  app.decorateRequest('session', null);

  app.addHook('onRoute', (route) => {
    if (!route.config?.access) {
      if (!options.publicPrefixes.some((prefix) => route.url.startsWith(prefix))) {
        throw new Error(`route ${String(route.method)} ${route.url} declares no access (config.access)`);
      }
      route.config = { ...route.config, access: 'public' };
    }
    const isConsole = Boolean(route.config.session) || route.url === '/login' || options.consolePrefixes.some((prefix) => route.url.startsWith(prefix));
    for (const method of [route.method].flat()) table.push({ method, url: route.url, access: route.config.access!, console: isConsole });
  });

  app.addHook('onRequest', async (request: FastifyRequest) => {
    const access = request.routeOptions.config.access;
    // Unknown URLs have no route config: the not-found handler answers without revealing anything.
    if (access === undefined || access === 'public') return;
    if (request.routeOptions.config.session) {
      // A console page: the session cookie, never a bearer token (a page is opened by a browser).
      const id = parseCookie(request.headers.cookie ?? '')[sessionCookie];
      const session = id ? options.session?.(digest(id)) : undefined;
      if (!session || !byDigest.has(session.token)) throw new MailscopeError('UNAUTHORIZED', 'not signed in (or the session ended)');
      if (rank[session.principal.role] < rank[access]) {
        throw new MailscopeError('FORBIDDEN', `requires the ${access} role; "${session.principal.name}" has ${session.principal.role}`);
      }
      request.principal = session.principal;
      request.session = session;
      return;
    }
    const header = request.headers.authorization;
    if (!header) throw new MailscopeError('UNAUTHORIZED', 'missing bearer token (Authorization: Bearer <token>)');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new MailscopeError('UNAUTHORIZED', 'malformed Authorization header: expected "Bearer <token>"');
    const principal = byDigest.get(digest(match[1]!));
    if (!principal) throw new MailscopeError('UNAUTHORIZED', 'invalid token');
    if (rank[principal.role] < rank[access]) {
      throw new MailscopeError('FORBIDDEN', `requires the ${access} role; token "${principal.name}" has ${principal.role}`);
    }
    request.principal = principal;
  });
}
