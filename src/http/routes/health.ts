import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiServices } from '../services.ts';

const Readiness = z.object({
  ready: z.boolean(),
  store: z.enum(['open', 'unavailable']),
  scheduler: z.enum(['running', 'stopped', 'disabled']),
  cluster: z
    .object({
      instance: z.string().describe('this instance (host:pid:random)'),
      leader: z.boolean().describe('whether it does the work done once (runs, notifications, pushes, flushes) now'),
      leases: z.array(z.object({ name: z.string(), epoch: z.int(), expiresAt: z.string() })).describe('the leases it holds, with their epoch (the fencing token)'),
    })
    .optional()
    .describe('with the store on PostgreSQL'),
});

/** Liveness and readiness for load balancers and supervisors: public, no data. */
export function healthRoutes(services: ApiServices): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/healthz',
      {
        config: { access: 'public' },
        schema: { tags: ['health'], summary: 'The process is alive', response: { 200: z.object({ status: z.literal('ok') }) } },
      },
      async () => ({ status: 'ok' as const }),
    );

    app.get(
      '/readyz',
      {
        config: { access: 'public' },
        schema: {
          tags: ['health'],
          summary: 'The store is open and the scheduler is running (in a cluster: which leases this instance holds)',
          response: { 200: Readiness, 503: Readiness },
        },
      },
      async (_request, reply) => {
        const store = services.queries.ping() ? 'open' : 'unavailable';
        const scheduler = services.scheduler ? (services.scheduler.running ? 'running' : 'stopped') : 'disabled';
        const ready = store === 'open' && scheduler === 'running';
        const cluster = services.cluster?.status();
        return reply.code(ready ? 200 : 503).send({ ready, store, scheduler, ...(cluster ? { cluster } : {}) });
      },
    );
  };
}
