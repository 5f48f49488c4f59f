/**
 * How each source is doing, as its runtime (or its ingest route) last said: a
 * mailbox that cannot be read, a mail log that is missing, a store that refused
 * a batch is an error with its code and reason — shown in the API and the
 * console, never only in the log (unknown is not clean). Kept in memory: the
 * state of this process's sources.
 */
export type SourceOutcome = { ok: true } | { ok: false; code: string; reason: string };

export interface SourceState {
  id: string;
  kind: string;
  /** undefined: nothing reported yet (a pushed source nobody posted to, a runtime not yet through its first pass) */
  ok?: boolean;
  lastOkAt?: number;
  lastError?: { code: string; reason: string; at: number };
  /** Errors in a row since the last success. */
  failures: number;
}

export class SourceHealth {
  readonly #states = new Map<string, SourceState>();

  constructor(sources: readonly { id: string; kind: string }[]) {
    for (const source of sources) this.#states.set(source.id, { id: source.id, kind: source.kind, failures: 0 });
  }

  report(id: string, outcome: SourceOutcome, at: number): void {
    const state = this.#states.get(id);
    if (!state) return;
    if (outcome.ok) {
      state.ok = true;
      state.lastOkAt = at;
      state.failures = 0;
    } else {
      state.ok = false;
      state.lastError = { code: outcome.code, reason: outcome.reason.slice(0, 300), at };
      state.failures++;
    }
  }

  list(): SourceState[] {
    return [...this.#states.values()].map((state) => ({ ...state, ...(state.lastError ? { lastError: { ...state.lastError } } : {}) }));
  }
}
