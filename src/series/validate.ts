import { maxStringFieldLength, type Observation } from '../core/observation.ts';
import { commonTags, specIn, type FieldType, type Measurements } from './registry.ts';

export { maxStringFieldLength };

function typeMismatch(type: FieldType, value: unknown): string | undefined {
  switch (type) {
    case 'float':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : 'expected a finite number';
    case 'integer':
      return typeof value === 'number' && Number.isSafeInteger(value) ? undefined : 'expected an integer';
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'expected a boolean';
    case 'string':
      if (typeof value !== 'string') return 'expected a string';
      return value.length <= maxStringFieldLength ? undefined : `longer than ${maxStringFieldLength} characters`;
  }
}

/**
 * What is wrong with an observation against a series registry; empty when it
 * may be recorded. A non-empty answer is a bug in the probe that produced it.
 * (src/measurements/ binds it to the app's registry: observationProblems.)
 */
export function observationProblemsIn(registry: Measurements, observation: Observation): string[] {
  const { measurement } = observation;
  const spec = specIn(registry, measurement);
  if (!spec) return [`unknown measurement "${measurement}"`];
  const problems: string[] = [];
  for (const [tag, value] of Object.entries(observation.tags)) {
    if (!Object.hasOwn(spec.tags, tag) && !Object.hasOwn(commonTags, tag)) {
      problems.push(`${measurement}: unknown tag "${tag}"`);
    } else if (typeof value !== 'string' || value === '') {
      problems.push(`${measurement}: tag "${tag}" must be a non-empty string`);
    }
  }
  const fields = Object.entries(observation.fields);
  if (fields.length === 0) problems.push(`${measurement}: no fields`);
  for (const [field, value] of fields) {
    const fieldSpec = Object.hasOwn(spec.fields, field) ? spec.fields[field] : undefined;
    if (!fieldSpec) {
      problems.push(`${measurement}: unknown field "${field}"`);
      continue;
    }
    const mismatch = typeMismatch(fieldSpec.type, value);
    if (mismatch) problems.push(`${measurement}.${field}: ${mismatch} (${fieldSpec.type}), got ${JSON.stringify(value)}`);
  }
  if (!(observation.time instanceof Date) || Number.isNaN(observation.time.getTime())) {
    problems.push(`${measurement}: time is not a valid Date`);
  }
  return problems;
}
