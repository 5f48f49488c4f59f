import { randomInt } from 'node:crypto';

/**
 * Query ids for one socket: sequential from a random start, skipping every id
 * still in flight, so no two queries in flight on a socket ever share an id (with
 * random ids, 1,000 in flight collide hundreds of times per 20,000 queries).
 */
export class IdAllocator {
  #next = randomInt(0, 0x10000);
  readonly #inUse = new Set<number>();

  /** An id not in use; undefined only when all 65,536 are in flight. */
  take(): number | undefined {
    for (let tries = 0; tries < 0x10000; tries++) {
      const id = this.#next;
      this.#next = (this.#next + 1) & 0xffff;
      if (!this.#inUse.has(id)) {
        this.#inUse.add(id);
        return id;
      }
    }
    return undefined;
  }

  release(id: number): void {
    this.#inUse.delete(id);
  }

  get inUse(): number {
    return this.#inUse.size;
  }
}
