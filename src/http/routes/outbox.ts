import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiServices } from '../services.ts';
import { cursorParam, errorResponses, limitParam, NextCursor, paged } from '../schemas.ts';

const OutboxStatus = z.object({
  configured: z.boolean().describe('false: no `influx:` section, so nothing drains the outbox'),
  target: z.string().optional().describe('where points go (no credentials)'),
  depth: z.int().describe('points waiting'),
  oldestAgeMs: z.number().describe('age of the oldest waiting point; 0 when none waits'),
  quarantined: z.int().describe('lines the server refused as malformed (GET /v1/outbox/quarantine)'),
  delivered: z.int().optional().describe('points acknowledged since start'),
  consecutiveFailures: z.int().optional(),
  lastFlushAt: z.string().optional(),
  lastError: z.object({ at: z.string(), message: z.string(), status: z.int().optional() }).optional(),
  retryAt: z.string().optional().describe('next attempt, while backing off'),
});

const Quarantined = z.object({ id: z.int(), line: z.string(), createdAt: z.string(), quarantinedAt: z.string(), reason: z.string() });

function prometheusText(metrics: { name: string; type: 'gauge' | 'counter'; help: string; value: number; labels?: Record<string, string> }[]): string {
  const escapeLabel = (value: string) => value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
  return `${metrics
    .map(({ name, type, help, value, labels }) => {
      const labelText = labels
        ? `{${Object.entries(labels)
            .map(([key, label]) => `${key}="${escapeLabel(label)}"`)
            .join(',')}}`
        : '';
      return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name}${labelText} ${value}`;
    })
    .join('\n')}\n`;
}

/** The outbox towards the time-series database: depth, age, quarantine; and the same as Prometheus metrics. */
export function outboxRoutes(services: ApiServices): FastifyPluginAsyncZod {
  const status = () => (services.outbox ? { configured: true, ...services.outbox.status() } : { configured: false, ...services.queries.outbox.stats(services.clock.now()) });
  return async (app) => {
    app.get(
      '/v1/outbox',
      {
        config: { access: 'viewer' },
        schema: { tags: ['outbox'], summary: 'Points waiting for the time-series database, and the last write error', response: { 200: OutboxStatus, ...errorResponses(401, 403) } },
      },
      async () => status(),
    );

    app.get(
      '/v1/outbox/quarantine',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['outbox'],
          summary: 'Lines the server refused as malformed, newest first, with its reason',
          querystring: z.strictObject({ limit: limitParam, cursor: cursorParam.optional() }),
          response: { 200: z.object({ lines: z.array(Quarantined), next: NextCursor }), ...errorResponses(400, 401, 403) },
        },
      },
      async (request) => {
        const { limit, cursor } = request.query;
        const { items, next } = paged(services.queries.outbox.quarantine(limit + 1, cursor === undefined ? undefined : Number(cursor.id)), limit, (line) => ({ time: line.id, id: line.id }));
        return {
          lines: items.map((line) => ({ ...line, createdAt: new Date(line.createdAt).toISOString(), quarantinedAt: new Date(line.quarantinedAt).toISOString() })),
          ...(next ? { next } : {}),
        };
      },
    );

    app.get(
      '/metrics',
      {
        config: { access: 'viewer' },
        schema: { tags: ['outbox'], summary: 'Prometheus text format: the outbox gauges and counters; in a cluster, whether this instance leads', response: { 200: z.string() } },
      },
      async (_request, reply) => {
        const current = status();
        const cluster = services.cluster?.status();
        const body = prometheusText([
          { name: 'mailscope_outbox_depth', type: 'gauge', help: 'Points waiting in the outbox for the time-series database.', value: current.depth },
          { name: 'mailscope_outbox_oldest_age_seconds', type: 'gauge', help: 'Age of the oldest point waiting in the outbox.', value: current.oldestAgeMs / 1000 },
          { name: 'mailscope_outbox_quarantined', type: 'gauge', help: 'Lines the time-series database refused as malformed.', value: current.quarantined },
          {
            name: 'mailscope_outbox_delivered_total',
            type: 'counter',
            help: 'Points the time-series database acknowledged since start.',
            value: 'delivered' in current ? (current.delivered ?? 0) : 0,
          },
          {
            name: 'mailscope_outbox_consecutive_failures',
            type: 'gauge',
            help: 'Failed writes in a row (0 when the last write succeeded).',
            value: 'consecutiveFailures' in current ? (current.consecutiveFailures ?? 0) : 0,
          },
          { name: 'mailscope_outbox_configured', type: 'gauge', help: '1 when a time-series database is configured.', value: current.configured ? 1 : 0 },
          // In a cluster: whether this instance leads now (alert when no instance of the cluster does), and the lease's epoch.
          ...(cluster
            ? [
                { name: 'mailscope_cluster_leader', type: 'gauge' as const, help: '1 while this instance holds the leader lease and does the work done once.', value: cluster.leader ? 1 : 0 },
                {
                  name: 'mailscope_cluster_lease_epoch',
                  type: 'gauge' as const,
                  help: 'The epoch (fencing token) of the leader lease this instance holds; 0 when it holds none.',
                  value: cluster.leases[0]?.epoch ?? 0,
                },
              ]
            : []),
        ]);
        return reply.type('text/plain; version=0.0.4; charset=utf-8').send(body);
      },
    );
  };
}
