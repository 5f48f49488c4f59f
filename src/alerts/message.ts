/** What a notification about an alert says: built once, rendered by each notifier. */
import type { NotificationEvent } from '../core/alert-vocabulary.ts';
import type { FieldValue, Observation } from '../core/observation.ts';
import { detailLabels, type AlertNotification } from '../notifiers/define.ts';
import type { AlertRow } from '../store/alerts.ts';
import { describeCondition, type Rule } from './rules.ts';
import type { InstanceState } from './state.ts';

/** The details of the observation that made the alert what it is; a dns-auth check's message is the fix. */
export function detailsOf(observation: Observation, change?: Observation): Record<string, string> {
  const details: Record<string, string> = {};
  // The fields notifiers know how to present (the fix aside, which is a dns-auth check's message).
  for (const field of Object.keys(detailLabels)) {
    const value = observation.fields[field] ?? change?.fields[field];
    if (typeof value === 'string' && value !== '') details[field] = value;
  }
  const message = observation.fields.message;
  if (observation.measurement === 'dns_auth' && typeof message === 'string' && observation.fields.status !== 'pass') details.fix = message;
  return details;
}

/** The rule's summary with {tag} and {value} filled in, or one made from the condition and the series. */
export function summaryOf(rule: Rule, labels: Record<string, string>, value: FieldValue | undefined): string {
  if (rule.summary) return rule.summary.replace(/\{([^}]+)\}/g, (_whole, name: string) => (name === 'value' ? String(value ?? '?') : (labels[name] ?? '')));
  const where = Object.entries(labels)
    .filter(([name]) => name !== 'probe')
    .map(([name, tag]) => `${name}=${tag}`)
    .join(', ');
  return `${rule.description ?? describeCondition(rule.compiled)}${where ? ` (${where})` : ''}`;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

export function buildNotification(
  rule: Rule,
  alert: AlertRow,
  machine: InstanceState,
  event: NotificationEvent,
  now: number,
  links: { externalUrl?: string | undefined; dashboardUrl?: string | undefined },
): Omit<AlertNotification, 'delivery'> {
  const condition = rule.compiled;
  const since = iso(machine.pendingSince ?? machine.firedAt);
  const firedAt = iso(machine.firedAt);
  const resolvedAt = event === 'resolved' ? iso(machine.resolvedAt) : undefined;
  return {
    event,
    at: new Date(now).toISOString(),
    alert: {
      id: alert.id,
      rule: rule.id,
      severity: rule.severity,
      state: event === 'resolved' ? 'resolved' : 'firing',
      summary: summaryOf(rule, alert.labels, alert.lastValue),
      ...(rule.description ? { description: rule.description } : {}),
      condition: describeCondition(condition),
      ...(alert.lastValue !== undefined ? { value: alert.lastValue } : {}),
      ...(condition.kind === 'threshold' && condition.type !== 'boolean' ? { threshold: condition.value } : {}),
      labels: { ...alert.labels, ...rule.labels },
      ...(since ? { since } : {}),
      ...(firedAt ? { firedAt } : {}),
      ...(resolvedAt ? { resolvedAt } : {}),
      details: alert.details,
      ...(machine.ackedBy ? { acknowledgedBy: machine.ackedBy } : {}),
    },
    links: {
      ...(links.externalUrl ? { alert: `${links.externalUrl.replace(/\/$/, '')}/v1/alerts/${alert.id}` } : {}),
      ...(links.dashboardUrl ? { dashboard: links.dashboardUrl } : {}),
    },
  };
}
