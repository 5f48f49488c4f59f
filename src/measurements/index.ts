/**
 * The series registry of this build: Mailscope's own measurements
 * (series/self.ts) and those each probe and source kind declares in its file, composed
 * once. series/ holds how a registry is checked and written and may not import
 * the kinds; this module sees both, and everything that needs the registry
 * (record(), the alert rules, the API, the docs) reads it from here.
 */
import { MailscopeError } from '../core/errors.ts';
import type { Observation } from '../core/observation.ts';
import { probes } from '../probes/index.ts';
import { sources } from '../sources/index.ts';
import { lineProtocolOf } from '../series/line-protocol.ts';
import { composeSeriesRegistry, specIn, type MeasurementSpec } from '../series/registry.ts';
import { selfMeasurements } from '../series/self.ts';
import { observationProblemsIn } from '../series/validate.ts';

export { commonTags, fieldTypes, tagNames, type FieldSpec, type FieldType, type MeasurementSpec } from '../series/registry.ts';
export { maxStringFieldLength } from '../series/validate.ts';

/** Every measurement Mailscope writes: tags, typed fields, units, state. */
export const measurements = composeSeriesRegistry(selfMeasurements, [...probes, ...sources]);

export type MeasurementName = keyof typeof measurements & string;

export function measurementSpec(name: string): MeasurementSpec | undefined {
  return specIn(measurements, name);
}

/**
 * What is wrong with an observation against the series registry; empty when it
 * may be recorded. A non-empty answer is a bug in the probe that produced it.
 */
export function observationProblems(observation: Observation): string[] {
  return observationProblemsIn(measurements, observation);
}

/** The InfluxDB line protocol of an observation that passed observationProblems. */
export function toLineProtocol(observation: Observation): string {
  const spec = measurementSpec(observation.measurement);
  if (!spec) throw new MailscopeError('SERIES_INVALID', `unknown measurement "${observation.measurement}"`);
  return lineProtocolOf(observation, spec);
}
