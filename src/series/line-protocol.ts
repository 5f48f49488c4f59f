import { Point } from '@influxdata/influxdb-client';
import { MailscopeError } from '../core/errors.ts';
import type { Observation } from '../core/observation.ts';
import type { MeasurementSpec } from './registry.ts';

/**
 * The InfluxDB line protocol of a validated observation, nanosecond precision.
 * Field types come from the registry, so an integer field is written as an
 * integer (`3i`) even when its value happens to be whole in a float field.
 * (src/measurements/ binds it to the app's registry: toLineProtocol.)
 */
export function lineProtocolOf(observation: Observation, spec: MeasurementSpec): string {
  const point = new Point(observation.measurement);
  for (const [tag, value] of Object.entries(observation.tags)) point.tag(tag, value);
  for (const [field, value] of Object.entries(observation.fields)) {
    const type = Object.hasOwn(spec.fields, field) ? spec.fields[field]!.type : undefined;
    if (type === 'integer') point.intField(field, value as number);
    else if (type === 'float') point.floatField(field, value as number);
    else if (type === 'boolean') point.booleanField(field, value as boolean);
    else point.stringField(field, value as string);
  }
  point.timestamp(observation.time);
  const line = point.toLineProtocol();
  if (line === undefined) {
    throw new MailscopeError('SERIES_INVALID', `observation of ${observation.measurement} has no fields`);
  }
  return line;
}
