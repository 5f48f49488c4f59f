/**
 * Pages are Eta templates (views/), escaped by default: whatever a peer or a
 * person wrote (a bounce reply, a reason, a report's org name) is shown as text,
 * never as markup. A page is rendered inside the layout (navigation, who is
 * signed in, the sign-out form); its forms carry the session's form token.
 */
import { join } from 'node:path';
import { Eta } from 'eta';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { escapeControls } from '../../core/text.ts';

const eta = new Eta({ views: join(import.meta.dirname, 'views'), autoEscape: true, cache: true, useWith: false });

export const navigation = [
  { href: '/', label: 'Overview' },
  { href: '/alerts', label: 'Alerts' },
  { href: '/controls', label: 'Controls' },
  { href: '/probes', label: 'Probes' },
  { href: '/traffic', label: 'Traffic' },
  { href: '/reports', label: 'Reports' },
  { href: '/audit', label: 'Audit' },
] as const;

/** Helpers every template gets as `it.h`. */
export const helpers = {
  /** A time as people read it in the console: UTC, to the second. */
  time: (ms: number | string | undefined | null) => {
    if (ms === undefined || ms === null || ms === '') return '';
    const date = new Date(typeof ms === 'string' ? Date.parse(ms) : ms);
    return Number.isFinite(date.getTime())
      ? date
          .toISOString()
          .replace('T', ' ')
          .replace(/\.\d{3}Z$/, 'Z')
      : '';
  },
  /** How long ago, in the largest unit. */
  ago: (at: number | string | undefined, now: number) => {
    const ms = typeof at === 'string' ? Date.parse(at) : at;
    if (ms === undefined || !Number.isFinite(ms)) return '';
    const seconds = Math.max(0, Math.round((now - ms) / 1000));
    if (seconds < 90) return `${seconds}s ago`;
    if (seconds < 5_400) return `${Math.round(seconds / 60)}m ago`;
    if (seconds < 129_600) return `${Math.round(seconds / 3_600)}h ago`;
    return `${Math.round(seconds / 86_400)}d ago`;
  },
  percent: (value: number | undefined, digits = 1) => (value === undefined || !Number.isFinite(value) ? '' : `${(value * 100).toFixed(digits)}%`),
  /** Text a peer or a person wrote, without control characters (escaping is the template's). */
  text: (value: unknown) => escapeControls(String(value ?? '')),
  json: (value: unknown) => JSON.stringify(value),
  encode: encodeURIComponent,
};

export interface PageContext {
  title: string;
  /** The navigation entry this page belongs to. */
  section?: string;
}

/** A page inside the layout, for the signed-in person; `?partial=1` (the live reload) answers the main part alone. */
export function renderPage(request: FastifyRequest, reply: FastifyReply, view: string, data: Record<string, unknown> & PageContext): FastifyReply {
  const principal = request.principal!;
  const canAct = principal.role === 'operator' || principal.role === 'admin';
  const common = { ...data, h: helpers, now: Date.now(), principal, canAct, csrf: request.session?.csrf ?? '', navigation };
  const body = eta.render(`./${view}`, common);
  const partial = (request.query as Record<string, unknown> | undefined)?.partial === '1';
  reply.header('cache-control', 'no-store');
  return reply.type('text/html; charset=utf-8').send(partial ? body : eta.render('./layout', { ...common, body }));
}

/** A page without the layout (sign-in, errors). */
export function renderStandalone(view: string, data: Record<string, unknown>): string {
  return eta.render('./standalone', { ...data, h: helpers, body: eta.render(`./${view}`, { ...data, h: helpers }) });
}
