/**
 * THE list of measurements: every tag and field Mailscope writes, with its type
 * and unit. record() checks each observation against it, alert rules are checked
 * against it at load time, and the dashboards query what it declares.
 */

export const fieldTypes = ['float', 'integer', 'boolean', 'string'] as const;
export type FieldType = (typeof fieldTypes)[number];

export interface FieldSpec {
  type: FieldType;
  unit?: string;
  description: string;
}

export interface MeasurementSpec {
  description: string;
  /** Tag name → description. Every measurement also carries the `probe` tag. */
  tags: Record<string, string>;
  fields: Record<string, FieldSpec>;
}

/** Tags every observation carries; the runner sets them, probes need not. */
export const commonTags = {
  probe: 'id of the probe definition that produced the observation',
} as const;

export const measurements = {
  probe_run: {
    description: 'One run of a probe: whether it could measure, and how long it took.',
    tags: { kind: 'probe kind (tcp, http, blacklist, ...)' },
    fields: {
      success: { type: 'boolean', description: 'true when the probe measured; false when it could not (see error_code)' },
      duration_ms: { type: 'float', unit: 'ms', description: 'wall time of the run' },
      observations: { type: 'integer', description: 'observations the run produced, this one excluded' },
      error_code: { type: 'string', description: 'UPPER_SNAKE code of the failure; absent on success' },
    },
  },
  reachability: {
    description: 'Whether a network service answers: a TCP port (and its banner) or an HTTP endpoint.',
    tags: {
      target: 'host:port or URL as configured',
      protocol: 'tcp | http',
    },
    fields: {
      status: { type: 'string', description: 'up | down | error (error: could not tell, e.g. the name did not resolve)' },
      up: { type: 'boolean', description: 'true when the service answered as expected; absent when status is error' },
      duration_ms: { type: 'float', unit: 'ms', description: 'connect (tcp) or full response (http) time' },
      status_code: { type: 'integer', description: 'HTTP status code' },
      banner: { type: 'string', description: 'first line the TCP service sent, when a banner was expected' },
      reason: { type: 'string', description: 'why the service counts as down, or the error, in words' },
      error_code: { type: 'string', description: 'UPPER_SNAKE code when status is error' },
    },
  },
} as const satisfies Record<string, MeasurementSpec>;

export type MeasurementName = keyof typeof measurements;

export function isMeasurementName(name: string): name is MeasurementName {
  return Object.hasOwn(measurements, name);
}

export function measurementSpec(name: string): MeasurementSpec | undefined {
  return isMeasurementName(name) ? measurements[name] : undefined;
}

export function tagNames(spec: MeasurementSpec): string[] {
  return [...Object.keys(commonTags), ...Object.keys(spec.tags)];
}
