/** Shared pieces of the platform adapter tests. */
import { expect } from 'vitest';
import { DeliveryError } from '../../src/core/delivery.ts';
import type { ControlSnapshot } from '../../src/platforms/define.ts';

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
