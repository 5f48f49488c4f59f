/**
 * A sending platform Mailscope controls. Two ways:
 * - pull: the routing engine asks Mailscope about each message (the Postfix
 *   policy service; GET /v1/policy needs no adapter);
 * - push: Mailscope tells the platform when a control is applied or lifted
 *   (KumoMTA's admin API, a webhook, listmonk's campaign status).
 * A push adapter delivers once and throws a DeliveryError when it could not;
 * retries with backoff, and what each attempt said, are controls/' business.
 */
import { z } from 'zod';
import { DeliveryError } from '../core/delivery.ts';
import { identifier } from '../core/schema.ts';
import type { ControlAction } from '../core/control-vocabulary.ts';
import type { Scope } from '../core/scope.ts';

export { DeliveryError };

/** A control as platforms see it. */
export interface ControlSnapshot {
  id: string;
  action: ControlAction;
  scope: Scope;
  /** Throttle: messages per minute for the whole scope. */
  ratePerMinute?: number;
  reason: string;
  /** `rule:<rule id>` or `token:<token name>`. */
  source: string;
  /** ISO 8601. */
  createdAt: string;
  expiresAt?: string;
}

export interface PushContext {
  signal: AbortSignal;
  /** The push's id: the same on every retry of one push, so a receiver can drop duplicates. */
  delivery: string;
  now: Date;
}

/** The keys every platform has, whatever its kind. */
export const PlatformBase = z.object({
  id: identifier.describe('how controls and the API name this platform'),
  kind: z.string().describe('postfix-policy, kumomta, webhook or listmonk'),
});

export type PlatformBaseOutput = z.output<typeof PlatformBase>;

export interface PushAdapter<C> {
  /**
   * Why this platform cannot apply exactly this control (it would pause more, or
   * other, traffic than the scope says, or it has no throttle); undefined when it can.
   * A control it cannot apply is not pushed there, and the control shows why.
   */
  unsupported(config: C, control: ControlSnapshot): string | undefined;
  /**
   * Apply the control at the platform. Returns what the platform needs to lift it
   * later (e.g. KumoMTA's suspension ids), as a string kept with the control; or
   * undefined when lifting needs nothing.
   */
  apply(config: C, control: ControlSnapshot, ctx: PushContext): Promise<string | undefined>;
  /** Lift it; `ref` is what an apply returned (called once per distinct ref). Lifting something already gone is success. */
  lift(config: C, control: ControlSnapshot, ref: string | undefined, ctx: PushContext): Promise<void>;
  /**
   * For platforms whose application runs out by itself (KumoMTA's suspensions last
   * at most maxDuration): when to apply it again, given when it was applied; or
   * undefined when it lasts as long as the control.
   */
  renewAt?(config: C, control: ControlSnapshot, appliedAt: Date): Date | undefined;
}

export interface PlatformKind<K extends string = string, S extends z.ZodType<PlatformBaseOutput & { kind: K }> = z.ZodType<PlatformBaseOutput & { kind: K }>> {
  kind: K;
  description: string;
  configSchema: S;
  /** Present for platforms Mailscope pushes to. */
  push?: PushAdapter<z.output<S>>;
}

export function definePlatform<K extends string, S extends z.ZodType<PlatformBaseOutput & { kind: K }>>(platform: PlatformKind<K, S>): PlatformKind<K, S> {
  return platform;
}
