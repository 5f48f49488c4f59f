/**
 * The words of send control that several layers share: the control service and
 * its inputs (controls/), rule actions (alerts/), platform adapters (platforms/),
 * the store and the API. Each list is declared here once; the types, zod enums,
 * OpenAPI and README derive from it.
 */

/** What a control does to its scope's mail. */
export const controlActionNames = ['pause', 'throttle'] as const;
export type ControlAction = (typeof controlActionNames)[number];

/** The policy's answer for a message, loosest first: no control applies, or the action of the tightest one that does. */
export const policyActions = ['allow', controlActionNames[1], controlActionNames[0]] as const;
export type PolicyAction = (typeof policyActions)[number];

/** When a control might apply but the question lacks a key its scope names: open lets the mail go, closed holds or defers it. */
export const failModes = ['open', 'closed'] as const;
export type FailMode = (typeof failModes)[number];

/** What a push asks of a platform; renew: apply again before the platform's own limit runs out (KumoMTA's suspension duration). */
export const pushOperations = ['apply', 'renew', 'lift'] as const;
export type PushOperation = (typeof pushOperations)[number];

/** A push to one platform: waiting (retried with backoff), done, given up, or skipped (the platform cannot apply the control exactly). */
export const pushStatuses = ['pending', 'done', 'failed', 'skipped'] as const;
export type PushStatus = (typeof pushStatuses)[number];
