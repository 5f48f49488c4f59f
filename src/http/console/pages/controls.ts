/**
 * Controls (`/controls`): the active pauses and throttles, then those lifted
 * (paged), and for operators the form that pauses or throttles a scope; a
 * control's page (`/controls/:id`) has its scope, rate, adaptive state, audit
 * trail, pushes and held mail, and for operators "Resume". The forms act
 * through the control service exactly as /v1/controls does, with the request
 * checked by the same schema as the API's and the CLI's (controls/input.ts).
 */
import type { FastifyRequest } from 'fastify';
import { ControlRequest, expiryOf } from '../../../controls/input.ts';
import { controlActionNames } from '../../../core/control-vocabulary.ts';
import { MailscopeError } from '../../../core/errors.ts';
import { scopeKeyNames, scopeKeys } from '../../../core/scope.ts';
import { errorMap, formatPath } from '../../../core/zod-messages.ts';
import type { ControlRow } from '../../../queries/index.ts';
import { backOf, cursorOf, doneMessage, doneRedirect, formOf, issuesOf, paged, pageSize, reasonOf, urlOf } from './forms.ts';
import type { ConsolePage } from './page.ts';
import { operatorForm, viewerPage } from './page.ts';

/** A scope key's form field: `scope.ip`, `scope.pool`, ... */
const scopeField = 'scope.';

const outcomes = {
  paused: 'Paused: the policy answers pause for this scope from now on.',
  throttled: 'Throttled: the policy answers throttle with this rate from now on.',
  updated: 'The same control was already active: it is updated.',
  resumed: 'Resumed: the control is lifted, and the lift is pushed to the platforms.',
};

/** The control request a form describes, as the API's JSON body would say it. */
function requestOfForm(form: Record<string, string>): Record<string, unknown> {
  const scope: Record<string, string> = {};
  for (const [name, value] of Object.entries(form)) {
    if (!name.startsWith(scopeField)) continue;
    // An empty field is a key not given; a key the form does not offer is passed on, and refused by the schema.
    if (value.trim() !== '') scope[name.slice(scopeField.length)] = value;
  }
  const rate = (form.rate ?? '').trim();
  const expires = (form.expires ?? '').trim();
  return {
    action: form.action ?? '',
    scope,
    // A number is passed as a number (the schema checks it is whole and not negative); other text as it is, refused.
    ...(rate !== '' ? { rate: /^[+-]?\d+(\.\d+)?$/.test(rate) ? Number(rate) : rate } : {}),
    reason: form.reason ?? '',
    ...(expires !== '' ? { expires } : {}),
  };
}

/** Where a problem is, as the form names it: a scope key by its name (ip), a field by its label. */
function fieldOf(path: readonly PropertyKey[]): string {
  const [first, ...rest] = path;
  if (first === 'scope') return rest.length > 0 ? formatPath(rest) : 'scope';
  return formatPath(path);
}

export const controlsPage: ConsolePage = (app, services, tools) => {
  const controlService = () => {
    if (!services.controls) throw new MailscopeError('CONTROL_NOT_FOUND', 'send control is not running in this process');
    return services.controls;
  };
  const now = () => services.clock.now().getTime();
  const withHeld = (control: ControlRow) => ({ ...control, held: services.queries.controls.heldCount(control.id), expired: control.expiresAt !== undefined && control.expiresAt <= now() });

  app.get('/controls', { config: viewerPage, schema: { hide: true } }, async (request, reply) => {
    const cursor = cursorOf(request);
    // The active ones are few and all shown on every page; the lifted ones are paged.
    const active = cursor ? [] : services.queries.controls.list({ active: true, limit: 500 }).map(withHeld);
    const found = services.queries.controls.list({ active: false, limit: pageSize + 1, after: cursor });
    const { items: lifted, next } = paged(found, pageSize, (control) => services.queries.controls.pageKey(control.id));
    return tools.render(request, reply, 'controls', {
      title: 'Controls',
      section: 'Controls',
      active,
      lifted: lifted.map(withHeld),
      older: next ? urlOf('/controls', { cursor: next }) : undefined,
      scopeKeys: scopeKeyNames.map((key) => ({ key, description: scopeKeys[key] })),
      actions: controlActionNames,
      done: doneMessage(request, outcomes),
    });
  });

  app.get('/controls/:id', { config: viewerPage, schema: { hide: true } }, async (request, reply) => {
    const id = (request.params as { id: string }).id;
    const control = services.queries.controls.get(id);
    if (!control) throw new MailscopeError('CONTROL_NOT_FOUND', `no control "${id}"`);
    const trail = services.queries.audit.list({ subject: control.id, limit: 200 });
    return tools.render(request, reply, 'control', {
      title: `Control ${control.action}`,
      section: 'Controls',
      control: withHeld(control),
      pushes: services.queries.controls.pushesOf(control.id),
      trail,
      done: doneMessage(request, outcomes),
    });
  });

  app.post('/controls', { config: operatorForm, schema: { hide: true } }, async (request: FastifyRequest, reply) => {
    tools.checkForm(request, request.session?.csrf);
    const form = formOf(request);
    const parsed = ControlRequest.safeParse(requestOfForm(form), { error: errorMap });
    if (!parsed.success) throw new MailscopeError('BAD_REQUEST', issuesOf(parsed.error, fieldOf));
    const { action, scope, rate, reason, expires } = parsed.data;
    const expiresAt = expiryOf(expires, now());
    const by = request.principal!.name;
    const { control, created } = controlService().create({ action, scope, ratePerMinute: rate, reason, expiresAt, source: `token:${by}`, actor: by });
    const back = backOf(form) ?? `/controls/${encodeURIComponent(control.id)}`;
    return doneRedirect(reply, back, created ? (action === 'pause' ? 'paused' : 'throttled') : 'updated');
  });

  app.post('/controls/:id/resume', { config: operatorForm, schema: { hide: true } }, async (request, reply) => {
    tools.checkForm(request, request.session?.csrf);
    const form = formOf(request);
    const reason = reasonOf(form);
    const id = (request.params as { id: string }).id;
    controlService().lift(id, request.principal!.name, reason);
    return doneRedirect(reply, backOf(form) ?? `/controls/${encodeURIComponent(id)}`, 'resumed');
  });
};
