import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../src/protocols/dns/rate-limiter.ts';

describe('RateLimiter (injected clock)', () => {
  it('allows a second’s worth at once, then one every 1/rate seconds', () => {
    let now = 0;
    const limiter = new RateLimiter(4, () => now);
    expect([limiter.take(), limiter.take(), limiter.take(), limiter.take()]).toEqual([0, 0, 0, 0]);
    expect(limiter.take()).toBe(250);
    now += 250;
    expect(limiter.take()).toBe(0);
    expect(limiter.take()).toBe(250);
    now += 10_000;
    expect(Array.from({ length: 5 }, () => limiter.take())).toEqual([0, 0, 0, 0, 250]);
  });

  it('does not limit at 0', () => {
    const limiter = new RateLimiter(0, () => 0);
    expect(Array.from({ length: 1_000 }, () => limiter.take()).every((wait) => wait === 0)).toBe(true);
  });
});
