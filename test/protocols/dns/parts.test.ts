import { describe, expect, it } from 'vitest';
import { IdAllocator } from '../../../src/protocols/dns/id-allocator.ts';
import { RateLimiter } from '../../../src/protocols/dns/rate-limiter.ts';

describe('IdAllocator', () => {
  it('never hands out an id still in use, across the whole 16-bit space', () => {
    const ids = new IdAllocator();
    const taken = new Set<number>();
    for (let i = 0; i < 65_536; i++) {
      const id = ids.take()!;
      expect(taken.has(id)).toBe(false);
      taken.add(id);
    }
    expect(ids.take()).toBeUndefined();
    ids.release(1234);
    expect(ids.take()).toBe(1234);
  });

  it('starts somewhere random, then counts up', () => {
    const starts = new Set(Array.from({ length: 20 }, () => new IdAllocator().take()));
    expect(starts.size).toBeGreaterThan(15);
    const ids = new IdAllocator();
    const first = ids.take()!;
    expect(ids.take()).toBe((first + 1) & 0xffff);
  });
});

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
