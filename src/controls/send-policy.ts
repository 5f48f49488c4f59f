/**
 * The controls as a platform's runtime asks them (a `SendPolicy`): what applies
 * to one message (a throttle counts it), and the record of a message held for a
 * pause, kept with that pause so that its lift releases exactly it. Whatever the
 * platform's protocol, the answer and the bookkeeping are these.
 */
import type { Clock } from '../core/clock.ts';
import type { PolicyVerdict, SendPolicy } from '../platforms/define.ts';
import { recordHeld } from '../store/controls.ts';
import type { Database } from '../store/database.ts';
import { pauseOf, type ControlService } from './service.ts';

const allow: PolicyVerdict = { action: 'allow' };

export function sendPolicyOf(options: {
  platformId: string;
  controls: ControlService;
  db: Database;
  clock: Clock;
  /** A message was held for a control lifted meanwhile: release it now, not at the next change. */
  onHeldAfterLift?: () => void;
}): SendPolicy {
  const { controls, db, clock, platformId } = options;
  return {
    decide(traffic) {
      const decision = controls.decide(traffic, { consume: true });
      const control = pauseOf(decision);
      if (control) return { action: 'pause', control };
      const over = decision.overRate?.[0];
      return over ? { action: 'over-rate', control: over } : allow;
    },
    get failMode() {
      return controls.failMode;
    },
    held(message) {
      recordHeld(db, { platform: platformId, queueId: message.id, controlId: message.controlId, traffic: message.traffic, heldAt: clock.now().getTime() });
      // Lifted between the question and the end of the message.
      if (!controls.isActive(message.controlId)) options.onHeldAfterLift?.();
    },
  };
}
