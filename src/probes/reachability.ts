/**
 * The measurement tcp and http probes share: whether a network service
 * answers. Both kinds declare this one spec, so it is declared once.
 */
import type { MeasurementSpec } from '../core/measurement.ts';

export const reachability = {
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
} as const satisfies MeasurementSpec;
