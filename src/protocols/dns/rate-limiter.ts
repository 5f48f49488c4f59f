/**
 * A token bucket: at most `perSecond` queries a second on average, bursts of up to
 * one second's worth. 0 means no limit.
 */
export class RateLimiter {
  readonly #perSecond: number;
  readonly #now: () => number;
  #tokens: number;
  #updated: number;

  constructor(perSecond: number, now: () => number = () => performance.now()) {
    this.#perSecond = perSecond;
    this.#now = now;
    this.#tokens = perSecond;
    this.#updated = now();
  }

  get unlimited(): boolean {
    return this.#perSecond === 0;
  }

  /** Takes a token and returns 0, or returns how many ms until one is due (taking nothing). */
  take(): number {
    if (this.#perSecond === 0) return 0;
    const now = this.#now();
    this.#tokens = Math.min(this.#perSecond, this.#tokens + ((now - this.#updated) * this.#perSecond) / 1000);
    this.#updated = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.#tokens) * 1000) / this.#perSecond);
  }
}
