/**
 * The rules engine: after each run (inside record()'s transaction) every rule is
 * evaluated on the run's observations, one alert instance per series; state
 * changes and the notifications they call for are written together. A timer
 * re-checks firing alerts for reminders, silences that ended and flapping that
 * stopped. Delivery is the dispatcher's, never in the way of a probe.
 */
import { alone, type Duty } from '../core/duty.ts';
import type { Clock } from '../core/clock.ts';
import { MailscopeError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { FieldValue, Observation } from '../core/observation.ts';
import { alertId, alertsToReview, enqueueNotification, getAlert, listSilences, saveAlert, seriesKey, type AlertRow, type SilenceRow } from '../store/alerts.ts';
import type { Database } from '../store/database.ts';
import { recordPoint } from '../store/record.ts';
import { buildNotification, detailsOf, summaryOf } from './message.ts';
import { holds, matchesWhere, meetsMinimum, type Rule } from './rules.ts';
import { due, initialState, notified, settle, step, type FlapSettings, type InstanceState } from './state.ts';

export interface AlertSettings {
  intervalMs: number;
  renotifyMs: number;
  flap: FlapSettings;
  externalUrl?: string | undefined;
  dashboardUrl?: string | undefined;
}

/** The labels a silence matches: the series' tags, the rule's labels, `rule` and `severity`. */
export function silenceLabels(alert: Pick<AlertRow, 'labels' | 'ruleId' | 'severity'>, rule: Pick<Rule, 'labels'> | undefined): Record<string, string> {
  return { ...alert.labels, ...rule?.labels, rule: alert.ruleId, severity: alert.severity };
}

export function silenced(silences: readonly SilenceRow[], labels: Record<string, string>): boolean {
  return silences.some((silence) => Object.entries(silence.matchers).every(([name, value]) => labels[name] === value));
}

/**
 * What a rule's `action` does (send control), called inside the evaluation's
 * transaction when its alert starts and stops firing. A failure is logged and
 * undone; the alert and its notifications go on.
 */
export interface AlertActions {
  fired(rule: Rule, alert: AlertRow): void;
  resolved(rule: Rule, alert: AlertRow): void;
}

export class AlertEngine {
  readonly #db: Database;
  readonly #duty: Duty;
  readonly #rules: ReadonlyMap<string, Rule>;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #settings: AlertSettings;
  readonly #onQueued: () => void;
  readonly #actions: AlertActions | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: { db: Database; rules: readonly Rule[]; clock: Clock; log: Logger; settings: AlertSettings; onQueued?: () => void; actions?: AlertActions; duty?: Duty }) {
    this.#db = options.db;
    this.#duty = options.duty ?? alone;
    this.#rules = new Map(options.rules.map((rule) => [rule.id, rule]));
    this.#clock = options.clock;
    this.#log = options.log.child({ component: 'alerts' });
    this.#settings = options.settings;
    this.#onQueued = options.onQueued ?? (() => {});
    this.#actions = options.actions;
  }

  get rules(): readonly Rule[] {
    return [...this.#rules.values()];
  }

  rule(id: string): Rule | undefined {
    return this.#rules.get(id);
  }

  /**
   * Evaluate every rule on one run's observations. Call inside the transaction that records them.
   * A `provisional` observation (a minute of traffic still being counted) that lacks the evidence a
   * rule's `minimum` asks for changes nothing: ten seconds into a minute is no evidence either way.
   */
  evaluate(observations: readonly Observation[], options: { provisional?: (observation: Observation) => boolean } = {}): void {
    const now = this.#clock.now().getTime();
    const silences = listSilences(this.#db, { activeAt: now });
    let queued = 0;
    for (const rule of this.#rules.values()) {
      const condition = rule.compiled;
      const changes = condition.kind === 'change' ? new Map(observations.filter((o) => o.measurement === condition.into).map((o) => [seriesKey(o.tags), o])) : undefined;
      for (const observation of observations) {
        if (observation.measurement !== condition.measurement || !matchesWhere(rule, observation.tags)) continue;
        const series = seriesKey(observation.tags);
        let result: boolean | undefined;
        let value: FieldValue | undefined;
        let change: Observation | undefined;
        if (condition.kind === 'threshold') {
          value = observation.fields[condition.field];
          result = holds(condition, value);
          // Too little evidence: a quiet minute does not hold the condition; a minute still being counted says nothing yet.
          if (result !== undefined && !meetsMinimum(rule, observation)) result = options.provisional?.(observation) ? undefined : false;
        } else {
          // No digest: the check failed, so whether the record changed is unknown.
          change = changes!.get(series);
          result = observation.fields[condition.field] === undefined ? undefined : change !== undefined;
          value = change ? String(change.fields.new_record ?? '') : undefined;
        }
        if (result === undefined) continue;
        queued += this.#apply(rule, series, observation.tags, now, silences, (machine) => step(machine, result, now, rule.for, this.#settings.flap), {
          value,
          ...(result ? { details: detailsOf(observation, change) } : {}),
          evaluated: true,
        });
      }
    }
    if (queued > 0) queueMicrotask(this.#onQueued);
  }

  /** Reminders, silences that ended, flapping that stopped: what time alone changes. */
  tick(): void {
    // In a cluster, the lease's holder re-checks the alerts (reminders, ended silences, flapping).
    if (!this.#duty.active()) return;
    const now = this.#clock.now().getTime();
    let queued = 0;
    this.#db.transaction(() => {
      this.#duty.fence();
      const silences = listSilences(this.#db, { activeAt: now });
      for (const alert of alertsToReview(this.#db)) {
        const rule = this.#rules.get(alert.ruleId);
        // A rule removed from the config: its alerts stay as they were, and say nothing more.
        if (!rule) continue;
        queued += this.#apply(rule, alert.series, alert.labels, now, silences, (machine) => settle(machine, now, this.#settings.flap), {});
      }
    });
    if (queued > 0) this.#onQueued();
  }

  acknowledge(id: string, by: string, comment: string | undefined): AlertRow {
    return this.#db.transaction(() => {
      const alert = getAlert(this.#db, id);
      if (!alert) throw new MailscopeError('ALERT_NOT_FOUND', `no alert "${id}"`);
      if (alert.state !== 'firing') throw new MailscopeError('ALERT_NOT_FIRING', `alert "${id}" is ${alert.state}: only a firing alert can be acknowledged`);
      const now = this.#clock.now().getTime();
      const machine = { ...(alert.machine as unknown as InstanceState), ackedBy: by, ackedAt: now, ...(comment ? { ackComment: comment } : {}) };
      const updated = { ...alert, machine: machine as unknown as AlertRow['machine'], updatedAt: now };
      saveAlert(this.#db, updated);
      const rule = this.#rules.get(alert.ruleId);
      if (rule) this.#point(rule, updated, machine, silenced(listSilences(this.#db, { activeAt: now }), silenceLabels(updated, rule)), now);
      this.#log.info({ alert: id, rule: alert.ruleId, by }, 'alert acknowledged');
      return updated;
    });
  }

  start(): void {
    this.#timer ??= setInterval(() => {
      try {
        this.tick();
      } catch (error) {
        this.#log.error({ err: error }, 'alert tick failed');
      }
    }, this.#settings.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One instance: the new state, saved, and the notification it calls for queued per channel. Returns how many were queued. */
  #apply(
    rule: Rule,
    series: string,
    tags: Record<string, string>,
    now: number,
    silences: readonly SilenceRow[],
    next: (machine: InstanceState) => InstanceState,
    seen: { value?: FieldValue | undefined; details?: Record<string, string>; evaluated?: boolean },
  ): number {
    const id = alertId(rule.id, series);
    const existing = getAlert(this.#db, id);
    const before = existing ? (existing.machine as unknown as InstanceState) : initialState();
    let machine = next(before);
    const alert: AlertRow = {
      id,
      ruleId: rule.id,
      series,
      labels: existing?.labels ?? tags,
      severity: rule.severity,
      state: machine.state,
      machine: machine as unknown as AlertRow['machine'],
      ...(seen.value !== undefined ? { lastValue: seen.value } : existing?.lastValue !== undefined ? { lastValue: existing.lastValue } : {}),
      details: seen.details ?? existing?.details ?? {},
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    // An instance that never left inactive is not worth a row.
    if (!existing && machine.state === 'inactive') return 0;
    if (rule.action && before.state !== machine.state && (before.state === 'firing' || machine.state === 'firing')) this.#act(rule, alert, machine.state === 'firing' ? 'fired' : 'resolved');
    const isSilenced = silenced(silences, silenceLabels(alert, rule));
    const event = due(machine, now, {
      renotifyMs: rule.renotify ?? this.#settings.renotifyMs,
      notifyResolved: rule.notifyResolved,
      silenced: isSilenced,
    });
    let queued = 0;
    if (event) {
      machine = notified(machine, event, now);
      if (event !== 'quiet') {
        const payload = buildNotification(rule, alert, machine, event, now, this.#settings);
        for (const channel of rule.notify) enqueueNotification(this.#db, { alertId: id, channel, event, payload: payload as unknown as Record<string, unknown>, at: now });
        queued = rule.notify.length;
        this.#log.info({ alert: id, rule: rule.id, event, channels: rule.notify }, 'alert notification queued');
      }
    }
    // The series: each evaluation of a live alert, and every change of state (a resolve, or the end of a silence seen by the timer).
    if (before.state !== machine.state || (seen.evaluated && machine.state !== 'inactive')) this.#point(rule, alert, machine, isSilenced, now);
    if (existing && JSON.stringify(before) === JSON.stringify(machine) && (seen.value === undefined || seen.value === existing.lastValue) && seen.details === undefined) return queued;
    saveAlert(this.#db, { ...alert, state: machine.state, machine: machine as unknown as AlertRow['machine'] });
    if (before.state !== machine.state) this.#log.info({ alert: id, rule: rule.id, from: before.state, to: machine.state }, 'alert state changed');
    return queued;
  }

  /** The rule's action, in a savepoint: its writes or none, and the evaluation goes on. Silences and acks mute messages, not actions. */
  #act(rule: Rule, alert: AlertRow, event: 'fired' | 'resolved'): void {
    if (!this.#actions) return;
    try {
      this.#db.savepoint(() => this.#actions![event](rule, alert));
    } catch (error) {
      this.#log.error({ err: error, alert: alert.id, rule: rule.id, event }, "the rule's action failed");
    }
  }

  /** The alert's state as a point of the `alert` measurement, in the same transaction. */
  #point(rule: Rule, alert: AlertRow, machine: InstanceState, isSilenced: boolean, now: number): void {
    recordPoint(this.#db, {
      measurement: 'alert',
      tags: { rule: rule.id, alert: alert.id, severity: rule.severity, ...(alert.labels.probe ? { probe: alert.labels.probe } : {}) },
      fields: {
        state: machine.state,
        firing: machine.state === 'firing',
        acknowledged: machine.ackedBy !== undefined,
        silenced: isSilenced,
        flapping: machine.flapping,
        summary: summaryOf(rule, alert.labels, alert.lastValue).slice(0, 1_000),
        ...(alert.lastValue !== undefined ? { value: String(alert.lastValue).slice(0, 1_000) } : {}),
      },
      time: new Date(now),
    });
  }
}
