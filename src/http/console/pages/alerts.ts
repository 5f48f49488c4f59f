/**
 * Alerts (`/alerts`): firing and pending first, then the rest (paged), by state
 * and severity; an alert's page (`/alerts/:id`) has its timeline of states and
 * notifications, labels, value and the rule's description, and for operators
 * "Acknowledge" (as POST /v1/alerts/:id/ack) and "Silence" (a silence on its
 * labels, as POST /v1/silences); `/silences` lists the silences with "End".
 */
import { silenced, silenceLabels } from '../../../alerts/engine.ts';
import { summaryOf } from '../../../alerts/message.ts';
import { alertStates, type InstanceState } from '../../../alerts/state.ts';
import { severities } from '../../../core/alert-vocabulary.ts';
import { MailscopeError } from '../../../core/errors.ts';
import { futureTime } from '../../../core/schema.ts';
import { errorMap } from '../../../core/zod-messages.ts';
import type { AlertRow } from '../../../queries/index.ts';
import { SilenceBody } from '../../routes/alerts.ts';
import { cursorOf, doneMessage, doneRedirect, formOf, issuesOf, paged, pageSize, queryOf, reasonOf, urlOf } from './forms.ts';
import type { ConsolePage } from './page.ts';
import { operatorForm, viewerPage } from './page.ts';

const severityRank: Record<string, number> = Object.fromEntries(severities.map((severity, rank) => [severity, rank]));
const stateRank: Record<string, number> = { firing: 0, pending: 1 };

const outcomes = {
  acknowledged: 'Acknowledged: no more reminders until it resolves.',
  silenced: 'Silenced: alerts with these labels change state as usual but notify no one until the silence ends.',
  ended: 'The silence ended: alerts it held back speak up at the next check.',
};

/** One moment of an alert's life, for its timeline. */
interface Moment {
  at: number;
  what: string;
  detail?: string;
  status?: string;
}

export const alertsPage: ConsolePage = (app, services, tools) => {
  const now = () => services.clock.now().getTime();
  const activeSilences = () => services.queries.silences.list({ activeAt: now() });
  const engine = () => {
    if (!services.alerts) throw new MailscopeError('ALERT_NOT_FOUND', 'the rules engine is not running in this process');
    return services.alerts;
  };
  const present = (alert: AlertRow, silences: ReturnType<typeof activeSilences>) => {
    const rule = services.alerts?.rule(alert.ruleId);
    const machine = alert.machine as unknown as InstanceState;
    return {
      ...alert,
      machine,
      summary: rule ? summaryOf(rule, alert.labels, alert.lastValue) : undefined,
      description: rule?.description,
      silenced: silenced(silences, silenceLabels(alert, rule)),
    };
  };
  const filterOfQuery = (text: string | undefined, allowed: readonly string[], name: string): string | undefined => {
    if (text === undefined || text === '') return undefined;
    if (!allowed.includes(text)) throw new MailscopeError('BAD_REQUEST', `${name}: expected one of ${allowed.join(', ')}`);
    return text;
  };

  app.get('/alerts', { config: viewerPage, schema: { hide: true } }, async (request, reply) => {
    const query = queryOf(request);
    const state = filterOfQuery(query.state, alertStates, 'state');
    const severity = filterOfQuery(query.severity, severities, 'severity');
    const cursor = cursorOf(request);
    const silences = activeSilences();
    // Without a state filter, what needs a person (firing, pending) comes first, all of it; the rest is paged below.
    const urgent =
      state || cursor
        ? []
        : services.queries.alerts
            .list({ states: ['firing', 'pending'], ...(severity ? { severity } : {}), limit: 500 })
            .sort((a, b) => (stateRank[a.state] ?? 2) - (stateRank[b.state] ?? 2) || (severityRank[a.severity] ?? 3) - (severityRank[b.severity] ?? 3) || b.updatedAt - a.updatedAt);
    const rest = state ? [state] : alertStates.filter((name) => name !== 'firing' && name !== 'pending');
    const found = services.queries.alerts.list({ states: rest, ...(severity ? { severity } : {}), limit: pageSize + 1, after: cursor });
    const { items, next } = paged(found, pageSize, (alert) => ({ time: alert.updatedAt, id: alert.id }));
    return tools.render(request, reply, 'alerts', {
      title: 'Alerts',
      section: 'Alerts',
      urgent: urgent.map((alert) => present(alert, silences)),
      others: items.map((alert) => present(alert, silences)),
      older: next ? urlOf('/alerts', { state, severity, cursor: next }) : undefined,
      filter: { state: state ?? '', severity: severity ?? '' },
      states: alertStates,
      severities,
      silences: silences.length,
    });
  });

  app.get('/alerts/:id', { config: viewerPage, schema: { hide: true } }, async (request, reply) => {
    const id = (request.params as { id: string }).id;
    const row = services.queries.alerts.get(id);
    if (!row) throw new MailscopeError('ALERT_NOT_FOUND', `no alert "${id}"`);
    const silences = activeSilences();
    const alert = present(row, silences);
    const rule = services.alerts?.rule(row.ruleId);
    const labels = silenceLabels(row, rule);
    const notifications = services.queries.notifications.list({ alertId: row.id, limit: 200 });
    const { machine } = alert;
    const moments: Moment[] = [
      { at: row.createdAt, what: 'first seen' },
      ...(machine.pendingSince !== undefined ? [{ at: machine.pendingSince, what: 'condition began to hold (pending)' }] : []),
      ...(machine.firedAt !== undefined ? [{ at: machine.firedAt, what: 'fired' }] : []),
      ...(machine.resolvedAt !== undefined ? [{ at: machine.resolvedAt, what: 'resolved' }] : []),
      ...(machine.ackedAt !== undefined ? [{ at: machine.ackedAt, what: `acknowledged by ${machine.ackedBy ?? '?'}`, ...(machine.ackComment ? { detail: machine.ackComment } : {}) }] : []),
      ...notifications.map((notification) => ({
        at: notification.createdAt,
        what: `${notification.event} → ${notification.channel}`,
        status: notification.status,
        ...(notification.lastError
          ? { detail: `${notification.attempts} attempt(s): ${notification.lastError}` }
          : notification.sentAt !== undefined
            ? { detail: `sent ${new Date(notification.sentAt).toISOString()}` }
            : {}),
      })),
    ].sort((a, b) => b.at - a.at);
    return tools.render(request, reply, 'alert', {
      title: `Alert ${row.ruleId}`,
      section: 'Alerts',
      alert,
      labels,
      matching: silences.filter((silence) => Object.entries(silence.matchers).every(([name, value]) => labels[name] === value)),
      moments,
      done: doneMessage(request, outcomes),
    });
  });

  app.post('/alerts/:id/ack', { config: operatorForm, schema: { hide: true } }, async (request, reply) => {
    tools.checkForm(request, request.session?.csrf);
    const id = (request.params as { id: string }).id;
    const comment = reasonOf(formOf(request), 'comment');
    engine().acknowledge(id, request.principal!.name, comment);
    return doneRedirect(reply, `/alerts/${encodeURIComponent(id)}`, 'acknowledged');
  });

  app.post('/alerts/:id/silence', { config: operatorForm, schema: { hide: true } }, async (request, reply) => {
    tools.checkForm(request, request.session?.csrf);
    const id = (request.params as { id: string }).id;
    const alert = services.queries.alerts.get(id);
    if (!alert) throw new MailscopeError('ALERT_NOT_FOUND', `no alert "${id}"`);
    const form = formOf(request);
    // This alert exactly: its rule and every label of its series.
    const parsed = SilenceBody.safeParse({ matchers: { rule: alert.ruleId, ...alert.labels }, until: form.until ?? '', comment: form.comment ?? '' }, { error: errorMap });
    if (!parsed.success) throw new MailscopeError('BAD_REQUEST', issuesOf(parsed.error));
    const at = now();
    const { matchers, until, comment } = parsed.data;
    const endsAt = futureTime('until', until, at);
    const silence = services.queries.silences.create({ matchers, startsAt: at, endsAt, comment, createdBy: request.principal!.name, createdAt: at });
    request.log.info({ silence: silence.id, matchers, until: new Date(endsAt).toISOString(), by: silence.createdBy }, 'silence created');
    return doneRedirect(reply, `/alerts/${encodeURIComponent(id)}`, 'silenced');
  });

  app.get('/silences', { config: viewerPage, schema: { hide: true } }, async (request, reply) => {
    const at = now();
    const found = services.queries.silences.list({ limit: pageSize + 1, after: cursorOf(request) });
    const { items, next } = paged(found, pageSize, (silence) => services.queries.silences.pageKey(silence.id));
    return tools.render(request, reply, 'silences', {
      title: 'Silences',
      section: 'Alerts',
      silences: items.map((silence) => ({ ...silence, active: silence.deletedAt === undefined && silence.startsAt <= at && silence.endsAt > at })),
      older: next ? urlOf('/silences', { cursor: next }) : undefined,
      done: doneMessage(request, outcomes),
    });
  });

  app.post('/silences/:id/end', { config: operatorForm, schema: { hide: true } }, async (request, reply) => {
    tools.checkForm(request, request.session?.csrf);
    const id = (request.params as { id: string }).id;
    const reason = reasonOf(formOf(request));
    if (!services.queries.silences.end(id, request.principal!.name, now())) throw new MailscopeError('SILENCE_NOT_FOUND', `no active silence "${id}"`);
    // The silence keeps who ended it, not why: the log does.
    request.log.info({ silence: id, by: request.principal!.name, reason }, 'silence ended');
    // Alerts it held back speak up at the next tick.
    services.alerts?.tick();
    return doneRedirect(reply, '/silences', 'ended');
  });
};
