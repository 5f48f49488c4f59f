import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MailscopeError } from '../../core/errors.ts';
import { jsonInPieces, type ParserDone } from '../json-pieces.ts';
import { trafficOutcomes, type TrafficOutcome } from '../../core/traffic.ts';
import { trafficGroupings, type TrafficTotals } from '../../queries/index.ts';
import { SourceInputError } from '../../sources/define.ts';
import { findSource } from '../../sources/index.ts';
import { errorResponses, filterParam, iso, timeParam, timeWindow } from '../schemas.ts';
import type { ApiServices } from '../services.ts';

const Counts = z.object(Object.fromEntries(trafficOutcomes.map((outcome) => [outcome, z.int()])) as Record<TrafficOutcome, z.ZodInt>);

const TrafficRow = z
  .object({
    key: z.string().describe("the group's value: a provider, a sending IP or a pool ('' where the source did not say)"),
    counts: Counts,
    attempts: z.int().describe('delivered + deferred + bounced + expired'),
    deliveryRate: z.number().optional(),
    deferralRate: z.number().optional(),
    bounceRate: z.number().optional(),
    complaintRate: z.number().optional(),
    classes: z.record(z.string(), z.int()).describe('bounce class → attempts'),
    latencyAvgMs: z.number().optional(),
    latencyMaxMs: z.number().optional(),
  })
  .meta({ id: 'TrafficRow' });

const Reason = z.object({ provider: z.string(), class: z.string(), reason: z.string(), count: z.int(), lastSeen: z.string(), example: z.string() }).meta({ id: 'TrafficReason' });

const round = (value: number) => Math.round(value * 1e4) / 1e4;

function present(totals: TrafficTotals): z.output<typeof TrafficRow> {
  const { counts } = totals;
  const attempts = counts.delivered + counts.deferred + counts.bounced + counts.expired;
  return {
    key: totals.key,
    counts,
    attempts,
    ...(attempts > 0 ? { deliveryRate: round(counts.delivered / attempts), deferralRate: round(counts.deferred / attempts), bounceRate: round((counts.bounced + counts.expired) / attempts) } : {}),
    ...(counts.delivered > 0 ? { complaintRate: round(counts.complained / counts.delivered) } : {}),
    classes: totals.classes,
    ...(totals.latencyCount > 0 ? { latencyAvgMs: round(totals.latencySum / totals.latencyCount) } : {}),
    ...(totals.latencyMax !== undefined ? { latencyMaxMs: totals.latencyMax } : {}),
  };
}

/** The platform's traffic: what the sources post (ingest), and the aggregates read back. */
export function trafficRoutes(services: ApiServices): FastifyPluginAsyncZod {
  const traffic = () => {
    if (!services.traffic) throw new MailscopeError('NOT_FOUND', 'traffic is not counted in this process');
    return services.traffic;
  };

  return async (app) => {
    // A newline-delimited JSON body is read as text; the source's parser splits it.
    app.addContentTypeParser(['application/x-ndjson', 'application/jsonl'], { parseAs: 'string' }, (_request, body, done) => done(null, body));
    // A batch of records is a large JSON array: read in pieces (http/json-pieces.ts), with the default parser's answers and checks.
    const defaultJson = app.getDefaultJsonParser(app.initialConfig.onProtoPoisoning ?? 'error', app.initialConfig.onConstructorPoisoning ?? 'error');
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, jsonInPieces(defaultJson as (request: FastifyRequest, body: string, done: ParserDone) => void));

    const configured = services.config.instance.sources;
    for (const source of configured) {
      const kind = findSource(source.kind);
      if (!kind?.http) continue;
      const http = kind.http;
      const sameKind = configured.filter((other) => other.kind === source.kind).length;
      // One source of a kind answers at /v1/ingest/<kind>; with several, each at /v1/ingest/<kind>/<id>.
      const paths = sameKind === 1 ? [`/v1/ingest/${source.kind}`, `/v1/ingest/${source.kind}/${source.id}`] : [`/v1/ingest/${source.kind}/${source.id}`];
      for (const path of paths) {
        app.post(
          path,
          {
            config: { access: 'ingest' },
            bodyLimit: http.maxBodyBytes,
            // Asked per batch by the platform: a line per request would cost more than the events.
            logLevel: 'warn',
            schema: {
              tags: ['traffic'],
              summary: `Traffic events from the ${source.kind} source "${source.id}": ${kind.description}. Answered 200 only once they are committed; a record that cannot be read is a 400 naming it, and nothing of the body is kept`,
              response: { 200: z.object({ accepted: z.int() }), ...errorResponses(400, 401, 403, 413, 415) },
            },
          },
          async (request) => {
            try {
              const events = http.parse(request.body, source as never);
              const { counted } = await traffic().ingest(events);
              services.sourceHealth?.report(source.id, { ok: true }, services.clock.now().getTime());
              return { accepted: counted };
            } catch (error) {
              if (error instanceof SourceInputError) throw new MailscopeError('BAD_REQUEST', `${source.kind} source "${source.id}": ${error.message}`);
              throw error;
            }
          },
        );
      }
    }

    app.get(
      '/v1/traffic',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['traffic'],
          summary: "The platform's traffic over a window: counts, rates and bounce classes per provider, sending IP or pool, and what the receivers said most",
          querystring: z.strictObject({
            provider: filterParam.optional(),
            ip: filterParam.optional(),
            pool: filterParam.optional(),
            since: timeParam.optional().describe('start of the window (default: an hour ago)'),
            until: timeParam.optional().describe('end of the window (default: now)'),
            by: z.enum(trafficGroupings).default('provider').describe('what the rows are: one per provider, sending IP or pool'),
            reasons: z.enum(['0', '5', '10', '20', '50']).default('10').describe('how many of the most frequent replies to list'),
          }),
          response: {
            200: z.object({ since: z.string(), until: z.string(), by: z.enum(trafficGroupings), rows: z.array(TrafficRow), reasons: z.array(Reason) }),
            ...errorResponses(400, 401, 403),
          },
        },
      },
      async (request) => {
        const now = services.clock.now();
        const { provider, ip, pool, since, until, by, reasons } = request.query;
        const window = { ...timeWindow({ since, until }, now, 3_600_000), provider, ip, pool };
        const rows = services.queries.traffic.totals(window, by).map(present);
        const top = Number(reasons) > 0 ? services.queries.traffic.reasons(window, Number(reasons)) : [];
        return { since: iso(window.since), until: iso(window.until - 1), by, rows, reasons: top.map((reason) => ({ ...reason, lastSeen: iso(reason.lastSeen) })) };
      },
    );
  };
}
