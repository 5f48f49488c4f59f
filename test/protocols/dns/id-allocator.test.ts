import { describe, expect, it } from 'vitest';
import { IdAllocator } from '../../../src/protocols/dns/id-allocator.ts';

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
