import { describe, expect, it } from 'vitest';
import { backoffMs } from '../../src/core/backoff.ts';

describe('backoffMs: the one backoff formula', () => {
  const exact = { minMs: 1_000, maxMs: 30_000, jitter: 0.5, random: () => 0 };

  it('doubles from minMs after each failure, up to maxMs', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((failures) => backoffMs(failures, exact))).toEqual([1_000, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  });

  it('shortens each delay by a random share of at most jitter, and does not round', () => {
    expect(backoffMs(3, { ...exact, random: () => 1 })).toBe(2_000);
    expect(backoffMs(3, { ...exact, jitter: 0.2, random: () => 0.5 })).toBe(3_600);
    expect(backoffMs(1, { minMs: 3, maxMs: 100, jitter: 0.5, random: () => 0.5 })).toBe(2.25);
  });
});
