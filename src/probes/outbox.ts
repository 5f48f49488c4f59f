import { z } from 'zod';
import type { Observation } from '../core/observation.ts';
import { defineProbe, ProbeBase } from './define.ts';

const configSchema = ProbeBase.extend({
  kind: z.literal('outbox'),
}).strict();

/**
 * Mailscope watching itself: how many points wait for the time-series database,
 * how old the oldest is, how many were refused. Recorded like any observation, so
 * alert rules can fire on a stuck outbox (the points reach the database late, but
 * the rules read the store).
 */
export const outbox = defineProbe({
  kind: 'outbox',
  description: "Mailscope's own outbox toward the time-series database: depth, oldest point's age, quarantined lines, failed writes",
  configSchema,
  measurements: {
    outbox: {
      description: "Mailscope's own outbox toward the time-series database (probe kind outbox): points waiting, the oldest one's age, refused lines, failed writes.",
      tags: {},
      fields: {
        configured: { type: 'boolean', description: 'an influx: section is configured, so something drains the outbox' },
        depth: { type: 'integer', description: 'points waiting' },
        oldest_age_s: { type: 'float', unit: 's', description: 'age of the oldest waiting point; 0 when none waits' },
        quarantined: { type: 'integer', description: 'lines the server refused as malformed (GET /v1/outbox/quarantine)' },
        consecutive_failures: { type: 'integer', description: 'failed writes in a row; 0 when the last write succeeded' },
        last_error: { type: 'string', description: 'the last write error, while writes are failing (no credentials)' },
      },
    },
  },
  async run(_config, ctx): Promise<Observation[]> {
    const snapshot = ctx.outbox();
    return [
      {
        measurement: 'outbox',
        tags: {},
        fields: {
          configured: snapshot.configured,
          depth: snapshot.depth,
          oldest_age_s: snapshot.oldestAgeMs / 1000,
          quarantined: snapshot.quarantined,
          consecutive_failures: snapshot.consecutiveFailures,
          ...(snapshot.lastError === undefined ? {} : { last_error: snapshot.lastError }),
        },
        time: ctx.clock.now(),
      },
    ];
  },
});
