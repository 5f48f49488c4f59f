import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { silenced, silenceLabels } from '../../alerts/engine.ts';
import { alertStates, type InstanceState } from '../../alerts/state.ts';
import { deliveryStatuses, notifiedStates, severities, type Severity } from '../../core/alert-vocabulary.ts';
import { MailscopeError } from '../../core/errors.ts';
import { futureTime } from '../../core/schema.ts';
import { cursorParam, errorResponses, filterParam, IdParams, iso, limitParam, NextCursor, paged } from '../schemas.ts';
import { reasonText } from '../../controls/input.ts';
import { plainTextProblem } from '../../core/text.ts';
import type { AlertRow, NotificationRow, SilenceRow } from '../../queries/index.ts';
import type { ApiServices } from '../services.ts';

const fieldValue = z.union([z.number(), z.boolean(), z.string()]);

const AlertSchema = z
  .object({
    id: z.string(),
    rule: z.string(),
    state: z.enum(alertStates),
    severity: z.enum(severities),
    summary: z.string().optional().describe('the rule’s description'),
    labels: z.record(z.string(), z.string()).describe('the series’ tags'),
    value: fieldValue.optional().describe('the value last observed'),
    details: z.record(z.string(), z.string()).describe('what the observation said: delisting URL, DNS fix, reason, error'),
    since: z.string().optional().describe('when the condition began to hold'),
    firedAt: z.string().optional(),
    resolvedAt: z.string().optional(),
    flapping: z.boolean(),
    notified: z.enum(notifiedStates).optional().describe('what people were last told'),
    lastNotifiedAt: z.string().optional(),
    acknowledged: z.object({ by: z.string(), at: z.string(), comment: z.string().optional() }).optional(),
    silenced: z.boolean().describe('an active silence matches it'),
    updatedAt: z.string(),
  })
  .meta({ id: 'Alert' });

const NotificationSchema = z
  .object({
    id: z.int(),
    alert: z.string(),
    channel: z.string(),
    event: z.string(),
    status: z.enum(deliveryStatuses),
    attempts: z.int(),
    nextAttemptAt: z.string().optional().describe('while pending'),
    lastError: z.string().optional(),
    createdAt: z.string(),
    sentAt: z.string().optional(),
  })
  .meta({ id: 'Notification' });

const matcherName = z.string().regex(/^[a-z_][a-z0-9_]*$/, { message: 'expected a label name (rule, severity, or a tag such as target, provider)' });

const SilenceSchema = z
  .object({
    id: z.string(),
    matchers: z.record(z.string(), z.string()),
    startsAt: z.string(),
    endsAt: z.string(),
    comment: z.string(),
    createdBy: z.string(),
    createdAt: z.string(),
    active: z.boolean(),
    deletedBy: z.string().optional(),
    deletedAt: z.string().optional(),
  })
  .meta({ id: 'Silence' });

const matcherValue = z
  .string()
  .max(253, { error: 'at most 253 characters' })
  .superRefine((text, ctx) => {
    const problem = text === '' ? 'must not be empty' : plainTextProblem(text);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const SilenceBody = z.strictObject({
  matchers: z
    .record(matcherName.max(63, { error: 'at most 63 characters' }), matcherValue)
    .refine((matchers) => Object.keys(matchers).length > 0, { message: 'expected at least one matcher: a silence that matches everything hides every alert' })
    .refine((matchers) => Object.keys(matchers).length <= 20, { message: 'at most 20 matchers' })
    .describe('label → value, all must match: rule, severity, or any tag (target, list, provider, domain, probe, ...)'),
  until: z.string().max(64, { error: 'at most 64 characters' }).describe('when it ends: ISO 8601 time, or a duration from now (2h, 1d), at most a year ahead'),
  comment: reasonText.describe('why: shown to everyone who looks'),
});

export function alertRoutes(services: ApiServices): FastifyPluginAsyncZod {
  const activeSilences = () => services.queries.silences.list({ activeAt: services.clock.now().getTime() });

  const present = (alert: AlertRow, silences: readonly SilenceRow[]): z.output<typeof AlertSchema> => {
    const machine = alert.machine as unknown as InstanceState;
    const rule = services.alerts?.rule(alert.ruleId);
    return {
      id: alert.id,
      rule: alert.ruleId,
      state: alert.state as InstanceState['state'],
      severity: alert.severity as Severity,
      ...(rule?.description ? { summary: rule.description } : {}),
      labels: alert.labels,
      ...(alert.lastValue !== undefined ? { value: alert.lastValue } : {}),
      details: alert.details,
      ...(machine.pendingSince !== undefined ? { since: iso(machine.pendingSince) } : {}),
      ...(machine.firedAt !== undefined ? { firedAt: iso(machine.firedAt) } : {}),
      ...(machine.resolvedAt !== undefined ? { resolvedAt: iso(machine.resolvedAt) } : {}),
      flapping: machine.flapping,
      ...(machine.notified ? { notified: machine.notified } : {}),
      ...(machine.lastNotifiedAt !== undefined ? { lastNotifiedAt: iso(machine.lastNotifiedAt) } : {}),
      ...(machine.ackedBy ? { acknowledged: { by: machine.ackedBy, at: iso(machine.ackedAt)!, ...(machine.ackComment ? { comment: machine.ackComment } : {}) } } : {}),
      silenced: silenced(silences, silenceLabels(alert, rule)),
      updatedAt: iso(alert.updatedAt)!,
    };
  };

  const presentNotification = (row: NotificationRow): z.output<typeof NotificationSchema> => ({
    id: row.id,
    alert: row.alertId,
    channel: row.channel,
    event: row.event,
    status: row.status,
    attempts: row.attempts,
    ...(row.status === 'pending' ? { nextAttemptAt: iso(row.nextAttemptAt) } : {}),
    ...(row.lastError ? { lastError: row.lastError } : {}),
    createdAt: iso(row.createdAt)!,
    ...(row.sentAt !== undefined ? { sentAt: iso(row.sentAt) } : {}),
  });

  const presentSilence = (silence: SilenceRow): z.output<typeof SilenceSchema> => {
    const now = services.clock.now().getTime();
    return {
      id: silence.id,
      matchers: silence.matchers,
      startsAt: iso(silence.startsAt)!,
      endsAt: iso(silence.endsAt)!,
      comment: silence.comment,
      createdBy: silence.createdBy,
      createdAt: iso(silence.createdAt)!,
      active: silence.deletedAt === undefined && silence.startsAt <= now && silence.endsAt > now,
      ...(silence.deletedAt !== undefined ? { deletedAt: iso(silence.deletedAt), deletedBy: silence.deletedBy } : {}),
    };
  };

  return async (app) => {
    app.get(
      '/v1/alerts',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['alerts'],
          summary: 'Alert instances (a rule and one series), most recently changed first',
          querystring: z.strictObject({
            state: z
              .string()
              .max(100)
              .transform((text, ctx) => {
                const states = text.split(',').map((state) => state.trim());
                const unknown = states.filter((state) => !(alertStates as readonly string[]).includes(state));
                if (unknown.length > 0) ctx.addIssue({ code: 'custom', message: `unknown state ${unknown.map((state) => `"${state}"`).join(', ')} (expected: ${alertStates.join(', ')})` });
                return states;
              })
              .optional()
              .describe(`comma-separated: ${alertStates.join(', ')}`),
            severity: z.enum(severities).optional(),
            rule: filterParam.optional(),
            limit: limitParam,
            cursor: cursorParam.optional(),
          }),
          response: { 200: z.object({ alerts: z.array(AlertSchema), next: NextCursor }), ...errorResponses(400, 401, 403) },
        },
      },
      async (request) => {
        const { state, severity, rule, limit, cursor } = request.query;
        const silences = activeSilences();
        const found = services.queries.alerts.list({ ...(state ? { states: state } : {}), ...(severity ? { severity } : {}), ...(rule ? { rule } : {}), limit: limit + 1, after: cursor });
        const { items, next } = paged(found, limit, (alert) => ({ time: alert.updatedAt, id: alert.id }));
        return { alerts: items.map((alert) => present(alert, silences)), ...(next ? { next } : {}) };
      },
    );

    app.get(
      '/v1/alerts/:id',
      {
        config: { access: 'viewer' },
        schema: { tags: ['alerts'], summary: 'One alert instance', params: IdParams, response: { 200: z.object({ alert: AlertSchema }), ...errorResponses(401, 403, 404) } },
      },
      async (request) => {
        const alert = services.queries.alerts.get(request.params.id);
        if (!alert) throw new MailscopeError('ALERT_NOT_FOUND', `no alert "${request.params.id}"`);
        return { alert: present(alert, activeSilences()) };
      },
    );

    app.post(
      '/v1/alerts/:id/ack',
      {
        config: { access: 'operator' },
        schema: {
          tags: ['alerts'],
          summary: 'Acknowledge a firing alert: no more reminders until it resolves',
          params: IdParams,
          body: z.strictObject({ comment: reasonText.optional() }).nullish(),
          response: { 200: z.object({ alert: AlertSchema }), ...errorResponses(400, 401, 403, 404, 409) },
        },
      },
      async (request) => {
        if (!services.alerts) throw new MailscopeError('ALERT_NOT_FOUND', `no alert "${request.params.id}"`);
        const alert = services.alerts.acknowledge(request.params.id, request.principal!.name, request.body?.comment);
        return { alert: present(alert, activeSilences()) };
      },
    );

    app.get(
      '/v1/notifications',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['alerts'],
          summary: 'The delivery log: each notification to each channel, its attempts and outcome, newest first',
          querystring: z.strictObject({ alert: filterParam.optional(), status: z.enum(deliveryStatuses).optional(), limit: limitParam, cursor: cursorParam.optional() }),
          response: { 200: z.object({ notifications: z.array(NotificationSchema), next: NextCursor }), ...errorResponses(400, 401, 403) },
        },
      },
      async (request) => {
        const { alert, status, limit, cursor } = request.query;
        const found = services.queries.notifications.list({ ...(alert ? { alertId: alert } : {}), ...(status ? { status } : {}), limit: limit + 1, after: cursor });
        const { items, next } = paged(found, limit, (row) => ({ time: row.createdAt, id: row.id }));
        return { notifications: items.map(presentNotification), ...(next ? { next } : {}) };
      },
    );

    app.get(
      '/v1/silences',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['alerts'],
          summary: 'Silences, newest first (active only with ?active=true)',
          querystring: z.strictObject({ active: z.enum(['true', 'false']).optional(), limit: limitParam, cursor: cursorParam.optional() }),
          response: { 200: z.object({ silences: z.array(SilenceSchema), next: NextCursor }), ...errorResponses(400, 401, 403) },
        },
      },
      async (request) => {
        const { active, limit, cursor } = request.query;
        const found = services.queries.silences.list({ ...(active === 'true' ? { activeAt: services.clock.now().getTime() } : {}), limit: limit + 1, after: cursor });
        const { items, next } = paged(found, limit, (silence) => services.queries.silences.pageKey(silence.id));
        return { silences: items.map(presentSilence), ...(next ? { next } : {}) };
      },
    );

    app.post(
      '/v1/silences',
      {
        config: { access: 'operator' },
        schema: {
          tags: ['alerts'],
          summary: 'Silence the alerts whose labels match, until a time: they change state as usual but notify no one',
          body: SilenceBody,
          response: { 201: z.object({ silence: SilenceSchema }), ...errorResponses(400, 401, 403) },
        },
      },
      async (request, reply) => {
        const now = services.clock.now().getTime();
        const { matchers, until, comment } = request.body;
        const endsAt = futureTime('until', until, now);
        const silence = services.queries.silences.create({ matchers, startsAt: now, endsAt, comment, createdBy: request.principal!.name, createdAt: now });
        request.log.info({ silence: silence.id, matchers, until: iso(endsAt), by: silence.createdBy }, 'silence created');
        return reply.code(201).send({ silence: presentSilence(silence) });
      },
    );

    app.delete(
      '/v1/silences/:id',
      {
        config: { access: 'operator' },
        schema: { tags: ['alerts'], summary: 'End a silence now', params: IdParams, response: { 200: z.object({ silence: SilenceSchema }), ...errorResponses(401, 403, 404) } },
      },
      async (request) => {
        const now = services.clock.now().getTime();
        if (!services.queries.silences.end(request.params.id, request.principal!.name, now)) {
          throw new MailscopeError('SILENCE_NOT_FOUND', `no active silence "${request.params.id}"`);
        }
        // Alerts it held back speak up at the next tick.
        services.alerts?.tick();
        return { silence: presentSilence(services.queries.silences.get(request.params.id)!) };
      },
    );
  };
}
