import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MailscopeError } from '../../core/errors.ts';
import { cursorParam, errorResponses, filterParam, limitParam, NextCursor, NumericIdParams, ObservationSchema, paged, RunSchema, timeParam } from '../schemas.ts';
import type { ApiServices } from '../services.ts';

const RunsQuery = z.strictObject({
  probe: filterParam.optional(),
  since: timeParam.optional(),
  until: timeParam.optional(),
  limit: limitParam,
  cursor: cursorParam.optional(),
});

export function runRoutes(services: ApiServices): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/v1/runs',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['runs'],
          summary: 'Probe runs, newest first',
          querystring: RunsQuery,
          response: { 200: z.object({ runs: z.array(RunSchema), next: NextCursor }), ...errorResponses(400, 401, 403) },
        },
      },
      async (request) => {
        const now = services.clock.now();
        const { probe, since, until, limit, cursor } = request.query;
        const { items, next } = paged(services.queries.runs.list({ probe, since: since?.(now), until: until?.(now), limit: limit + 1, after: cursor }), limit, (run) => ({
          time: Date.parse(run.startedAt),
          id: run.id,
        }));
        return { runs: items, ...(next ? { next } : {}) };
      },
    );

    app.get(
      '/v1/runs/:id',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['runs'],
          summary: 'One run with its observations',
          params: NumericIdParams,
          response: {
            200: z.object({ run: RunSchema, observations: z.array(ObservationSchema) }),
            ...errorResponses(400, 401, 403, 404),
          },
        },
      },
      async (request) => {
        const run = services.queries.runs.get(request.params.id);
        if (!run) throw new MailscopeError('NOT_FOUND', `no run ${request.params.id}`);
        return { run, observations: services.queries.runs.observationsOf(run.id) };
      },
    );
  };
}
