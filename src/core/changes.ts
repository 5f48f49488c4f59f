/**
 * What changed, said in one place so that what shows it live (the console's
 * pages, through server-sent events) needs no knowledge of who changed it: a run
 * recorded, an alert's state, a control, traffic counted, a report recorded.
 */
export const changeKinds = ['run', 'alert', 'control', 'traffic', 'report'] as const;
export type ChangeKind = (typeof changeKinds)[number];

export type ChangeListener = (kind: ChangeKind) => void;

export class ChangeFeed {
  readonly #listeners = new Set<ChangeListener>();

  /** Tell every listener; a listener that throws is dropped, the others still hear. */
  emit(kind: ChangeKind): void {
    for (const listener of this.#listeners) {
      try {
        listener(kind);
      } catch {
        this.#listeners.delete(listener);
      }
    }
  }

  /** Listen until the returned function is called. */
  subscribe(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get listeners(): number {
    return this.#listeners.size;
  }
}
