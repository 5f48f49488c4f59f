/** Shared pieces of the platform adapter tests. */
import { expect } from 'vitest';
import { sendPolicyOf } from '../../src/controls/send-policy.ts';
import type { ControlService } from '../../src/controls/service.ts';
import type { Clock } from '../../src/core/clock.ts';
import { DeliveryError } from '../../src/core/delivery.ts';
import type { Logger } from '../../src/core/logger.ts';
import type { ControlSnapshot } from '../../src/platforms/define.ts';
import { policyAnswers } from '../../src/platforms/postfix-policy.ts';
import type { Database } from '../../src/store/database.ts';

/** The error a push failed with: a DeliveryError coded PUSH_FAILED (the test fails otherwise). */
export async function pushFailure(promise: Promise<unknown>): Promise<DeliveryError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(DeliveryError);
  expect((error as DeliveryError).code).toBe('PUSH_FAILED');
  return error as DeliveryError;
}

/** A control as platforms get it, created a minute before the tests' "now". */
export function controlSnapshot(defaults: Pick<ControlSnapshot, 'scope' | 'reason' | 'source'>, overrides: Partial<ControlSnapshot> = {}): ControlSnapshot {
  return { id: 'c-7f3a', action: 'pause', createdAt: '2026-11-23T09:59:00.000Z', ...defaults, ...overrides };
}

/** The Postfix policy service's answers over a control service, wired as `mailscope run` wires them (for startPolicyServer). */
export function postfixPolicyAnswers(options: { platformId: string; controls: ControlService; db: Database; clock: Clock; log: Logger; onHeldAfterLift?: () => void }) {
  return policyAnswers(sendPolicyOf(options), options.log.child({ component: 'postfix-policy', platform: options.platformId }));
}
