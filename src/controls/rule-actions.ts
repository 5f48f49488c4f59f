/**
 * A rule's `action:` as send control: when its alert fires, a pause or throttle on
 * the scope made from the alert's tags; when it resolves, the lift after the
 * rule's cool-down (or none: "manual"). An adaptive throttle instead steps its rate
 * down while the alert fires and back up after (the control service's ticks). Handed to the alert engine, which calls it
 * inside the transaction that records the run.
 */
import type { AlertActions } from '../alerts/engine.ts';
import { summaryOf } from '../alerts/message.ts';
import { actionScope } from '../alerts/rules.ts';
import { MailscopeError } from '../core/errors.ts';
import type { ControlService } from './service.ts';

export function controlActions(controls: ControlService): AlertActions {
  return {
    fired(rule, alert) {
      const action = rule.action;
      if (!action) return;
      const scope = actionScope(action, alert.labels);
      if (typeof scope === 'string') throw new MailscopeError('ACTION_FAILED', `rule ${rule.id}: no control for alert ${alert.id}: ${scope}`);
      controls.alertFiredWithin({
        action: action.control,
        scope,
        ratePerMinute: action.rate,
        reason: `${rule.id}: ${summaryOf(rule, alert.labels, alert.lastValue)}`,
        source: `rule:${rule.id}`,
        actor: `rule:${rule.id}`,
        ruleId: rule.id,
        alertId: alert.id,
        keepUntilResumed: action.liftAfter === 'manual',
        ...(action.adaptive ? { adaptive: { everyMs: action.adaptive.every, down: action.adaptive.down, up: action.adaptive.up, floor: action.adaptive.floor } } : {}),
      });
    },
    resolved(rule, alert) {
      if (rule.action) controls.alertResolvedWithin(alert.id, rule.action.liftAfter);
    },
  };
}
