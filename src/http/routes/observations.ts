import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { measurements, tagNames, type MeasurementName } from '../../measurements/index.ts';
import { cursorParam, errorResponses, filterParam, limitParam, NextCursor, ObservationSchema, paged, timeParam } from '../schemas.ts';
import type { ApiServices } from '../services.ts';

const measurementNames = Object.keys(measurements) as [MeasurementName, ...MeasurementName[]];

const ObservationsQuery = z.strictObject({
  measurement: z.enum(measurementNames).optional(),
  probe: filterParam.optional(),
  since: timeParam.optional(),
  until: timeParam.optional(),
  limit: limitParam,
  cursor: cursorParam.optional(),
});

const SeriesSchema = z
  .object({
    measurements: z.array(
      z.object({
        name: z.string(),
        description: z.string(),
        tags: z.array(z.string()),
        fields: z.array(z.object({ name: z.string(), type: z.string(), unit: z.string().nullable(), description: z.string() })),
      }),
    ),
  })
  .meta({ id: 'Series' });

export function observationRoutes(services: ApiServices): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/v1/observations',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['observations'],
          summary: 'Observations, newest first',
          querystring: ObservationsQuery,
          response: { 200: z.object({ observations: z.array(ObservationSchema), next: NextCursor }), ...errorResponses(400, 401, 403) },
        },
      },
      async (request) => {
        const now = services.clock.now();
        const { measurement, probe, since, until, limit, cursor } = request.query;
        const found = services.queries.observations.list({ measurement, probe, since: since?.(now), until: until?.(now), limit: limit + 1, after: cursor });
        const { items, next } = paged(found, limit, (observation) => ({ time: Date.parse(observation.time), id: observation.id }));
        return { observations: items, ...(next ? { next } : {}) };
      },
    );

    app.get(
      '/v1/series',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['observations'],
          summary: 'Every measurement Mailscope writes: its tags and typed fields (the series registry)',
          response: { 200: SeriesSchema, ...errorResponses(401, 403) },
        },
      },
      async () => ({
        measurements: Object.entries(measurements).map(([name, spec]) => ({
          name,
          description: spec.description,
          tags: tagNames(spec),
          fields: Object.entries(spec.fields).map(([field, fieldSpec]) => ({
            name: field,
            type: fieldSpec.type,
            unit: 'unit' in fieldSpec ? fieldSpec.unit : null,
            description: fieldSpec.description,
          })),
        })),
      }),
    );
  };
}
