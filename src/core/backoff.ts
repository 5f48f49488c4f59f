/**
 * The one backoff formula, for everything that retries a peer (notifications and
 * control pushes through the retry queue, the outbox towards the time-series
 * database): exponential from `minMs`, capped at `maxMs`, each delay shortened by
 * a random share of at most `jitter` so that items failing together do not all
 * come back together.
 */
export interface Backoff {
  minMs: number;
  maxMs: number;
  /** 0..1: each delay is scaled by a random factor in [1 - jitter, 1]. */
  jitter: number;
  random: () => number;
}

/** The delay before attempt n + 1 after n failed attempts (0 counts as 1), in milliseconds, not rounded. */
export function backoffMs(failures: number, backoff: Backoff): number {
  const { minMs, maxMs, jitter, random } = backoff;
  const exponential = Math.min(maxMs, minMs * 2 ** Math.max(0, failures - 1));
  return exponential * (1 - jitter * random());
}
