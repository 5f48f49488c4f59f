/**
 * What the Postfix policy service answers, per recipient (RCPT) and at the end of
 * the message: HOLD for a paused scope (the message waits in Postfix's hold
 * queue: nothing is lost), DEFER_IF_PERMIT when a throttle's rate is spent, DUNNO
 * otherwise. The scope comes from the request: `policy_context` (set per
 * submission service: "ip=192.0.2.11 pool=b tenant=acme"), the sender's and the
 * recipient's domains. At the end of the message Postfix sends the queue id:
 * a held message is recorded with the control that held it, so lifting that
 * control releases exactly it.
 */
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { describeScope, scopeKeyNames, type Traffic } from '../core/scope.ts';
import { queueIdPattern, type PolicyRequest } from '../platforms/postfix-policy.ts';
import type { Database } from '../store/database.ts';
import { recordHeld } from '../store/controls.ts';
import { pauseOf, type ControlService } from './service.ts';

const domainOf = (address: string | undefined) => {
  const at = address?.lastIndexOf('@') ?? -1;
  return at >= 0 ? address!.slice(at + 1) : undefined;
};

/** The traffic a request describes. */
export function trafficOf(request: PolicyRequest): Traffic {
  const traffic: Traffic = {};
  for (const pair of (request.policy_context ?? '').split(/[\s,;]+/)) {
    const equals = pair.indexOf('=');
    if (equals <= 0) continue;
    const key = pair.slice(0, equals);
    if ((scopeKeyNames as string[]).includes(key)) traffic[key as keyof Traffic] = pair.slice(equals + 1);
  }
  const from = domainOf(request.sender);
  if (from && traffic.from_domain === undefined) traffic.from_domain = from;
  const to = domainOf(request.recipient);
  if (to && traffic.rcpt_domain === undefined) traffic.rcpt_domain = to;
  return traffic;
}

/** Messages held at RCPT, waiting for their queue id (END-OF-MESSAGE): by Postfix's `instance`. */
const maxPending = 10_000;

export function postfixPolicyAnswers(options: { platformId: string; controls: ControlService; db: Database; clock: Clock; log: Logger; onHeldAfterLift?: () => void }) {
  const { controls, db, clock, platformId } = options;
  const log = options.log.child({ component: 'postfix-policy', platform: platformId });
  const heldInstances = new Map<string, { controlId: string; traffic: Traffic }>();
  return {
    answer(request: PolicyRequest): string {
      const state = request.protocol_state ?? '';
      if (state === 'END-OF-MESSAGE') {
        const held = request.instance ? heldInstances.get(request.instance) : undefined;
        if (held && request.queue_id) {
          heldInstances.delete(request.instance!);
          if (!queueIdPattern.test(request.queue_id)) {
            log.warn({ queueId: request.queue_id.slice(0, 40), control: held.controlId }, 'a held message came with a queue id that is not Postfix\'s: not recorded');
            return 'DUNNO';
          }
          recordHeld(db, { platform: platformId, queueId: request.queue_id, controlId: held.controlId, traffic: held.traffic, heldAt: clock.now().getTime() });
          log.info({ queueId: request.queue_id, control: held.controlId }, 'message held');
          // Lifted between RCPT and the end of the message: release it now, not at the next change.
          if (!controls.isActive(held.controlId)) options.onHeldAfterLift?.();
        }
        return 'DUNNO';
      }
      if (state !== 'RCPT') return 'DUNNO';
      const traffic = trafficOf(request);
      const decision = controls.decide(traffic, { consume: true });
      const control = pauseOf(decision);
      if (control) {
        if (request.instance) {
          if (heldInstances.size >= maxPending) heldInstances.delete(heldInstances.keys().next().value!);
          heldInstances.set(request.instance, { controlId: control.id, traffic });
        }
        return `HOLD paused by Mailscope (${describeScope(control.scope)}): ${control.reason}`;
      }
      if (decision.overRate && decision.overRate.length > 0) {
        const control = decision.overRate[0]!;
        return `DEFER_IF_PERMIT 4.7.1 Mailscope throttle (${describeScope(control.scope)}, ${control.ratePerMinute}/min): try again later`;
      }
      return 'DUNNO';
    },
    /** Mailscope could not answer: open lets the mail go, closed defers it (the client retries; nothing lost). */
    fallback(reason: string): string {
      return controls.failMode === 'closed' ? `DEFER_IF_PERMIT 4.3.0 Mailscope policy unavailable (${reason.slice(0, 100)})` : 'DUNNO';
    },
    onError(reason: string): void {
      log.warn({ reason }, 'policy request could not be answered');
    },
  };
}
