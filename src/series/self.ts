/**
 * The measurements Mailscope writes about itself rather than a probe kind:
 * `probe_run` (record() writes one per run of any kind), `alert` (the alert
 * engine) and `control` (the control service). They are declared here, in one
 * place, rather than beside their writers: those live above the store, which
 * checks every point against the registry, so declaring them there would make
 * the registry depend on its own users. Each kind's measurements are declared in
 * the kind's file; the series registry is composed from both (src/measurements/).
 */
import type { MeasurementSpec } from '../core/measurement.ts';

export const selfMeasurements = {
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
  alert: {
    description:
      'The state of each alert instance, written by the alert engine (not a probe): at every evaluation while pending or firing, and at every change of state, so the latest point of an alert is its state.',
    writtenBy: 'the alert engine',
    tags: {
      rule: 'id of the alert rule',
      alert: 'id of the alert instance (GET /v1/alerts/:id)',
      severity: 'critical | warning | info',
    },
    fields: {
      state: { type: 'string', description: 'pending | firing | resolved | inactive' },
      firing: { type: 'boolean', description: 'true while the alert fires' },
      acknowledged: { type: 'boolean', description: 'someone acknowledged it (POST /v1/alerts/:id/ack); reminders stop' },
      silenced: { type: 'boolean', description: 'a silence matches it: notifications are held back' },
      flapping: { type: 'boolean', description: 'it changed state too often within alerts.flap.window: notifications are held back' },
      summary: { type: 'string', description: "one line for people: the rule's summary with the series filled in" },
      value: { type: 'string', description: 'the value last observed, as text (a number, true/false, or a record)' },
    },
  },
  control: {
    description:
      'Each send control (a pause or a throttle), written by the control service (not a probe): when it is created, changed or lifted, when its held mail is released, and every minute while it is active. One series per action and scope, whichever control holds it, so the latest point of a series is the state of that slice of traffic.',
    writtenBy: 'the control service',
    tags: {
      action: 'pause | throttle',
      scope: 'what it applies to, e.g. "ip=192.0.2.11 rcpt_domain=gmail.com"',
    },
    fields: {
      control: { type: 'string', description: 'id of the control (GET /v1/controls/:id)' },
      source: { type: 'string', description: 'rule:<id> (an alert rule), token:<name> (a person, by API token) or cli:<user> (a person, at the command line)' },
      active: { type: 'boolean', description: 'true until the control is lifted or expires' },
      reason: { type: 'string', description: 'why, as its maker said (a rule: its summary)' },
      rate_per_minute: { type: 'integer', unit: 'messages/min', description: 'a throttle: messages per minute for the whole scope' },
      held: { type: 'integer', description: 'messages a Postfix policy service held for it and not yet released' },
      released: { type: 'integer', description: 'messages held for it and released since' },
      push_failed: { type: 'boolean', description: 'a push to a platform gave up: that platform may not have applied (or lifted) it' },
    },
  },
} as const satisfies Record<string, MeasurementSpec>;
