import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiServices } from '../../services.ts';
import type { PageContext } from '../render.ts';

export interface ConsoleTools {
  /** Refuse a POST whose form token is not the session's (or that did not come from this console). */
  checkForm(request: FastifyRequest, expected: string | undefined): void;
  /** A page inside the layout (or its main part alone, for the live reload). */
  render(request: FastifyRequest, reply: FastifyReply, view: string, data: Record<string, unknown> & PageContext): FastifyReply;
}

/** One page (and its drill-downs and forms): registers its routes. */
export type ConsolePage = (app: FastifyInstance, services: ApiServices, tools: ConsoleTools) => void;

/** What a page route declares: the console's session, and the lowest role. */
export const viewerPage = { access: 'viewer', session: true } as const;
export const operatorForm = { access: 'operator', session: true } as const;
