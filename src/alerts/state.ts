/**
 * The state machine of one alert instance (a rule and one series):
 * inactive → pending → firing → resolved, and which notification is due. Pure
 * functions of the previous state, what was observed and the time, so they are
 * tested with a table and a clock that stands still.
 */
import { notifiedStates, type NotificationEvent, type NotifiedState } from '../core/alert-vocabulary.ts';
import type { ForSpec } from './rules.ts';

export const alertStates = ['pending', ...notifiedStates, 'inactive'] as const;
export type AlertState = (typeof alertStates)[number];

export interface InstanceState {
  state: AlertState;
  /** Evaluations in a row where the condition held. */
  consecutive: number;
  /** When the condition began to hold (pending and firing). */
  pendingSince?: number;
  firedAt?: number;
  resolvedAt?: number;
  /** Times of firing and resolved transitions within the flap window. */
  transitions: number[];
  flapping: boolean;
  /** The state the last notification said: what people believe. */
  notified?: NotifiedState;
  lastNotifiedAt?: number;
  ackedBy?: string;
  ackedAt?: number;
  ackComment?: string;
}

export interface FlapSettings {
  /** More than this many firing/resolved transitions within `windowMs` is flapping. */
  maxTransitions: number;
  windowMs: number;
}

export const initialState = (): InstanceState => ({ state: 'inactive', consecutive: 0, transitions: [], flapping: false });

function satisfied(forSpec: ForSpec, consecutive: number, pendingSince: number, now: number): boolean {
  return 'runs' in forSpec ? consecutive >= forSpec.runs : now - pendingSince >= forSpec.ms;
}

function withTransition(state: InstanceState, now: number, flap: FlapSettings): InstanceState {
  const transitions = [...state.transitions.filter((at) => at > now - flap.windowMs), now];
  return { ...state, transitions, flapping: state.flapping || transitions.length > flap.maxTransitions };
}

/** The next state after one evaluation; `holds` undefined (the field is unknown) changes nothing. */
export function step(previous: InstanceState, holds: boolean | undefined, now: number, forSpec: ForSpec, flap: FlapSettings): InstanceState {
  if (holds === undefined) return previous;
  if (holds) {
    if (previous.state === 'firing') return { ...previous, consecutive: previous.consecutive + 1 };
    const fresh = previous.state === 'inactive' || previous.state === 'resolved';
    const consecutive = fresh ? 1 : previous.consecutive + 1;
    const pendingSince = fresh ? now : (previous.pendingSince ?? now);
    if (!satisfied(forSpec, consecutive, pendingSince, now)) return { ...previous, state: 'pending', consecutive, pendingSince };
    return withTransition({ ...previous, state: 'firing', consecutive, pendingSince, firedAt: now }, now, flap);
  }
  if (previous.state === 'pending') {
    const { pendingSince: _dropped, ...rest } = previous;
    // Back to what it was before it began to hold: resolved if it ever fired.
    return { ...rest, state: previous.firedAt !== undefined ? 'resolved' : 'inactive', consecutive: 0 };
  }
  if (previous.state === 'firing') {
    const { ackedBy: _by, ackedAt: _at, ackComment: _comment, pendingSince: _since, ...rest } = previous;
    return withTransition({ ...rest, state: 'resolved', consecutive: 0, resolvedAt: now }, now, flap);
  }
  return previous.consecutive === 0 ? previous : { ...previous, consecutive: 0 };
}

/** Flapping ends once a whole window passes without a transition. */
export function settle(state: InstanceState, now: number, flap: FlapSettings): InstanceState {
  if (!state.flapping) return state;
  const recent = state.transitions.filter((at) => at > now - flap.windowMs);
  return recent.length === 0 ? { ...state, transitions: [], flapping: false } : state;
}

export interface DueOptions {
  /** Repeat a firing, unacknowledged alert this often; undefined: never. */
  renotifyMs?: number;
  notifyResolved: boolean;
  silenced: boolean;
}

/**
 * The notification due now, if any: one per transition (firing, resolved), a
 * reminder while firing unacknowledged, nothing while silenced or flapping (what
 * was held back is sent once that ends, if the state still differs from what
 * people were last told). `quiet` means: record that it resolved, tell no one.
 */
export function due(state: InstanceState, now: number, options: DueOptions): NotificationEvent | 'quiet' | undefined {
  if (state.flapping || options.silenced) return undefined;
  if (state.state === 'firing') {
    if (state.notified !== 'firing') return 'firing';
    const reminderDue = options.renotifyMs !== undefined && state.ackedBy === undefined && now - (state.lastNotifiedAt ?? 0) >= options.renotifyMs;
    return reminderDue ? 'reminder' : undefined;
  }
  if ((state.state === 'resolved' || state.state === 'inactive') && state.notified === 'firing') return options.notifyResolved ? 'resolved' : 'quiet';
  return undefined;
}

/** The state once that notification is queued. */
export function notified(state: InstanceState, event: NotificationEvent | 'quiet', now: number): InstanceState {
  return { ...state, notified: event === 'reminder' ? 'firing' : event === 'quiet' ? 'resolved' : event, lastNotifiedAt: now };
}
