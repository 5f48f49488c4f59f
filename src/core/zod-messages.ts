import type { z } from 'zod';
import { shownText } from './text.ts';

/** `probes[1].schedule`; a key that is not a plain name is quoted: `codes["10.0.0.2"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (!/^[A-Za-z_$][\w$-]{0,59}$/.test(String(segment))) text += `["${shownText(String(segment)).replaceAll('"', '\\"')}"]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `"${shownText(value)}"`;
  return String(value);
}

const typeNames: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
};

type RawIssue = z.core.$ZodRawIssue;

function shapeKeys(issue: RawIssue): string[] {
  const def = (issue.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def;
  return def?.shape ? Object.keys(def.shape) : [];
}

/**
 * zod's messages, reworded for people editing YAML or calling the API: what was found and what was
 * expected. Values are quoted, except where the schema is a secret (those
 * schemas give their own messages and never echo the input).
 */
export const errorMap = (issue: RawIssue): string | undefined => {
  switch (issue.code) {
    case 'unrecognized_keys': {
      const shownKeys = issue.keys.slice(0, 5).map((key) => `"${shownText(key)}"`);
      const keys = `${shownKeys.join(', ')}${issue.keys.length > 5 ? ` and ${issue.keys.length - 5} more` : ''}`;
      const allowed = shapeKeys(issue);
      const expected = allowed.length > 0 ? ` (expected one of: ${allowed.join(', ')})` : '';
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${keys}${expected}`;
    }
    case 'invalid_union':
      if ('discriminator' in issue && issue.discriminator) {
        const options = ((issue as { options?: unknown[] }).options ?? []).map(String).join(', ');
        const value = (issue.input as Record<string, unknown> | undefined)?.[String(issue.discriminator)];
        if (value === undefined) return `required: expected one of: ${options}`;
        return `unknown ${String(issue.discriminator)} ${describeValue(value)} (expected one of: ${options})`;
      }
      return undefined;
    case 'invalid_type': {
      const expected = typeNames[issue.expected] ?? issue.expected;
      if (issue.input === undefined) return `required: expected ${expected}`;
      return `expected ${expected}, got ${describeValue(issue.input)}`;
    }
    case 'invalid_key': {
      const inner = (issue as { issues?: { message?: string }[] }).issues?.[0]?.message;
      return `key ${describeValue(issue.input)}: ${inner ?? 'not allowed here'}`;
    }
    case 'invalid_value':
      return `expected one of: ${issue.values.map(String).join(', ')}; got ${describeValue(issue.input)}`;
    case 'too_small':
      if (issue.origin === 'array') return `expected at least ${String(issue.minimum)} item${issue.minimum === 1 ? '' : 's'}`;
      if (issue.origin === 'string') return issue.minimum === 1 ? 'must not be empty' : `expected at least ${String(issue.minimum)} characters`;
      return `expected ${issue.inclusive ? 'at least' : 'more than'} ${String(issue.minimum)}, got ${describeValue(issue.input)}`;
    case 'too_big':
      if (issue.origin === 'array') return `expected at most ${String(issue.maximum)} items`;
      if (issue.origin === 'string') return `expected at most ${String(issue.maximum)} characters`;
      return `expected ${issue.inclusive ? 'at most' : 'less than'} ${String(issue.maximum)}, got ${describeValue(issue.input)}`;
    default:
      return undefined;
  }
};
