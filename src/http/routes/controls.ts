import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MailscopeError } from '../../core/errors.ts';
import { scopeKeyNames, scopeKeys, scopeSchema } from '../../core/scope.ts';
import { getControl, heldCount, listAudit, listControls, pushesOf, type ControlRow, type PushRow } from '../../store/controls.ts';
import { futureTime } from '../../core/schema.ts';
import { errorResponses, limitParam } from '../schemas.ts';
import type { ApiServices } from '../services.ts';

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

const ScopeSchema = z.record(z.string(), z.string()).describe(`scope keys: ${scopeKeyNames.join(', ')}`);

const PushSchema = z
  .object({
    platform: z.string(),
    operation: z.enum(['apply', 'renew', 'lift']).describe('renew: applied again before the platform lets it run out (KumoMTA)'),
    status: z.enum(['pending', 'done', 'failed', 'skipped']).describe('skipped: the platform cannot apply this control exactly (lastError says why)'),
    attempts: z.int(),
    lastError: z.string().optional(),
    nextAttemptAt: z.string().optional(),
    doneAt: z.string().optional(),
  })
  .meta({ id: 'ControlPush' });

const ControlSchema = z
  .object({
    id: z.string(),
    action: z.enum(['pause', 'throttle']),
    scope: ScopeSchema,
    ratePerMinute: z.int().optional(),
    reason: z.string(),
    source: z.string().describe('rule:<id> or token:<name>'),
    rule: z.string().optional(),
    alert: z.string().optional(),
    createdBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
    expiresAt: z.string().optional(),
    liftAt: z.string().optional().describe('its alert resolved: lifted at this time unless it fires again'),
    keepUntilResumed: z.boolean(),
    active: z.boolean(),
    liftedAt: z.string().optional(),
    liftedBy: z.string().optional(),
    liftReason: z.string().optional(),
    pushes: z.array(PushSchema).describe('the control at each push platform: applied, lifted, failing, or skipped'),
    pushFailed: z.boolean().describe('a push to a platform failed for good: that platform may not have applied (or lifted) it'),
    held: z
      .object({ held: z.int(), released: z.int(), releaseError: z.string().optional().describe('why the last release of a message still held failed (retried)') })
      .describe('messages a Postfix policy service held for it, and released'),
  })
  .meta({ id: 'Control' });

const AuditSchema = z
  .object({ id: z.int(), at: z.string(), actor: z.string(), action: z.string(), subject: z.string(), details: z.record(z.string(), z.unknown()) })
  .meta({ id: 'AuditEntry' });

const ControlBody = z.strictObject({
  action: z.enum(['pause', 'throttle']),
  scope: scopeSchema.describe(`what to pause or throttle; keys (all must match): ${scopeKeyNames.map((key) => `${key} (${scopeKeys[key]})`).join('; ')}`),
  rate: z.int({ error: 'expected a whole number of messages per minute' }).min(0, { error: 'must be 0 or more (messages per minute)' }).optional().describe('throttle: messages per minute for the whole scope'),
  reason: z.string().min(1).max(1_000).describe('why: in the audit log and shown to everyone who looks'),
  expires: z.string().optional().describe('when it lifts by itself: ISO 8601 time, or a duration from now (2h)'),
});

/** The routing engine's question: any of the scope keys. */
const PolicyQuery = z.strictObject(Object.fromEntries(scopeKeyNames.map((key) => [key, z.string().max(253).optional().describe(scopeKeys[key])])) as Record<(typeof scopeKeyNames)[number], z.ZodOptional<z.ZodString>>);

const PolicySchema = z
  .object({
    action: z.enum(['allow', 'throttle', 'pause']),
    rate: z.int().optional().describe('throttle: messages per minute (the tightest that applies)'),
    controls: z.array(z.object({ id: z.string(), action: z.enum(['pause', 'throttle']), scope: ScopeSchema, ratePerMinute: z.int().optional(), reason: z.string() })),
    unsure: z.array(z.object({ id: z.string(), missing: z.array(z.string()) })).describe('controls that might apply: the question lacks these keys (controls.failMode decides)'),
  })
  .meta({ id: 'PolicyDecision' });

/** Distinct questions whose answers are kept (the oldest goes first). */
const maxAnswers = 10_000;

export function controlRoutes(services: ApiServices): FastifyPluginAsyncZod {
  const presentPush = (push: PushRow): z.output<typeof PushSchema> => ({
    platform: push.platform,
    operation: push.operation,
    status: push.status,
    attempts: push.attempts,
    ...(push.lastError ? { lastError: push.lastError } : {}),
    ...(push.status === 'pending' ? { nextAttemptAt: iso(push.nextAttemptAt) } : {}),
    ...(push.doneAt !== undefined ? { doneAt: iso(push.doneAt) } : {}),
  });

  const present = (control: ControlRow): z.output<typeof ControlSchema> => {
    const pushes = pushesOf(services.db, control.id);
    return {
      id: control.id,
      action: control.action,
      scope: control.scope as Record<string, string>,
      ...(control.ratePerMinute !== undefined ? { ratePerMinute: control.ratePerMinute } : {}),
      reason: control.reason,
      source: control.source,
      ...(control.ruleId ? { rule: control.ruleId } : {}),
      ...(control.alertId ? { alert: control.alertId } : {}),
      createdBy: control.createdBy,
      createdAt: iso(control.createdAt)!,
      updatedAt: iso(control.updatedAt)!,
      ...(control.expiresAt !== undefined ? { expiresAt: iso(control.expiresAt) } : {}),
      ...(control.liftAt !== undefined ? { liftAt: iso(control.liftAt) } : {}),
      keepUntilResumed: control.keepUntilResumed,
      active: control.liftedAt === undefined && (control.expiresAt === undefined || control.expiresAt > services.clock.now().getTime()),
      ...(control.liftedAt !== undefined ? { liftedAt: iso(control.liftedAt), liftedBy: control.liftedBy, ...(control.liftReason ? { liftReason: control.liftReason } : {}) } : {}),
      pushes: pushes.map(presentPush),
      pushFailed: pushes.some((push) => push.status === 'failed'),
      held: heldCount(services.db, control.id),
    };
  };

  const controlsService = () => {
    if (!services.controls) throw new MailscopeError('CONTROL_NOT_FOUND', 'send control is not running in this process');
    return services.controls;
  };

  return async (app) => {
    /** Answers by question (the URL), kept while the controls stay as they are (ControlService.generation). */
    const answers = new Map<string, string>();
    let answersOf = -1;
    app.get(
      '/v1/policy',
      {
        config: { access: 'viewer' },
        // Asked per message: a log line per request would cost more than the answer.
        logLevel: 'warn',
        schema: {
          tags: ['controls'],
          summary: 'What the routing engine should do with a message (or a slice of traffic): allow, throttle (with a rate) or pause; answered from memory',
          querystring: PolicyQuery,
          response: { 200: PolicySchema, ...errorResponses(400, 401, 403) },
        },
      },
      async (request, reply) => {
        const controls = controlsService();
        const generation = controls.generation;
        if (generation !== answersOf) {
          answers.clear();
          answersOf = generation;
        }
        let json = answers.get(request.url);
        if (json === undefined) {
          const decision = controls.decide(request.query);
          const answer: z.output<typeof PolicySchema> = {
            action: decision.action,
            ...(decision.ratePerMinute !== undefined ? { rate: decision.ratePerMinute } : {}),
            controls: decision.controls.map((control) => ({
              id: control.id,
              action: control.action,
              scope: control.scope as Record<string, string>,
              ...(control.ratePerMinute !== undefined ? { ratePerMinute: control.ratePerMinute } : {}),
              reason: control.reason,
            })),
            unsure: decision.unsure.map((entry) => ({ id: entry.control.id, missing: entry.missing })),
          };
          json = JSON.stringify(answer);
          if (answers.size >= maxAnswers) answers.delete(answers.keys().next().value!);
          answers.set(request.url, json);
        }
        // A string is sent as it is: the answer was built to the schema above.
        return reply.type('application/json; charset=utf-8').send(json as never);
      },
    );

    app.get(
      '/v1/controls',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['controls'],
          summary: 'Pauses and throttles, newest first (active only with ?active=true)',
          querystring: z.strictObject({ active: z.enum(['true', 'false']).optional(), source: z.string().min(1).optional(), limit: limitParam }),
          response: { 200: z.object({ controls: z.array(ControlSchema) }), ...errorResponses(400, 401, 403) },
        },
      },
      async (request) => {
        const { active, source, limit } = request.query;
        return { controls: listControls(services.db, { ...(active ? { active: active === 'true' } : {}), ...(source ? { source } : {}), limit }).map(present) };
      },
    );

    app.get(
      '/v1/controls/:id',
      {
        config: { access: 'viewer' },
        schema: { tags: ['controls'], summary: 'One control, with its pushes and held messages', params: z.strictObject({ id: z.string().min(1) }), response: { 200: z.object({ control: ControlSchema }), ...errorResponses(401, 403, 404) } },
      },
      async (request) => {
        const control = getControl(services.db, request.params.id);
        if (!control) throw new MailscopeError('CONTROL_NOT_FOUND', `no control "${request.params.id}"`);
        return { control: present(control) };
      },
    );

    app.post(
      '/v1/controls',
      {
        config: { access: 'operator' },
        schema: {
          tags: ['controls'],
          summary: 'Pause or throttle a slice of traffic; the same action on the same scope again is the same control (200)',
          body: ControlBody,
          response: { 200: z.object({ control: ControlSchema }), 201: z.object({ control: ControlSchema }), ...errorResponses(400, 401, 403) },
        },
      },
      async (request, reply) => {
        const { action, scope, rate, reason, expires } = request.body;
        const now = services.clock.now().getTime();
        const expiresAt = expires === undefined ? undefined : futureTime('expires', expires, now);
        const by = request.principal!.name;
        const { control, created } = controlsService().create({ action, scope, ratePerMinute: rate, reason, expiresAt, source: `token:${by}`, actor: by });
        return reply.code(created ? 201 : 200).send({ control: present(control) });
      },
    );

    app.delete(
      '/v1/controls/:id',
      {
        config: { access: 'operator' },
        schema: {
          tags: ['controls'],
          summary: 'Lift a control now (resume): the lift is pushed to the platforms',
          params: z.strictObject({ id: z.string().min(1) }),
          body: z.strictObject({ reason: z.string().min(1).max(1_000).optional() }).nullish(),
          response: { 200: z.object({ control: ControlSchema }), ...errorResponses(400, 401, 403, 404, 409) },
        },
      },
      async (request) => {
        const lifted = controlsService().lift(request.params.id, request.principal!.name, request.body?.reason ?? 'resumed by hand');
        return { control: present(lifted) };
      },
    );

    app.get(
      '/v1/audit',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['controls'],
          summary: 'Who changed which control, how and why, newest first',
          querystring: z.strictObject({ subject: z.string().min(1).optional().describe('a control id'), actor: z.string().min(1).optional(), limit: limitParam }),
          response: { 200: z.object({ entries: z.array(AuditSchema) }), ...errorResponses(400, 401, 403) },
        },
      },
      async (request) => {
        const { subject, actor, limit } = request.query;
        return {
          entries: listAudit(services.db, { ...(subject ? { subject } : {}), ...(actor ? { actor } : {}), limit }).map((entry) => ({ ...entry, at: iso(entry.at)! })),
        };
      },
    );
  };
}
