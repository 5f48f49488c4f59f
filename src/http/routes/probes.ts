import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { LoadedProbe } from '../../config/load.ts';
import { MailscopeError } from '../../core/errors.ts';
import { probeKindNames } from '../../probes/index.ts';
import { errorResponses, IdParams, ObservationSchema, RunSchema } from '../schemas.ts';
import type { ApiServices } from '../services.ts';

const ProbeSummary = z
  .object({
    id: z.string(),
    kind: z.enum(probeKindNames),
    description: z.string().nullable(),
    schedule: z.string(),
    timezone: z.string().nullable(),
    enabled: z.boolean(),
    timeoutMs: z.number().int(),
    jitterMs: z.number().int(),
    file: z.string(),
    running: z.boolean(),
    nextRun: z.iso.datetime().nullable(),
    lastRun: RunSchema.nullable(),
    definition: z.record(z.string(), z.unknown()).meta({ description: 'the definition as loaded, defaults applied, secrets shown as "[redacted]"' }),
  })
  .meta({ id: 'Probe' });

const RunDetail = z.object({ run: RunSchema, observations: z.array(ObservationSchema) }).meta({ id: 'RunDetail' });

const booleanParam = z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1');

export function probeRoutes(services: ApiServices): FastifyPluginAsyncZod {
  const byId = new Map(services.probes.map((probe) => [probe.definition.id, probe]));

  const find = (id: string): LoadedProbe => {
    const probe = byId.get(id);
    if (!probe) throw new MailscopeError('PROBE_NOT_FOUND', `no probe "${id}"`);
    return probe;
  };

  const summary = ({ definition, file }: LoadedProbe): z.input<typeof ProbeSummary> => ({
    id: definition.id,
    kind: definition.kind,
    description: definition.description ?? null,
    schedule: definition.schedule,
    timezone: definition.timezone ?? null,
    enabled: definition.enabled,
    timeoutMs: definition.timeout,
    jitterMs: definition.jitter,
    file,
    running: services.runner.isRunning(definition.id),
    nextRun: services.scheduler?.nextRun(definition.id)?.toISOString() ?? null,
    lastRun: services.queries.runs.lastOf(definition.id) ?? null,
    // Secrets turn into "[redacted]" on the way through JSON (core/secret.ts).
    definition: JSON.parse(JSON.stringify(definition)) as Record<string, unknown>,
  });

  return async (app) => {
    app.get(
      '/v1/probes',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['probes'],
          summary: 'Every probe definition, with its last run and next scheduled run',
          response: { 200: z.object({ probes: z.array(ProbeSummary) }), ...errorResponses(401, 403) },
        },
      },
      async () => ({ probes: services.probes.map(summary) }),
    );

    app.get(
      '/v1/probes/:id',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['probes'],
          summary: 'One probe definition',
          params: IdParams,
          response: { 200: ProbeSummary, ...errorResponses(401, 403, 404) },
        },
      },
      async (request) => summary(find(request.params.id)),
    );

    app.post(
      '/v1/probes/:id/run',
      {
        config: { access: 'operator' },
        schema: {
          tags: ['probes'],
          summary: 'Run a probe now',
          description:
            'Runs the probe once and records the result like a scheduled run. By default waits for the result (200); with wait=false answers 202 at once. 409 when the probe is already running.',
          params: IdParams,
          querystring: z.strictObject({ wait: booleanParam.default(true) }),
          response: {
            200: RunDetail,
            202: z.object({ status: z.literal('started'), probe: z.string() }),
            ...errorResponses(400, 401, 403, 404, 409, 503),
          },
        },
      },
      async (request, reply) => {
        const { definition } = find(request.params.id);
        const running = services.runner.run(definition, 'api');
        if (!request.query.wait) {
          // A run that cannot start (busy, shutting down) rejects at once: answer that; otherwise let it run on.
          await Promise.race([running, new Promise((resolve) => setImmediate(resolve))]);
          running.catch((error: unknown) => request.log.error({ err: error }, 'api run failed'));
          return reply.code(202).send({ status: 'started' as const, probe: definition.id });
        }
        const completed = await running;
        const run = services.queries.runs.get(completed.runId);
        if (!run) throw new MailscopeError('INTERNAL', 'the run was recorded but cannot be read back');
        return { run, observations: services.queries.runs.observationsOf(completed.runId) };
      },
    );
  };
}
