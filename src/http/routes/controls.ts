import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MailscopeError } from '../../core/errors.ts';
import { scopeKeyNames, scopeKeys } from '../../core/scope.ts';
import { ControlRequest, expiryOf, ResumeRequest } from '../../controls/input.ts';
import type { Decision } from '../../controls/service.ts';
import { controlActionNames, policyActions, pushOperations, pushStatuses } from '../../core/control-vocabulary.ts';
import type { ControlRow, PushRow } from '../../queries/index.ts';
import { cursorParam, errorResponses, filterParam, IdParams, iso, limitParam, NextCursor, paged } from '../schemas.ts';
import type { ApiServices } from '../services.ts';

const ScopeSchema = z.record(z.string(), z.string()).describe(`scope keys: ${scopeKeyNames.join(', ')}`);

const PushSchema = z
  .object({
    platform: z.string(),
    operation: z.enum(pushOperations).describe('renew: applied again before the platform lets it run out (KumoMTA)'),
    status: z.enum(pushStatuses).describe('skipped: the platform cannot apply this control exactly (lastError says why)'),
    attempts: z.int(),
    lastError: z.string().optional(),
    nextAttemptAt: z.string().optional(),
    doneAt: z.string().optional(),
  })
  .meta({ id: 'ControlPush' });

const ControlSchema = z
  .object({
    id: z.string(),
    action: z.enum(controlActionNames),
    scope: ScopeSchema,
    ratePerMinute: z.int().optional(),
    reason: z.string(),
    source: z.string().describe('rule:<id>, token:<name> or cli:<user>'),
    rule: z.string().optional(),
    alert: z.string().optional(),
    createdBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
    expiresAt: z.string().optional(),
    liftAt: z.string().optional().describe('its alert resolved: lifted at this time unless it fires again'),
    keepUntilResumed: z.boolean(),
    adaptive: z
      .object({
        ceiling: z.int().describe('the rate it lifts at, stepping up: what the scope was sending when it started (or the rule’s rate)'),
        floor: z.int().describe('the rate it never goes under, stepping down'),
        down: z.number().describe('the factor of a step down, while its alert fires'),
        up: z.number().describe('the factor of a step up, once its alert resolved'),
        everyMs: z.int().describe('time between steps'),
        nextStepAt: z.string().optional().describe('when it steps next (absent: kept at its ceiling for a person)'),
      })
      .optional()
      .describe("a rule's adaptive throttle: its rate steps down while the alert fires, up once it resolves, and it lifts at its ceiling"),
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

const AuditSchema = z.object({ id: z.int(), at: z.string(), actor: z.string(), action: z.string(), subject: z.string(), details: z.record(z.string(), z.unknown()) }).meta({ id: 'AuditEntry' });

/** The routing engine's question: any of the scope keys; `explain` lists every control that might apply. */
const PolicyQuery = z.strictObject({
  ...(Object.fromEntries(scopeKeyNames.map((key) => [key, z.string().max(253).optional().describe(scopeKeys[key])])) as Record<(typeof scopeKeyNames)[number], z.ZodOptional<z.ZodString>>),
  explain: z.enum(['true', 'false']).optional().describe('true: list every control that might apply (not only the first 10), for a person looking into an answer'),
});

const PolicySchema = z
  .object({
    action: z.enum(policyActions),
    rate: z.int().optional().describe('throttle: messages per minute (the tightest that applies)'),
    controls: z.array(z.object({ id: z.string(), action: z.enum(controlActionNames), scope: ScopeSchema, ratePerMinute: z.int().optional(), reason: z.string() })).describe('the controls that apply'),
    unsure: z
      .array(z.object({ id: z.string(), missing: z.array(z.string()) }))
      .describe(`controls that might apply: the question lacks these keys (controls.failMode decides). At most ${10} (pauses first, then the tightest throttles) unless explain=true`),
    unsureCount: z.int().describe('how many controls might apply'),
    missing: z.array(z.string()).describe('the keys whose absence leaves controls unsure: ask with them to be sure'),
  })
  .meta({ id: 'PolicyDecision' });

/** Unsure controls listed in an answer without explain=true. */
const unsureShown = 10;
/** Answers kept: at most this many distinct questions, and this many bytes (questions and answers), the oldest going first. */
const maxAnswers = 10_000;
const maxAnswerBytes = 8 * 1024 * 1024;

/** The answer to a question, as JSON: small unless explained (only the unsure controls that could tighten it come first). */
function policyAnswer(decision: Decision, explain: boolean): string {
  const tightness = (control: ControlRow) => (control.action === 'pause' ? -1 : (control.ratePerMinute ?? 0));
  const unsure = [...decision.unsure].sort((a, b) => tightness(a.control) - tightness(b.control));
  const shown = explain ? unsure : unsure.slice(0, unsureShown);
  const missing = [...new Set(decision.unsure.flatMap((entry) => entry.missing))];
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
    unsure: shown.map((entry) => ({ id: entry.control.id, missing: entry.missing })),
    unsureCount: decision.unsure.length,
    missing: scopeKeyNames.filter((key) => missing.includes(key)),
  };
  return JSON.stringify(answer);
}

/** Answers by question, bounded in count and bytes; the oldest question goes first. */
export class AnswerCache {
  readonly #answers = new Map<string, string>();
  #bytes = 0;
  readonly limits: { entries: number; bytes: number };

  constructor(limits: { entries: number; bytes: number } = { entries: maxAnswers, bytes: maxAnswerBytes }) {
    this.limits = limits;
  }

  get(question: string): string | undefined {
    return this.#answers.get(question);
  }

  set(question: string, answer: string): void {
    const size = question.length + answer.length;
    if (size > this.limits.bytes) return;
    this.#remove(question);
    while (this.#answers.size >= this.limits.entries || this.#bytes + size > this.limits.bytes) this.#remove(this.#answers.keys().next().value!);
    this.#answers.set(question, answer);
    this.#bytes += size;
  }

  clear(): void {
    this.#answers.clear();
    this.#bytes = 0;
  }

  /** Questions kept and their size in characters (questions and answers). */
  get stats(): { entries: number; bytes: number } {
    return { entries: this.#answers.size, bytes: this.#bytes };
  }

  #remove(question: string): void {
    const answer = this.#answers.get(question);
    if (answer === undefined) return;
    this.#answers.delete(question);
    this.#bytes -= question.length + answer.length;
  }
}

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

  const presentAdaptive = (adaptive: NonNullable<ControlRow['adaptive']>) => ({
    ceiling: adaptive.ceiling,
    floor: adaptive.floor,
    down: adaptive.down,
    up: adaptive.up,
    everyMs: adaptive.everyMs,
    ...(adaptive.nextStepAt < Number.MAX_SAFE_INTEGER ? { nextStepAt: iso(adaptive.nextStepAt) } : {}),
  });

  const present = (control: ControlRow): z.output<typeof ControlSchema> => {
    const pushes = services.queries.controls.pushesOf(control.id);
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
      ...(control.adaptive ? { adaptive: presentAdaptive(control.adaptive) } : {}),
      active: control.liftedAt === undefined && (control.expiresAt === undefined || control.expiresAt > services.clock.now().getTime()),
      ...(control.liftedAt !== undefined ? { liftedAt: iso(control.liftedAt), liftedBy: control.liftedBy, ...(control.liftReason ? { liftReason: control.liftReason } : {}) } : {}),
      pushes: pushes.map(presentPush),
      pushFailed: pushes.some((push) => push.status === 'failed'),
      held: services.queries.controls.heldCount(control.id),
    };
  };

  const controlsService = () => {
    if (!services.controls) throw new MailscopeError('CONTROL_NOT_FOUND', 'send control is not running in this process');
    return services.controls;
  };

  return async (app) => {
    /** Answers by question (the URL), kept while the controls stay as they are (ControlService.generation). */
    const answers = new AnswerCache();
    let answersOf = -1;
    /** The answer kept for this question, while the controls are as they were when it was worked out. */
    const keptAnswer = (question: string): string | undefined => {
      const generation = controlsService().generation;
      if (generation !== answersOf) {
        answers.clear();
        answersOf = generation;
      }
      return answers.get(question);
    };
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
        // A question answered before (the same URL) was valid then and is answered again without
        // being checked again: most questions are repeats, and the check costs more than the answer.
        preValidation: async (request, reply) => {
          const kept = keptAnswer(request.url);
          if (kept !== undefined) return reply.type('application/json; charset=utf-8').send(kept as never);
          return undefined;
        },
      },
      async (request, reply) => {
        const explain = request.query.explain === 'true';
        // Explained answers are for people, rare and large: built each time, never kept.
        let json = explain ? undefined : keptAnswer(request.url);
        if (json === undefined) {
          json = policyAnswer(controlsService().decide(request.query), explain);
          if (!explain) answers.set(request.url, json);
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
          querystring: z.strictObject({ active: z.enum(['true', 'false']).optional(), source: filterParam.optional(), limit: limitParam, cursor: cursorParam.optional() }),
          response: { 200: z.object({ controls: z.array(ControlSchema), next: NextCursor }), ...errorResponses(400, 401, 403) },
        },
      },
      async (request) => {
        const { active, source, limit, cursor } = request.query;
        const found = services.queries.controls.list({ ...(active ? { active: active === 'true' } : {}), ...(source ? { source } : {}), limit: limit + 1, after: cursor });
        const { items, next } = paged(found, limit, (control) => services.queries.controls.pageKey(control.id));
        return { controls: items.map(present), ...(next ? { next } : {}) };
      },
    );

    app.get(
      '/v1/controls/:id',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['controls'],
          summary: 'One control, with its pushes and held messages',
          params: IdParams,
          response: { 200: z.object({ control: ControlSchema }), ...errorResponses(400, 401, 403, 404) },
        },
      },
      async (request) => {
        const control = services.queries.controls.get(request.params.id);
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
          body: ControlRequest,
          response: { 200: z.object({ control: ControlSchema }), 201: z.object({ control: ControlSchema }), ...errorResponses(400, 401, 403) },
        },
      },
      async (request, reply) => {
        const { action, scope, rate, reason, expires } = request.body;
        const expiresAt = expiryOf(expires, services.clock.now().getTime());
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
          params: IdParams,
          body: ResumeRequest.nullish(),
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
          querystring: z.strictObject({ subject: filterParam.optional().describe('a control id'), actor: filterParam.optional(), limit: limitParam, cursor: cursorParam.optional() }),
          response: { 200: z.object({ entries: z.array(AuditSchema), next: NextCursor }), ...errorResponses(400, 401, 403) },
        },
      },
      async (request) => {
        const { subject, actor, limit, cursor } = request.query;
        const found = services.queries.audit.list({ ...(subject ? { subject } : {}), ...(actor ? { actor } : {}), limit: limit + 1, after: cursor });
        const { items, next } = paged(found, limit, (entry) => ({ time: entry.at, id: entry.id }));
        return { entries: items.map((entry) => ({ ...entry, at: iso(entry.at) })), ...(next ? { next } : {}) };
      },
    );
  };
}
