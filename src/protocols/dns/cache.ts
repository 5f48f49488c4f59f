import type { DnsOutcome } from './types.ts';

/**
 * Answers (and negative answers with an SOA) kept for their TTL, at most
 * `maxEntries`, the oldest dropped first. Errors are never cached.
 */
export class AnswerCache {
  readonly #entries = new Map<string, { outcome: DnsOutcome; expires: number }>();
  readonly #maxEntries: number;
  readonly #maxTtlSeconds: number;
  readonly #now: () => number;

  constructor(options: { maxEntries: number; maxTtlSeconds: number; now?: () => number }) {
    this.#maxEntries = options.maxEntries;
    this.#maxTtlSeconds = options.maxTtlSeconds;
    this.#now = options.now ?? Date.now;
  }

  get(key: string): DnsOutcome | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    const left = entry.expires - this.#now();
    if (left <= 0) {
      this.#entries.delete(key);
      return undefined;
    }
    // What is left of the TTL is what the caller may rely on.
    const ttl = Math.ceil(left / 1000);
    return { ...entry.outcome, fromCache: true, ms: 0, ...('ttl' in entry.outcome ? { ttl } : {}) } as DnsOutcome;
  }

  set(key: string, outcome: DnsOutcome): void {
    if (this.#maxEntries === 0 || outcome.status === 'error' || outcome.ttl <= 0) return;
    const seconds = Math.min(outcome.ttl, this.#maxTtlSeconds);
    this.#entries.delete(key);
    this.#entries.set(key, { outcome, expires: this.#now() + seconds * 1000 });
    if (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
  }
}
