import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export type BoundedRead =
  | { ok: true; data: Buffer }
  /** Larger than the limit; its size when it has one (a regular file), not when it is a device or a pipe. */
  | { ok: false; tooLarge: true; size?: number }
  | { ok: false; tooLarge: false; error: NodeJS.ErrnoException };

/**
 * A file a person named, read no further than a limit: a regular file's size is
 * checked before a byte is read, a device or a pipe (no size to check) is read
 * until the limit is passed. A wrong path (a disk image, /dev/zero) is refused
 * at once instead of exhausting memory or time.
 */
export function readBounded(file: string, limit: number): BoundedRead {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    return { ok: false, tooLarge: false, error: error as NodeJS.ErrnoException };
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isFile() && stat.size > limit) return { ok: false, tooLarge: true, size: stat.size };
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(64 * 1024, limit + 1 - total));
      const count = readSync(fd, chunk, 0, chunk.length, null);
      if (count === 0) break;
      chunks.push(chunk.subarray(0, count));
      total += count;
      if (total > limit) return { ok: false, tooLarge: true };
    }
    return { ok: true, data: Buffer.concat(chunks, total) };
  } catch (error) {
    return { ok: false, tooLarge: false, error: error as NodeJS.ErrnoException };
  } finally {
    closeSync(fd);
  }
}
