import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses, iso } from '../schemas.ts';
import type { ApiServices } from '../services.ts';

const SourceStatus = z
  .object({
    id: z.string(),
    kind: z.string(),
    state: z.enum(['ok', 'error', 'unknown']).describe('unknown: nothing reported yet (nobody posted to it, or its first pass is not over)'),
    lastOkAt: z.string().optional(),
    lastError: z.object({ code: z.string(), reason: z.string(), at: z.string() }).optional(),
    failures: z.int().describe('errors in a row since the last success'),
  })
  .meta({ id: 'SourceStatus' });

/** How each source is doing: a report mailbox that cannot be read, a missing mail log, a refused batch. */
export function sourceRoutes(services: ApiServices): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/v1/sources',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['traffic'],
          summary: 'Every source with how it is doing in this process: ok, an error with its code and reason, or unknown (nothing reported yet)',
          response: { 200: z.object({ sources: z.array(SourceStatus) }), ...errorResponses(401, 403) },
        },
      },
      async () => {
        const states =
          services.sourceHealth?.list() ??
          services.config.instance.sources.map((source) => ({ id: source.id, kind: source.kind, failures: 0, ok: undefined, lastOkAt: undefined, lastError: undefined }));
        return {
          sources: states.map((state) => ({
            id: state.id,
            kind: state.kind,
            state: state.ok === undefined ? ('unknown' as const) : state.ok ? ('ok' as const) : ('error' as const),
            ...(state.lastOkAt !== undefined ? { lastOkAt: iso(state.lastOkAt) } : {}),
            ...(state.lastError ? { lastError: { code: state.lastError.code, reason: state.lastError.reason, at: iso(state.lastError.at) } } : {}),
            failures: state.failures,
          })),
        };
      },
    );
  };
}
