/**
 * Alert rules, as written beside the probes (`rules:` in a probe file): a
 * condition over one measurement's field, checked against the series registry at
 * load time, so a typo is a config error and not an alert that never fires.
 */
import { z } from 'zod';
import { severities } from '../core/alert-vocabulary.ts';
import { controlActionNames, type ControlAction } from '../core/control-vocabulary.ts';
import type { FieldValue } from '../core/observation.ts';
import { duration, identifier, longDuration, parseDuration } from '../core/schema.ts';
import { scopeKeyNames, scopeKeys, scopeValueProblem, type ScopeKey } from '../core/scope.ts';
import { orList } from '../core/text.ts';
import { commonTags, measurements, type FieldType, type MeasurementSpec } from '../measurements/index.ts';

const operators = ['==', '!=', '<', '<=', '>', '>='] as const;
export type Operator = (typeof operators)[number];

/** What a rule tests on each observation of its measurement. */
export type Condition =
  | { kind: 'threshold'; measurement: string; field: string; type: FieldType; op: Operator; value: FieldValue }
  /** A record differs from the previous run's: the store wrote a change observation (`into`) for the series. */
  | { kind: 'change'; measurement: string; into: string; field: string };

const builtins = {
  'probe failing': 'a run of the probe could not measure (probe_run.success == false); with for: N, N runs in a row',
  'record changed': 'a DNS authentication record differs from the previous run (a dns_auth_change observation)',
} as const;

/** What rules may watch: everything a probe observes. */
const measurementNames = Object.entries(measurements as Record<string, MeasurementSpec>)
  .filter(([, measured]) => !measured.writtenBy)
  .map(([name]) => name);
const spec = (name: string) => (measurements as Record<string, MeasurementSpec>)[name];
const tagsOf = (measurement: MeasurementSpec) => [...Object.keys(commonTags), ...Object.keys(measurement.tags)];

function parseValue(text: string, type: FieldType): FieldValue | string {
  if (type === 'integer' || type === 'float') {
    const number = Number(text);
    if (text.trim() === '' || !Number.isFinite(number)) return `expected a number to compare with, not ${text}`;
    if (type === 'integer' && !Number.isInteger(number)) return `expected a whole number (the field is an integer), not ${text}`;
    return number;
  }
  if (type === 'boolean') {
    if (text === 'true') return true;
    if (text === 'false') return false;
    return `expected true or false (the field is boolean), not ${text}`;
  }
  const quoted = /^(['"])(.*)\1$/.exec(text);
  return quoted ? quoted[2]! : text;
}

/** `measurement.field <op> value`, or a built-in; the reason it is wrong otherwise. */
export function compileCondition(text: string): Condition | string {
  const trimmed = text.trim();
  if (trimmed === 'probe failing') return { kind: 'threshold', measurement: 'probe_run', field: 'success', type: 'boolean', op: '==', value: false };
  if (trimmed === 'record changed') {
    const [measurement, changes] = Object.entries(measurements as Record<string, MeasurementSpec>).find(([, candidate]) => candidate.changes)!;
    return { kind: 'change', measurement, into: changes.changes!.into, field: changes.changes!.digest };
  }
  const match = /^([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)\s*([=!<>~]+)\s*(.+)$/i.exec(trimmed);
  if (!match) {
    return `"${text}" is not a condition: expected "measurement.field <op> value" (e.g. "blacklist.listed == true") or one of: ${Object.keys(builtins)
      .map((name) => `"${name}"`)
      .join(', ')}`;
  }
  const [, measurement, field, op, valueText] = match as unknown as [string, string, string, string, string];
  const measured = spec(measurement);
  if (!measured) return `unknown measurement "${measurement}" (expected one of: ${measurementNames.join(', ')})`;
  if (measured.writtenBy) return `${measurement} is written by ${measured.writtenBy}, not observed by a probe: a rule cannot watch it`;
  const fieldSpec = (measured.fields as Record<string, { type: FieldType }>)[field];
  if (!fieldSpec) return `${measurement} has no field "${field}" (fields: ${Object.keys(measured.fields).join(', ')})`;
  if (!(operators as readonly string[]).includes(op)) return `unknown operator "${op}" (expected one of: ${operators.join(' ')})`;
  const numeric = fieldSpec.type === 'integer' || fieldSpec.type === 'float';
  if (!numeric && op !== '==' && op !== '!=') return `${measurement}.${field} is ${fieldSpec.type === 'string' ? 'a string' : 'a boolean'}: compare it with == or !=, not ${op}`;
  const value = parseValue(valueText.trim(), fieldSpec.type);
  if (typeof value === 'string' && fieldSpec.type !== 'string') return `${measurement}.${field}: ${value}`;
  return { kind: 'threshold', measurement, field, type: fieldSpec.type, op: op as Operator, value };
}

/** A `for:` of N runs in a row, or of a duration the condition must hold. */
export type ForSpec = { runs: number } | { ms: number };

const forSpec = z.union([z.number(), z.string()]).transform((value, ctx): ForSpec => {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 1) return { runs: value };
    ctx.addIssue({ code: 'custom', message: `expected a number of runs (1 or more) or a duration (10m), not ${value}` });
    return z.NEVER;
  }
  const ms = parseDuration(value);
  if (ms !== undefined && ms > 0) return { ms };
  ctx.addIssue({ code: 'custom', message: `"${value}" is neither a number of runs (3) nor a duration (500ms, 30s, 5m, 1h, 7d)` });
  return z.NEVER;
});

const placeholders = (text: string) => [...text.matchAll(/\{([^}]*)\}/g)].map((match) => match[1]!);

/** What each control does, as a rule's author reads it. */
const controlMeanings: Record<ControlAction, string> = { pause: "hold the scope's mail", throttle: 'at most `rate` messages a minute' };

/**
 * What a firing alert does at the routing engine: a pause or a throttle on a scope
 * made from the alert's tags ({target}), lifted a while after it resolves, or kept
 * until a person resumes it.
 */
const ActionSchema = z
  .strictObject({
    control: z.enum(controlActionNames).describe(orList(controlActionNames.map((action) => `${action} (${controlMeanings[action]})`))),
    rate: z.number().int().nonnegative().optional().describe('throttle only: messages per minute, 0 or more'),
    scope: z.record(z.string(), z.string().min(1)).describe(`what to control: ${scopeKeyNames.join(', ')}; values may use the alert's tags, e.g. { ip: "{target}" }`),
    liftAfter: z
      .string()
      .transform((text, ctx): number | 'manual' => {
        if (text === 'manual') return 'manual';
        const ms = parseDuration(text);
        if (ms !== undefined) return ms;
        ctx.addIssue({ code: 'custom', message: `"${text}" is neither "manual" nor a duration (500ms, 30s, 5m, 1h, 7d)` });
        return z.NEVER;
      })
      .default(15 * 60_000)
      .describe('cool-down: lift this long after the alert resolves (unless it fires again), or "manual" to keep the control until a person resumes it (default 15m)'),
    adaptive: z
      .strictObject({
        every: duration.prefault('5m').describe('a step every this long'),
        down: z.number().gt(0).lt(1).default(0.5).describe('while the alert fires, the rate is multiplied by this at each step (down to floor)'),
        up: z.number().gt(1).max(10).default(1.1).describe('once it resolves, the rate is multiplied by this at each step; back at the ceiling, the throttle lifts'),
        floor: z.int().min(0).default(10).describe('messages per minute it never goes below'),
      })
      .optional()
      .describe(
        "throttle only: the rate follows the traffic. It starts at the scope's observed send rate (traffic over the last `every`; `rate` when none is known) times `down`, steps down while the alert fires, steps back up once it resolves, and lifts at the observed rate (liftAfter: manual keeps it there)",
      ),
  })
  .superRefine((action, ctx) => {
    if (action.control === 'throttle' && action.rate === undefined && !action.adaptive) ctx.addIssue({ code: 'custom', path: ['rate'], message: 'a throttle needs a rate: messages per minute' });
    if (action.control === 'pause' && action.rate !== undefined) ctx.addIssue({ code: 'custom', path: ['rate'], message: 'a pause has no rate (use control: throttle)' });
    if (action.control === 'pause' && action.adaptive !== undefined) ctx.addIssue({ code: 'custom', path: ['adaptive'], message: 'only a throttle adapts its rate (use control: throttle)' });
    if (action.adaptive && action.rate !== undefined && action.rate < action.adaptive.floor)
      ctx.addIssue({ code: 'custom', path: ['rate'], message: `below adaptive.floor (${action.adaptive.floor})` });
    const keys = Object.keys(action.scope);
    if (keys.length === 0) ctx.addIssue({ code: 'custom', path: ['scope'], message: `a scope needs at least one of: ${scopeKeyNames.join(', ')}` });
    for (const [key, template] of Object.entries(action.scope)) {
      if (!Object.hasOwn(scopeKeys, key)) {
        ctx.addIssue({ code: 'custom', path: ['scope', key], message: `unknown scope key "${key}" (expected one of: ${scopeKeyNames.join(', ')})` });
        continue;
      }
      // A fixed value is checked now; one made from tags, when the alert fires.
      const problem = placeholders(template).length === 0 ? scopeValueProblem(key as ScopeKey, template) : undefined;
      if (problem) ctx.addIssue({ code: 'custom', path: ['scope', key], message: problem });
    }
  });

export type RuleAction = z.output<typeof ActionSchema>;

/** The action's scope for one alert: each {tag} replaced by the alert's tag; the reason it cannot be made otherwise. */
export function actionScope(action: RuleAction, labels: Record<string, string>): Partial<Record<ScopeKey, string>> | string {
  const scope: Partial<Record<ScopeKey, string>> = {};
  for (const [key, template] of Object.entries(action.scope) as [ScopeKey, string][]) {
    const missing = placeholders(template).filter((name) => !labels[name]);
    if (missing.length > 0) return `${key}: the alert has no ${missing.map((name) => `"${name}"`).join(', ')} tag`;
    const value = template.replace(/\{([^}]*)\}/g, (_whole, name: string) => labels[name]!);
    const problem = scopeValueProblem(key, value);
    if (problem) return `${key}: ${problem}`;
    scope[key] = value;
  }
  return scope;
}

const tagValues = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((value) => [value].flat());

export const RuleSchema = z
  .strictObject({
    id: identifier.describe('unique across all rule files; alerts and notifications name it'),
    description: z.string().optional().describe('what it means and what to do: shown in every notification'),
    condition: z
      .string()
      .min(1)
      .describe(`"measurement.field <op> value" (ops: ${operators.join(' ')}; fields and types from the series registry), or "probe failing", or "record changed"`),
    where: z.record(z.string(), tagValues).default({}).describe('tag filters: tag → value or list of values (any of); e.g. { provider: gmail }'),
    minimum: z
      .record(z.string(), z.number().nonnegative())
      .default({})
      .describe(
        'evidence it needs: numeric fields of the same observation and their least values, e.g. { attempts: 50 }; an observation with less (or without the field) does not hold the condition: one deferral in a quiet minute is no deferral rate (a minute of traffic still being counted changes nothing until it is over)',
      ),
    for: forSpec.prefault(1).describe('how long the condition must hold before it fires: N runs in a row (3), or a duration (10m)'),
    severity: z.enum(severities).default('warning').describe(orList(severities)),
    labels: z.record(z.string(), z.string()).default({}).describe('extra labels carried into notifications (team, runbook, ...)'),
    notify: z.array(identifier).default([]).describe('notifier ids (from `notifiers:` in the instance file)'),
    renotify: longDuration.optional().describe('repeat a firing, unacknowledged alert this often; default alerts.renotify'),
    notifyResolved: z.boolean().optional().describe('send a message when it resolves; default true ("record changed": false)'),
    summary: z.string().min(1).optional().describe('one line for people; {tag} and {value} are replaced, e.g. "{target} listed on {list}"'),
    action: ActionSchema.optional().describe(
      `send control while the alert fires: { control: ${controlActionNames.join('|')}, rate, scope: { ip: "{target}" }, liftAfter: 15m|manual, adaptive: { every, down, up, floor } }`,
    ),
  })
  .transform((rule, ctx) => {
    const compiled = compileCondition(rule.condition);
    if (typeof compiled === 'string') {
      ctx.addIssue({ code: 'custom', path: ['condition'], message: compiled });
      return z.NEVER;
    }
    const measured = spec(compiled.measurement)!;
    const tags = tagsOf(measured);
    for (const tag of Object.keys(rule.where)) {
      if (!tags.includes(tag)) ctx.addIssue({ code: 'custom', path: ['where', tag], message: `${compiled.measurement} has no tag "${tag}" (tags: ${tags.join(', ')})` });
    }
    for (const field of Object.keys(rule.minimum)) {
      const type = measured.fields[field]?.type;
      if (compiled.kind !== 'threshold') ctx.addIssue({ code: 'custom', path: ['minimum'], message: 'only a threshold condition ("measurement.field <op> value") takes a minimum' });
      else if (type !== 'integer' && type !== 'float') {
        const numeric = Object.entries(measured.fields)
          .filter(([, field]) => field.type === 'integer' || field.type === 'float')
          .map(([name]) => name);
        ctx.addIssue({ code: 'custom', path: ['minimum', field], message: `${compiled.measurement} has no numeric field "${field}" (numeric fields: ${numeric.join(', ')})` });
      }
    }
    for (const name of placeholders(rule.summary ?? '')) {
      if (name !== 'value' && !tags.includes(name)) {
        ctx.addIssue({ code: 'custom', path: ['summary'], message: `{${name}}: ${compiled.measurement} has no tag "${name}" (use {value} or a tag: ${tags.join(', ')})` });
      }
    }
    for (const [key, template] of Object.entries(rule.action?.scope ?? {})) {
      if (!Object.hasOwn(scopeKeys, key)) continue;
      for (const name of placeholders(template)) {
        if (!tags.includes(name)) ctx.addIssue({ code: 'custom', path: ['action', 'scope', key], message: `{${name}}: ${compiled.measurement} has no tag "${name}" (tags: ${tags.join(', ')})` });
      }
    }
    return { ...rule, compiled, notifyResolved: rule.notifyResolved ?? compiled.kind !== 'change' };
  });

export type Rule = z.output<typeof RuleSchema>;

/** true / false when the observation's field says so; undefined when it lacks the field (an error: unknown, never clean). */
/** The observation has the evidence the rule's `minimum` asks for. */
export function meetsMinimum(rule: Rule, observation: { fields: Readonly<Record<string, FieldValue>> }): boolean {
  for (const [field, least] of Object.entries(rule.minimum)) {
    const value = observation.fields[field];
    if (typeof value !== 'number' || value < least) return false;
  }
  return true;
}

export function holds(condition: Condition & { kind: 'threshold' }, value: FieldValue | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const target = condition.value;
  switch (condition.op) {
    case '==':
      return value === target;
    case '!=':
      return value !== target;
    case '<':
      return (value as number) < (target as number);
    case '<=':
      return (value as number) <= (target as number);
    case '>':
      return (value as number) > (target as number);
    case '>=':
      return (value as number) >= (target as number);
  }
}

/** The rule's tag filters accept these tags. */
export function matchesWhere(rule: Pick<Rule, 'where'>, tags: Record<string, string>): boolean {
  return Object.entries(rule.where).every(([tag, values]) => tags[tag] !== undefined && values.includes(tags[tag]));
}

/** The condition as people read it: `blacklist.listed == true`. */
export function describeCondition(condition: Condition): string {
  if (condition.kind === 'change') return `${condition.measurement} record changed`;
  const value = typeof condition.value === 'string' ? `"${condition.value}"` : String(condition.value);
  return `${condition.measurement}.${condition.field} ${condition.op} ${value}`;
}
