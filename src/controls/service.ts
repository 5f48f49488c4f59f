/**
 * Controls: pauses and throttles on slices of sending traffic. Every change is a
 * transaction (the control, its audit entry, its pushes to platforms); the
 * routing engine's questions are answered from memory, so a policy decision never
 * waits on disk. Memory follows the store: reloaded after this process's writes,
 * and when another process (the CLI, another instance) changed it (Database.dataVersion).
 */
import { alone, type Duty } from '../core/duty.ts';
import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import type { ControlAction, FailMode, PolicyAction, PushOperation } from '../core/control-vocabulary.ts';
import type { Observation } from '../core/observation.ts';
import { MailscopeError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { canonicalScope, describeScope, normalizeScopeValue, scopeKeyNames, type Scope, type Traffic } from '../core/scope.ts';
import type { Database } from '../store/database.ts';
import { recordPoint, recordPoints } from '../store/record.ts';
import {
  activeControls,
  activeControlsOfAlert,
  audit,
  controlsWithFailedPushes,
  firingAlertsOf,
  heldCount,
  heldCounts,
  linkAlert,
  enqueuePush,
  findActiveControl,
  getControl,
  insertControl,
  markLifted,
  markPushSkipped,
  pushesOf,
  updateControl,
  type AdaptiveState,
  type ControlRow,
} from '../store/controls.ts';
import { sendRate } from '../store/traffic.ts';
import type { ControlSnapshot } from '../platforms/define.ts';
import { ScopeIndex } from './matcher.ts';

/** A platform Mailscope pushes controls to: its id, and whether it can apply one exactly. */
export interface PushTarget {
  id: string;
  unsupported(control: ControlSnapshot): string | undefined;
}

export interface ControlSettings {
  failMode: FailMode;
  /** Recipient domain → provider name (gmail.com → gmail). */
  providers: ReadonlyMap<string, string>;
}

export interface Decision {
  action: PolicyAction;
  /** The tightest throttle's rate, messages per minute. */
  ratePerMinute?: number;
  /** The controls that apply. */
  controls: ControlRow[];
  /**
   * Controls that might apply but cannot be decided: the question lacks a key their
   * scope names. With failMode closed they count as applying.
   */
  unsure: { control: ControlRow; missing: string[] }[];
  /** Throttles only, when asked to count the message: over the rate now. */
  overRate?: ControlRow[];
}

/** The pause a decision to pause rests on: one that applies, else (fail-closed) one that might. */
export function pauseOf(decision: Decision): ControlRow | undefined {
  if (decision.action !== 'pause') return undefined;
  return decision.controls.find((one) => one.action === 'pause') ?? decision.unsure.find((one) => one.control.action === 'pause')?.control;
}

export interface NewControl {
  action: ControlAction;
  scope: Scope;
  ratePerMinute?: number | undefined;
  reason: string;
  expiresAt?: number | undefined;
  /** `token:<name>`, `rule:<id>`, `cli:<user>`. */
  source: string;
  /** Who, for the audit log: the token's name, or the rule. */
  actor: string;
  ruleId?: string;
  alertId?: string;
  keepUntilResumed?: boolean;
  /** A rule's adaptive throttle: how it steps (its starting rate and ceiling come from the traffic). */
  adaptive?: AdaptiveSteps | AdaptiveState | undefined;
}

/** How a rule's adaptive throttle steps. */
export interface AdaptiveSteps {
  everyMs: number;
  down: number;
  up: number;
  floor: number;
}

/** What a throttle let through in the current window. */
interface Bucket {
  tokens: number;
  at: number;
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

export function snapshotOf(control: ControlRow): ControlSnapshot {
  return {
    id: control.id,
    action: control.action,
    scope: control.scope,
    ...(control.ratePerMinute !== undefined ? { ratePerMinute: control.ratePerMinute } : {}),
    reason: control.reason,
    source: control.source,
    createdAt: new Date(control.createdAt).toISOString(),
    ...(control.expiresAt !== undefined ? { expiresAt: new Date(control.expiresAt).toISOString() } : {}),
  };
}

/** The control's state as a point of the `control` measurement, in the caller's transaction. */
export function controlPoint(db: Database, control: ControlRow, now: number): void {
  recordPoint(
    db,
    controlObservation(
      control,
      heldCount(db, control.id),
      pushesOf(db, control.id).some((push) => push.status === 'failed'),
      now,
    ),
  );
}

/** The points of many controls (the heartbeat of every active one) in a few statements: on PostgreSQL each is a round trip. */
export function controlPoints(db: Database, controls: readonly ControlRow[], now: number): void {
  if (controls.length === 0) return;
  const held = heldCounts(db);
  const failed = controlsWithFailedPushes(db);
  recordPoints(
    db,
    controls.map((control) => controlObservation(control, held.get(control.id) ?? { held: 0, released: 0 }, failed.has(control.id), now)),
    new Date(now),
  );
}

function controlObservation(control: ControlRow, held: { held: number; released: number }, pushFailed: boolean, now: number): Observation {
  return {
    measurement: 'control',
    // Tagged by what it controls, not by id: a series per slice of traffic, whichever control holds it.
    tags: { action: control.action, scope: describeScope(control.scope) },
    fields: {
      control: control.id,
      source: control.source,
      active: control.liftedAt === undefined && (control.expiresAt === undefined || control.expiresAt > now),
      reason: control.reason.slice(0, 1_000),
      ...(control.ratePerMinute !== undefined ? { rate_per_minute: control.ratePerMinute } : {}),
      held: held.held,
      released: held.released,
      push_failed: pushFailed,
    },
    time: new Date(now),
  };
}

/** While a control is active its point is written this often, so a dashboard's time range always has it. */
const heartbeatMs = 60_000;

export class ControlService {
  readonly #db: Database;
  readonly #duty: Duty;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #settings: ControlSettings;
  readonly #platforms: readonly PushTarget[];
  readonly #listeners: (() => void)[] = [];
  readonly #buckets = new Map<string, Bucket>();
  /** The active controls by id, oldest first. */
  #active = new Map<string, ControlRow>();
  #activeList: ControlRow[] | undefined;
  #index = new ScopeIndex<ControlRow>([]);
  /** Controls this process changed since memory last caught up: read again, alone, once the change commits. */
  readonly #touched = new Set<string>();
  #generation = 0;
  #nextExpiry = Infinity;
  #dataVersion = -1;
  #timer: NodeJS.Timeout | undefined;
  #heartbeatAt = 0;

  constructor(options: { db: Database; clock: Clock; log: Logger; settings: ControlSettings; platforms?: readonly PushTarget[]; duty?: Duty }) {
    this.#db = options.db;
    this.#duty = options.duty ?? alone;
    this.#clock = options.clock;
    this.#log = options.log.child({ component: 'controls' });
    this.#settings = options.settings;
    this.#platforms = options.platforms ?? [];
    this.reload();
  }

  /** Called after controls change (pushes to deliver, held messages to release). */
  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  get failMode(): FailMode {
    return this.#settings.failMode;
  }

  /** The active controls, as memory has them, oldest first. */
  get active(): readonly ControlRow[] {
    return (this.#activeList ??= [...this.#active.values()]);
  }

  /** Whether memory has this control as active. */
  isActive(id: string): boolean {
    return this.#active.has(id);
  }

  /** Memory from the store: every active control read again (at start, and when another process changed them). */
  reload(): void {
    // Read first: a commit by another process after this line is seen at the next look.
    this.#dataVersion = this.#readDataVersion();
    const rows = activeControls(this.#db);
    this.#active = new Map(rows.map((control) => [control.id, control]));
    this.#index = new ScopeIndex(rows);
    this.#touched.clear();
    this.#memoryChanged();
  }

  /**
   * Memory catches up after a commit: with only this process's own writes since the
   * last look, just the controls they touched are read again (creating one among
   * thousands costs one row, not all of them); otherwise everything is.
   */
  #catchUp(): void {
    if (this.#readDataVersion() !== this.#dataVersion) {
      this.reload();
      return;
    }
    for (const id of this.#touched) {
      const control = getControl(this.#db, id);
      if (control && control.liftedAt === undefined) {
        this.#active.set(id, control);
        this.#index.add(control);
      } else {
        this.#active.delete(id);
        this.#index.remove(id);
      }
    }
    this.#touched.clear();
    this.#memoryChanged();
  }

  #memoryChanged(): void {
    this.#activeList = undefined;
    this.#generation++;
    this.#nextExpiry = this.#expiryAfter(this.#clock.now().getTime());
    for (const id of this.#buckets.keys()) if (!this.#active.has(id)) this.#buckets.delete(id);
  }

  /**
   * Changes whenever an answer of decide() may change without a throttle being
   * counted: after each reload, and when a control's expiry passes. Answers to
   * the same question may be kept while it stays the same (GET /v1/policy does).
   */
  get generation(): number {
    const now = this.#clock.now().getTime();
    if (now >= this.#nextExpiry) {
      this.#generation++;
      this.#nextExpiry = this.#expiryAfter(now);
    }
    return this.#generation;
  }

  #expiryAfter(now: number): number {
    let next = Infinity;
    for (const control of this.#active.values()) if (control.expiresAt !== undefined && control.expiresAt > now && control.expiresAt < next) next = control.expiresAt;
    return next;
  }

  /** Catch up when another connection (the CLI) committed since the last look: its pushes and releases are this process's to do. */
  refresh(): void {
    if (this.#readDataVersion() !== this.#dataVersion) this.#changed();
  }

  #readDataVersion(): number {
    return this.#db.dataVersion();
  }

  /** The question completed: normalized values, and the provider from the recipient's domain. */
  traffic(question: Traffic): Traffic {
    const traffic: Traffic = {};
    for (const key of scopeKeyNames) {
      const value = question[key];
      if (value === undefined || value.trim() === '') continue;
      try {
        traffic[key] = normalizeScopeValue(key, value);
      } catch {
        // Not an address: it matches no ip scope (and is not unknown either).
        traffic[key] = value.trim();
      }
    }
    if (traffic.provider === undefined && traffic.rcpt_domain !== undefined) {
      traffic.provider = this.#settings.providers.get(traffic.rcpt_domain) ?? 'other';
    }
    return traffic;
  }

  /**
   * What applies to this traffic: pause beats throttle; the tightest throttle wins.
   * With `consume`, the message counts against every matching throttle's rate.
   */
  decide(question: Traffic, options: { consume?: boolean } = {}): Decision {
    const traffic = this.traffic(question);
    const now = this.#clock.now().getTime();
    const live = (control: ControlRow) => control.expiresAt === undefined || control.expiresAt > now;
    const found = this.#index.lookup(traffic);
    const controls = found.matched.filter(live);
    const unsure: Decision['unsure'] = found.unsure.filter((entry) => live(entry.item)).map((entry) => ({ control: entry.item, missing: entry.missing }));
    const counted = this.#settings.failMode === 'closed' ? [...controls, ...unsure.map((entry) => entry.control)] : controls;
    if (counted.some((control) => control.action === 'pause')) return { action: 'pause', controls, unsure };
    const throttles = counted.filter((control) => control.action === 'throttle');
    if (throttles.length === 0) return { action: 'allow', controls, unsure };
    const ratePerMinute = Math.min(...throttles.map((control) => control.ratePerMinute ?? 0));
    const decision: Decision = { action: 'throttle', ratePerMinute, controls, unsure };
    if (options.consume) {
      const buckets = throttles.map((control) => ({ control, bucket: this.#bucket(control, now) }));
      const over = buckets.filter(({ bucket }) => bucket.tokens < 1).map(({ control }) => control);
      // A message over any rate is deferred, and spends nothing from the others.
      if (over.length === 0) for (const { bucket } of buckets) bucket.tokens -= 1;
      decision.overRate = over;
    }
    return decision;
  }

  /** Token bucket per throttle: `rate` per minute, bursts up to a minute's worth. */
  #bucket(control: ControlRow, now: number): Bucket {
    const rate = control.ratePerMinute ?? 0;
    let bucket = this.#buckets.get(control.id);
    if (!bucket) {
      bucket = { tokens: rate, at: now };
      this.#buckets.set(control.id, bucket);
    }
    bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.at) * rate) / 60_000);
    bucket.at = now;
    return bucket;
  }

  /**
   * Create a control, or find the same one (same action and scope) already active:
   * then it is that one, its rate, reason and expiry updated when they differ.
   */
  create(input: NewControl): { control: ControlRow; created: boolean } {
    const result = this.#db.transaction(() => this.createWithin(input));
    this.#changed();
    return result;
  }

  /** create() inside a transaction the caller holds (the alert engine's); memory catches up once it commits. */
  createWithin(input: NewControl): { control: ControlRow; created: boolean } {
    const now = this.#clock.now().getTime();
    const scope = canonicalScope(input.scope);
    if (input.action === 'throttle' && (input.ratePerMinute === undefined || !Number.isInteger(input.ratePerMinute) || input.ratePerMinute < 0)) {
      throw new MailscopeError('BAD_REQUEST', 'a throttle needs a rate: a whole number of messages per minute, 0 or more');
    }
    if (input.action === 'pause' && input.ratePerMinute !== undefined) throw new MailscopeError('BAD_REQUEST', 'a pause has no rate (use action throttle)');
    if (input.expiresAt !== undefined && input.expiresAt <= now) throw new MailscopeError('BAD_REQUEST', `expires: ${new Date(input.expiresAt).toISOString()} is not in the future`);
    const existing = this.#findLive(input.action, scope, now);
    if (existing) {
      const fromRule = input.source.startsWith('rule:');
      // A person joining a rule's control takes it over: it stays until a person lifts it.
      const takenOver = !fromRule && existing.source.startsWith('rule:');
      const updated: ControlRow = {
        ...existing,
        ...(input.ratePerMinute !== undefined ? { ratePerMinute: input.ratePerMinute } : {}),
        ...(input.expiresAt !== undefined ? { expiresAt: input.expiresAt } : {}),
        ...(takenOver ? { source: input.source, keepUntilResumed: true } : {}),
        ...(input.keepUntilResumed ? { keepUntilResumed: true } : {}),
      };
      // An alert behind it fired (again) during the cool-down, or a person took it over: the control stays.
      if (input.alertId !== undefined || takenOver) delete updated.liftAt;
      const rateChanged = updated.ratePerMinute !== existing.ratePerMinute;
      const expiryChanged = updated.expiresAt !== existing.expiresAt;
      // A person's control does not adapt: what they set stays.
      if (takenOver) delete updated.adaptive;
      if (rateChanged || expiryChanged || updated.liftAt !== existing.liftAt || updated.source !== existing.source || updated.keepUntilResumed !== existing.keepUntilResumed) {
        updated.updatedAt = now;
        updateControl(this.#db, updated);
        this.#touched.add(updated.id);
        audit(this.#db, {
          at: now,
          actor: input.actor,
          action: 'control.updated',
          subject: existing.id,
          details: {
            reason: input.reason,
            ...(rateChanged ? { ratePerMinute: { from: existing.ratePerMinute, to: updated.ratePerMinute } } : {}),
            ...(expiryChanged ? { expiresAt: { from: iso(existing.expiresAt), to: iso(updated.expiresAt) } } : {}),
            ...(existing.liftAt !== undefined && updated.liftAt === undefined ? { liftCancelled: true } : {}),
            ...(takenOver ? { source: { from: existing.source, to: updated.source } } : {}),
            ...(updated.keepUntilResumed !== existing.keepUntilResumed ? { keepUntilResumed: true } : {}),
          },
        });
        // A new rate or expiry is pushed again; the platforms replace what they had (KumoMTA: a suspension as long as the new expiry).
        if (rateChanged || expiryChanged) this.#enqueuePushes(updated, 'apply', now);
        controlPoint(this.#db, updated, now);
      }
      return { control: updated, created: false };
    }
    const control: ControlRow = {
      id: randomUUID(),
      action: input.action,
      scope,
      ...(input.ratePerMinute !== undefined ? { ratePerMinute: input.ratePerMinute } : {}),
      reason: input.reason,
      source: input.source,
      ...(input.ruleId !== undefined ? { ruleId: input.ruleId } : {}),
      ...(input.alertId !== undefined ? { alertId: input.alertId } : {}),
      createdBy: input.actor,
      createdAt: now,
      updatedAt: now,
      ...(input.expiresAt !== undefined ? { expiresAt: input.expiresAt } : {}),
      keepUntilResumed: input.keepUntilResumed ?? false,
      ...(input.adaptive && 'ceiling' in input.adaptive ? { adaptive: input.adaptive } : {}),
    };
    insertControl(this.#db, control);
    this.#touched.add(control.id);
    audit(this.#db, {
      at: now,
      actor: input.actor,
      action: 'control.created',
      subject: control.id,
      details: {
        action: control.action,
        scope,
        reason: control.reason,
        source: control.source,
        ...(control.ratePerMinute !== undefined ? { ratePerMinute: control.ratePerMinute } : {}),
        ...(control.expiresAt !== undefined ? { expiresAt: new Date(control.expiresAt).toISOString() } : {}),
      },
    });
    this.#enqueuePushes(control, 'apply', now);
    controlPoint(this.#db, control, now);
    this.#log.info({ control: control.id, action: control.action, scope: describeScope(scope), source: control.source }, 'control created');
    return { control, created: true };
  }

  /** Lift a control now (a person resuming, or the end of a cool-down). */
  lift(id: string, actor: string, reason: string): ControlRow {
    const lifted = this.#db.transaction(() => {
      const control = getControl(this.#db, id);
      if (!control) throw new MailscopeError('CONTROL_NOT_FOUND', `no control "${id}"`);
      if (control.liftedAt !== undefined) throw new MailscopeError('CONTROL_NOT_ACTIVE', `control "${id}" was lifted at ${new Date(control.liftedAt).toISOString()} by ${control.liftedBy}`);
      this.#liftWithin(control, actor, reason, this.#clock.now().getTime());
      return getControl(this.#db, id)!;
    });
    this.#changed();
    return lifted;
  }

  /**
   * A rule's alert fired: its control is created, or the same active control (same
   * action and scope) is joined, and stays while any alert behind it fires. A
   * control a person made is theirs: a rule neither changes it nor lifts it.
   * Inside the engine's transaction; memory and pushes follow once it commits.
   */
  alertFiredWithin(input: NewControl & { ruleId: string; alertId: string }): { control: ControlRow; created: boolean } {
    const now = this.#clock.now().getTime();
    const existing = this.#findLive(input.action, canonicalScope(input.scope), now);
    if (existing && !existing.source.startsWith('rule:')) {
      this.#log.info({ control: existing.id, alert: input.alertId, rule: input.ruleId }, 'the alert fired on a scope a person already controls: their control stays as they made it');
      return { control: existing, created: false };
    }
    let result: { control: ControlRow; created: boolean };
    if (input.adaptive && input.action === 'throttle' && !existing) {
      result = this.createWithin(this.#adaptiveStart({ ...input, adaptive: input.adaptive }, now));
    } else if (existing?.adaptive) {
      // An adaptive throttle already holds the scope: it keeps its own rate (its next step goes down while this fires).
      result = this.createWithin({ ...input, ratePerMinute: existing.ratePerMinute, adaptive: undefined });
      const steps = result.control.adaptive;
      if (steps && steps.nextStepAt === Number.MAX_SAFE_INTEGER) {
        // Kept for a person at its ceiling: stepping again.
        result.control = { ...result.control, adaptive: { ...steps, nextStepAt: now + steps.everyMs }, updatedAt: now };
        updateControl(this.#db, result.control);
        this.#touched.add(result.control.id);
      }
    } else {
      // Two rules on one control: the tighter rate (an adaptive rule's, none: the other's), and "manual" if either asks for it.
      const rates = [existing?.ratePerMinute, input.ratePerMinute].filter((rate) => rate !== undefined);
      const rate = existing && rates.length > 0 ? Math.min(...rates) : input.ratePerMinute;
      result = this.createWithin({ ...input, ratePerMinute: rate, adaptive: undefined });
    }
    linkAlert(this.#db, result.control.id, input.alertId, now);
    queueMicrotask(() => this.#changed());
    return result;
  }

  /**
   * An alert behind rule-made controls resolved: each is lifted after the cool-down,
   * or kept for a person ("manual"), once no other alert behind it still fires.
   * Inside the engine's transaction.
   */
  alertResolvedWithin(alertId: string, coolDownMs: number | 'manual'): void {
    const now = this.#clock.now().getTime();
    const controls = activeControlsOfAlert(this.#db, alertId);
    for (const control of controls) {
      // Taken over by a person since: theirs to lift.
      if (!control.source.startsWith('rule:')) continue;
      const stillFiring = firingAlertsOf(this.#db, control.id, alertId);
      if (stillFiring.length > 0) {
        this.#log.info({ control: control.id, alert: alertId, stillFiring }, 'an alert behind the control resolved; others still fire');
        continue;
      }
      if (control.adaptive) {
        // It steps back up at its next steps, and lifts at its ceiling (tick).
        audit(this.#db, {
          at: now,
          actor: control.source,
          action: 'control.recovering',
          subject: control.id,
          details: { reason: 'the alert resolved; the rate steps back up', alert: alertId, ceiling: control.adaptive.ceiling },
        });
        continue;
      }
      if (coolDownMs === 'manual' || control.keepUntilResumed) {
        audit(this.#db, {
          at: now,
          actor: control.source,
          action: 'control.kept',
          subject: control.id,
          details: { reason: 'the alert resolved; this control stays until a person resumes it', alert: alertId },
        });
        continue;
      }
      const updated = { ...control, liftAt: now + coolDownMs, updatedAt: now };
      updateControl(this.#db, updated);
      this.#touched.add(updated.id);
      audit(this.#db, {
        at: now,
        actor: control.source,
        action: 'control.lift-scheduled',
        subject: control.id,
        details: { liftAt: new Date(updated.liftAt).toISOString(), reason: 'the alert resolved', alert: alertId },
      });
    }
    if (controls.length > 0) queueMicrotask(() => this.#changed());
  }

  /** The active control with this action and scope; one that expired but was not yet lifted by the timer is lifted now (and is none). */
  #findLive(action: ControlAction, scope: Scope, now: number): ControlRow | undefined {
    const existing = findActiveControl(this.#db, action, scope);
    if (existing?.expiresAt !== undefined && existing.expiresAt <= now) {
      this.#liftWithin(existing, 'mailscope', 'expired', now);
      return undefined;
    }
    return existing;
  }

  /** Expired controls and ended cool-downs are lifted; another process's changes are picked up. */
  tick(): void {
    // In a cluster, the lease's holder lifts what expired and steps adaptive throttles; the others catch up
    // when the cluster says the controls changed (ha/cluster.ts: LISTEN, and a look every second that never waits on the store).
    if (!this.#duty.active()) return;
    const now = this.#clock.now().getTime();
    const lifted = this.#db.transaction(() => {
      this.#duty.fence();
      const count = this.#liftDue(now) + this.#stepAdaptive(now);
      if (now - this.#heartbeatAt >= heartbeatMs) {
        this.#heartbeatAt = now;
        controlPoints(this.#db, activeControls(this.#db), now);
      }
      return count;
    });
    if (lifted > 0 || this.#touched.size > 0) this.#changed();
    else this.refresh();
  }

  start(intervalMs: number): void {
    this.#timer ??= setInterval(() => {
      try {
        this.tick();
      } catch (error) {
        this.#log.error({ err: error }, 'control tick failed');
      }
    }, intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #liftDue(now: number): number {
    let lifted = 0;
    // Memory says which are due; each is read again in the transaction before it is lifted.
    const due = [...this.#active.values()].filter((control) => (control.expiresAt !== undefined && control.expiresAt <= now) || (control.liftAt !== undefined && control.liftAt <= now));
    for (const remembered of due) {
      const control = getControl(this.#db, remembered.id);
      if (!control || control.liftedAt !== undefined) {
        this.#touched.add(remembered.id);
        continue;
      }
      if (control.expiresAt !== undefined && control.expiresAt <= now) {
        this.#liftWithin(control, 'mailscope', 'expired', now);
        lifted++;
      } else if (control.liftAt !== undefined && control.liftAt <= now) {
        this.#liftWithin(control, control.source, 'the alert resolved and the cool-down ended', now);
        lifted++;
      } else this.#touched.add(control.id);
    }
    return lifted;
  }

  /**
   * An adaptive throttle's first rate: the scope's send rate over the last step's
   * time (when the aggregates can tell: a scope of provider, ip, pool and campaign
   * only), else the rule's rate, is its ceiling; it starts one step down from there.
   */
  #adaptiveStart(input: NewControl & { adaptive: AdaptiveSteps | AdaptiveState }, now: number): NewControl {
    const steps = input.adaptive;
    const scope = canonicalScope(input.scope);
    const measurable = Object.keys(scope).every((key) => ['provider', 'ip', 'pool', 'campaign'].includes(key));
    const observed = measurable ? sendRate(this.#db, scope, now - Math.max(steps.everyMs, 60_000), now) : 0;
    const ceiling = Math.max(steps.floor, Math.round(observed > 0 ? observed : (input.ratePerMinute ?? steps.floor)));
    const rate = Math.max(steps.floor, Math.floor(ceiling * steps.down));
    return {
      ...input,
      ratePerMinute: rate,
      adaptive: { everyMs: steps.everyMs, down: steps.down, up: steps.up, floor: steps.floor, ceiling, nextStepAt: now + steps.everyMs },
      reason: `${input.reason} (adaptive: ${observed > 0 ? `sending ${ceiling}/min` : `ceiling ${ceiling}/min`}, from ${rate}/min)`,
    };
  }

  /**
   * Adaptive throttles whose step is due: down (to the floor) while an alert behind
   * them fires, up once none does; back at the ceiling one lifts (or, kept for a
   * person, stays there). Each step is audited and pushed like any change of rate.
   */
  #stepAdaptive(now: number): number {
    let lifted = 0;
    const due = [...this.#active.values()].filter((control) => control.adaptive !== undefined && control.adaptive.nextStepAt <= now);
    for (const remembered of due) {
      const control = getControl(this.#db, remembered.id);
      if (!control?.adaptive || control.liftedAt !== undefined) {
        this.#touched.add(remembered.id);
        continue;
      }
      const steps = control.adaptive;
      const rate = control.ratePerMinute ?? steps.floor;
      const firing = firingAlertsOf(this.#db, control.id, '').length > 0;
      const next = firing ? Math.max(steps.floor, Math.floor(rate * steps.down)) : Math.max(rate + 1, Math.ceil(rate * steps.up));
      if (!firing && next >= steps.ceiling && !control.keepUntilResumed) {
        this.#liftWithin(control, control.source, `the traffic recovered: the rate stepped back up to ${steps.ceiling}/min`, now);
        lifted++;
        continue;
      }
      const atCeiling = !firing && next >= steps.ceiling;
      const updated: ControlRow = {
        ...control,
        ratePerMinute: Math.min(next, steps.ceiling),
        // Kept for a person at its ceiling: no more steps.
        adaptive: { ...steps, nextStepAt: atCeiling ? Number.MAX_SAFE_INTEGER : now + steps.everyMs },
        updatedAt: now,
      };
      updateControl(this.#db, updated);
      this.#touched.add(control.id);
      if (updated.ratePerMinute === control.ratePerMinute) continue;
      audit(this.#db, {
        at: now,
        actor: control.source,
        action: 'control.updated',
        subject: control.id,
        details: {
          reason: firing ? 'adaptive: the alert still fires, one step down' : 'adaptive: the alert resolved, one step up',
          ratePerMinute: { from: control.ratePerMinute, to: updated.ratePerMinute },
        },
      });
      this.#enqueuePushes(updated, 'apply', now);
      controlPoint(this.#db, updated, now);
    }
    return lifted;
  }

  #liftWithin(control: ControlRow, actor: string, reason: string, now: number): void {
    markLifted(this.#db, control.id, actor, reason, now);
    this.#touched.add(control.id);
    controlPoint(this.#db, { ...control, liftedAt: now, liftedBy: actor, liftReason: reason }, now);
    audit(this.#db, { at: now, actor, action: 'control.lifted', subject: control.id, details: { reason, scope: control.scope, action: control.action } });
    this.#enqueuePushes(control, 'lift', now);
    this.#log.info({ control: control.id, action: control.action, scope: describeScope(control.scope), by: actor, reason }, 'control lifted');
  }

  /** One push per platform: applied where the platform can; lifted where it was applied (or is about to be). */
  #enqueuePushes(control: ControlRow, operation: Exclude<PushOperation, 'renew'>, now: number): void {
    const previous = pushesOf(this.#db, control.id);
    for (const platform of this.#platforms) {
      // A renewal not yet due is superseded by a new apply, and moot after a lift.
      for (const push of previous) {
        if (push.platform === platform.id && push.operation === 'renew' && push.status === 'pending') {
          markPushSkipped(this.#db, push.id, operation === 'apply' ? 'superseded by a new apply' : 'the control was lifted before its renewal', now);
        }
      }
      if (operation === 'apply') {
        const skipped = platform.unsupported(snapshotOf(control));
        enqueuePush(this.#db, { controlId: control.id, platform: platform.id, operation, at: now, ...(skipped ? { skipped } : {}) });
        continue;
      }
      const applied = previous.filter((push) => push.platform === platform.id && push.operation !== 'lift' && push.status !== 'skipped' && push.status !== 'failed');
      if (applied.length > 0) enqueuePush(this.#db, { controlId: control.id, platform: platform.id, operation, at: now });
    }
  }

  #changed(): void {
    this.#catchUp();
    for (const listener of this.#listeners) listener();
  }
}
