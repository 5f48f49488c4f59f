/**
 * The `traffic` measurement: what every source's events become once the
 * traffic service has aggregated them, one point per minute and slice of
 * traffic (provider, sending IP, pool; campaign when configured). Each source
 * kind declares it (the same spec), so the series registry knows it and alert
 * rules can watch it.
 */
import type { FieldSpec, MeasurementSpec } from '../core/measurement.ts';
import { trafficOutcomes } from '../core/traffic.ts';
import { bounceClasses, bounceClassNames } from '../protocols/mail/bounce-class.ts';

const outcomeFields = Object.fromEntries(trafficOutcomes.map((outcome) => [outcome, { type: 'integer', description: `attempts ${outcome} in the minute` } satisfies FieldSpec]));
const classFields = Object.fromEntries(
  bounceClassNames.map((name) => [`class_${name}`, { type: 'integer', description: `attempts of bounce class ${name}: ${bounceClasses[name]}` } satisfies FieldSpec]),
);

export const trafficMeasurement = {
  description:
    "The platform's own traffic per minute and slice (provider, sending IP, pool; campaign when traffic.campaignTag is on), from the sources: attempts per outcome and bounce class, rates, delivery latency. A minute's point is written again while events for it still arrive.",
  tags: {
    provider: 'destination mailbox provider (gmail, outlook, yahoo, ...; other)',
    ip: 'sending IP (absent when the source does not say)',
    pool: 'IP pool (absent when the source does not say)',
    campaign: 'campaign (only with traffic.campaignTag)',
  },
  fields: {
    ...outcomeFields,
    ...classFields,
    attempts: { type: 'integer', description: 'delivered + deferred + bounced + expired in the minute (complaints are not attempts)' },
    delivery_rate: { type: 'float', unit: 'ratio', description: 'delivered / attempts' },
    deferral_rate: { type: 'float', unit: 'ratio', description: 'deferred / attempts' },
    bounce_rate: { type: 'float', unit: 'ratio', description: '(bounced + expired) / attempts' },
    complaint_rate: { type: 'float', unit: 'ratio', description: 'complained / delivered (absent with no deliveries)' },
    latency_avg_ms: { type: 'float', unit: 'ms', description: 'mean time from reception to delivery, where the source gives it' },
    latency_max_ms: { type: 'float', unit: 'ms', description: 'slowest delivery in the minute, where the source gives it' },
  },
} as const satisfies MeasurementSpec;

export const trafficMeasurements = { traffic: trafficMeasurement };
