/**
 * A sending platform Mailscope controls. Two ways:
 * - pull: the routing engine asks Mailscope about each message (the Postfix
 *   policy service, a `runtime` here; GET /v1/policy needs no adapter);
 * - push: Mailscope tells the platform when a control is applied or lifted
 *   (KumoMTA's admin API, a webhook, listmonk's campaign status).
 * A push adapter delivers once and throws a DeliveryError when it could not;
 * retries with backoff, and what each attempt said, are controls/' business.
 * A runtime speaks the platform's protocol and asks a `SendPolicy` what to answer;
 * what the controls decide, and the bookkeeping of held mail, are controls/' too.
 */
import { z } from 'zod';
import { DeliveryError } from '../core/delivery.ts';
import type { Logger } from '../core/logger.ts';
import { identifier } from '../core/schema.ts';
import type { ControlAction } from '../core/control-vocabulary.ts';
import type { Scope, Traffic } from '../core/scope.ts';

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
  /** The cluster lease's epoch this is pushed under (0 alone): x-mailscope-fencing-token, so a receiver can refuse a stale instance's. */
  fencingToken?: number;
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

// ── pull: a runtime the routing engine asks about each message ────────────────

/** A control as a policy answer names it. */
export type PolicyControl = Pick<ControlSnapshot, 'id' | 'scope' | 'reason' | 'ratePerMinute'>;

/** What the controls say about one message. */
export type PolicyVerdict =
  | { action: 'allow' }
  /** A pause applies (or, failing closed, may apply): hold the message until it lifts. */
  | { action: 'pause'; control: PolicyControl }
  /** A throttle's rate for this minute is spent: have the message tried again later. */
  | { action: 'over-rate'; control: PolicyControl };

/** A message a platform held for a pause. */
export interface HeldMail {
  /** The platform's id for it (Postfix's queue id): what releasing it takes. */
  id: string;
  /** The pause it was held for. */
  controlId: string;
  traffic: Traffic;
}

/** What a runtime asks Mailscope about live traffic; controls/ answers (a runtime never sees the store). */
export interface SendPolicy {
  /** The controls that apply to one message; a throttle counts it. */
  decide(traffic: Traffic): PolicyVerdict;
  /** When Mailscope cannot answer: open lets the mail go, closed has it tried again later (nothing lost). */
  readonly failMode: 'open' | 'closed';
  /** Record a message held for a pause, so that the pause's lift releases exactly it. */
  held(message: HeldMail): void;
}

/** The services a runtime is given, and only those. */
export interface RuntimeContext {
  policy: SendPolicy;
  /** Names the component (the kind) and the platform. */
  log: Logger;
}

/** A runtime once started: a service its routing engine connects to. */
export interface RunningPlatform {
  /** Where it listens (the real port when the config said 0). */
  address: { host: string; port: number };
  /** Close the listener and the connections still open. */
  stop(): Promise<void>;
}

/** Where a platform's queue has a message. */
export interface QueuePlace {
  /** held: waiting to be released; arriving: still being written (it may be held yet); queued: anywhere else. */
  state: 'held' | 'arriving' | 'queued';
  /** The platform's name for the place (Postfix: hold, incoming, deferred, ...), shown in notes. */
  where: string;
}

export interface QueueContext {
  /** Kills what is running (shutdown). */
  signal: AbortSignal;
  timeoutMs: number;
}

/**
 * A platform's hold queue, from which held mail is released when its pause lifts.
 * Which messages go, and when, is controls/' business (another pause may still
 * cover one; a failure is kept and retried); this only looks and releases.
 */
export interface HoldQueue {
  /** What releases, named when a message is still held after it: "postsuper -H". */
  releasedBy: string;
  /** Every message in the platform's queue, by id. */
  list(ctx: QueueContext): Promise<Map<string, QueuePlace>>;
  /** Let these held messages go (ids the platform gave when it held them; anything else is refused before any runs). */
  release(ids: readonly string[], ctx: QueueContext): Promise<void>;
  /** Ask for these released messages' delivery now, not at the platform's next queue run. Best effort: returns the ids it could not. */
  deliverNow(ids: readonly string[], ctx: QueueContext): Promise<string[]>;
}

export interface PlatformRuntime<C> {
  /** Names the service in messages: "the Postfix policy service". */
  what: string;
  /** Start serving where the platform's `listen` says; a socket error (the port taken) is thrown as Node raised it. */
  start(config: C, ctx: RuntimeContext): Promise<RunningPlatform>;
  /** Platforms that hold mail for a pause: their hold queue, when this configuration lets Mailscope release from it (undefined: released by hand). */
  holdQueue?(config: C): HoldQueue | undefined;
}

export interface PlatformKind<K extends string = string, S extends z.ZodType<PlatformBaseOutput & { kind: K }> = z.ZodType<PlatformBaseOutput & { kind: K }>> {
  kind: K;
  description: string;
  configSchema: S;
  /** Present for platforms Mailscope pushes to. */
  push?: PushAdapter<z.output<S>>;
  /** Present for platforms that ask Mailscope (pull): started by `mailscope run`, stopped with it. */
  runtime?: PlatformRuntime<z.output<S>>;
}

export function definePlatform<K extends string, S extends z.ZodType<PlatformBaseOutput & { kind: K }>>(platform: PlatformKind<K, S>): PlatformKind<K, S> {
  return platform;
}
