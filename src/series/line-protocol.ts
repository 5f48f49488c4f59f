import { Point } from '@influxdata/influxdb-client';
import { MailscopeError } from '../core/errors.ts';
import type { Observation } from '../core/observation.ts';
import { measurements, type MeasurementName } from './registry.ts';

/**
 * The InfluxDB line protocol of a validated observation, nanosecond precision.
 * Field types come from the registry, so an integer field is written as an
 * integer (`3i`) even when its value happens to be whole in a float field.
 */
export function toLineProtocol(observation: Observation): string {
  const spec = measurements[observation.measurement as MeasurementName];
  const point = new Point(observation.measurement);
  for (const [tag, value] of Object.entries(observation.tags)) point.tag(tag, value);
  for (const [field, value] of Object.entries(observation.fields)) {
    const type = (spec.fields as Record<string, { type: string }>)[field]?.type;
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
