/**
 * Following a log file that a writer appends to and that gets rotated, for the
 * tailed sources: complete lines only, in batches, each batch handed back with
 * where the next one starts (its checkpoint: the file's identity, dev and inode,
 * the byte position after the batch's last line, and a fingerprint of the file's
 * first bytes, since a rotated file's inode can be reused by the next one). The
 * caller commits a batch with its checkpoint and only then `accept`s it: until
 * then `read` returns the same lines again, so a batch that could not be
 * committed is retried, never skipped.
 *
 * Rotation is polled for (fs.watch loses track of renamed files):
 * - renamed (or deleted) and a new file created at the path: the old file is
 *   kept open and read to its end; the switch to the new file (from its first
 *   byte) waits until the new file has data, since the writer appends to the old
 *   one until it reopens, and is made after one more read of the old one to its
 *   end, so that nothing the writer wrote there before reopening is left behind;
 * - truncated in place (copytruncate): the size is below the position, or the
 *   first bytes are no longer those fingerprinted: read again from the start.
 * At start, a checkpoint naming a file that is no longer at the path is looked
 * for beside it (mail.log.1, mail.log-20261206: the rotated names) and finished
 * first. A missing file is waited for.
 *
 * A line longer than `maxLineBytes` is skipped (counted), and never held whole:
 * its bytes are scanned for its end and dropped.
 */
import { createHash } from 'node:crypto';
import { type BigIntStats, constants } from 'node:fs';
import { type FileHandle, open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Where reading got to, as it is kept between runs. */
export interface TailCheckpoint {
  /** The file's device and inode (decimal, as they may exceed 2^53). */
  dev: string;
  ino: string;
  /** The byte after the last line read. */
  position: number;
  /** SHA-256 (hex) of the file's first `headLength` bytes: min(position, 1 KiB). */
  head: string;
  headLength: number;
}

const checkpointVersion = 1;

export function encodeCheckpoint(checkpoint: TailCheckpoint): string {
  return JSON.stringify({ v: checkpointVersion, ...checkpoint });
}

/** A checkpoint as `encodeCheckpoint` wrote it; undefined when the text is not one. */
export function decodeCheckpoint(text: string | undefined): TailCheckpoint | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const { v, dev, ino, position, head, headLength } = value as Record<string, unknown>;
  if (v !== checkpointVersion || typeof dev !== 'string' || !/^\d+$/.test(dev) || typeof ino !== 'string' || !/^\d+$/.test(ino)) return undefined;
  if (!Number.isSafeInteger(position) || (position as number) < 0 || typeof head !== 'string' || !Number.isSafeInteger(headLength) || (headLength as number) < 0) return undefined;
  return { dev, ino, position: position as number, head, headLength: headLength as number };
}

/** How many first bytes of a file are fingerprinted. */
const headBytes = 1024;
/** Bytes read at a time. */
const chunkBytes = 64 * 1024;

interface Identity {
  dev: bigint;
  ino: bigint;
}

const sameFile = (a: Identity, b: Identity) => a.dev === b.dev && a.ino === b.ino;

/** The file being read: an open handle, its identity, and the committed position in it. */
interface Cursor {
  handle: FileHandle;
  identity: Identity;
  position: number;
  /** The fingerprint of the first `headLength` bytes, once known. */
  head: string;
  headLength: number;
}

export interface TailBatch {
  /** Complete lines, without their line ends. */
  lines: string[];
  /** Lines longer than maxLineBytes, skipped. */
  skipped: number;
  /** Where the next batch starts: commit it with these lines, then accept the batch. */
  checkpoint: TailCheckpoint;
  /** Lines may be waiting past this batch (it stopped at a bound, not at the end of the file). */
  more: boolean;
  /** What happened to the file before these lines, when anything did. */
  event?: 'switched' | 'truncated';
  /** The state to take on accept. */
  next: Cursor;
}

export type TailRead = { state: 'missing' } | { state: 'idle' } | ({ state: 'lines' } & TailBatch);

export interface FileTailOptions {
  maxLineBytes: number;
  /** No checkpoint yet: start at the end of the file that is there (a file that appears later is read from its start), or at its beginning. */
  startAt: 'end' | 'beginning';
}

async function statOf(path: string): Promise<BigIntStats | undefined> {
  try {
    return await stat(path, { bigint: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function openFile(path: string): Promise<{ handle: FileHandle; identity: Identity; size: number } | undefined> {
  let handle: FileHandle;
  try {
    // Non-blocking: a FIFO at the path must not hang the open (it is refused below).
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const stats = await handle.stat({ bigint: true });
  if (!stats.isFile()) {
    await handle.close();
    throw new Error(`${path} is not a regular file`);
  }
  return { handle, identity: { dev: stats.dev, ino: stats.ino }, size: Number(stats.size) };
}

async function fingerprint(handle: FileHandle, length: number): Promise<string> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  // Fewer bytes than fingerprinted: the file is not the one it was.
  return filled < length ? '' : createHash('sha256').update(buffer).digest('hex');
}

/** The offset after the last newline before `size`, looking back at most `window` bytes (0 when the file is shorter and has none). */
async function lastLineStart(handle: FileHandle, size: number, window: number): Promise<number | undefined> {
  const from = Math.max(0, size - window);
  const buffer = Buffer.alloc(size - from);
  const { bytesRead } = await handle.read(buffer, 0, buffer.length, from);
  const newline = buffer.subarray(0, bytesRead).lastIndexOf(0x0a);
  if (newline >= 0) return from + newline + 1;
  return from === 0 ? 0 : undefined;
}

export class FileTail {
  readonly path: string;
  readonly #options: FileTailOptions;
  #cursor: Cursor | undefined;
  /** The line at the cursor is too long, and has no end up to this offset: scan on from here. */
  #longLine: { from: number; scannedTo: number } | undefined;
  /** No checkpoint was given: the first file found is read from its start unless it was there at start. */
  #fresh = false;
  #opened = false;
  /** Messages about what was found at open, for the caller's log. */
  readonly notes: string[] = [];

  constructor(path: string, options: FileTailOptions) {
    this.path = path;
    this.#options = options;
  }

  /** The checkpoint of the state accepted so far (undefined while no file was found). */
  get checkpoint(): TailCheckpoint | undefined {
    const cursor = this.#cursor;
    return cursor ? checkpointOf(cursor) : undefined;
  }

  /**
   * Find where to start: the checkpointed file at its position (at the path, or
   * renamed beside it), else the file at the path from its start, or — with no
   * checkpoint — from its end (`startAt: end`). Resolves false while there is no
   * file to read.
   */
  async open(checkpoint: TailCheckpoint | undefined): Promise<boolean> {
    if (this.#opened) return true;
    if (checkpoint === undefined && !this.#fresh) {
      this.#fresh = true;
      const found = await openFile(this.path);
      if (!found) return false;
      const position = this.#options.startAt === 'beginning' ? 0 : await this.#endOf(found.handle, found.size);
      this.#take({ handle: found.handle, identity: found.identity, position, head: '', headLength: 0 });
      this.notes.push(`no checkpoint: reading from ${position === 0 ? 'the start' : `the end (byte ${position})`}`);
      return true;
    }
    if (checkpoint === undefined) {
      // Fresh, and the file was missing at start: whatever appears is new.
      const found = await openFile(this.path);
      if (!found) return false;
      this.#take({ handle: found.handle, identity: found.identity, position: 0, head: '', headLength: 0 });
      this.notes.push('the file appeared: reading from its start');
      return true;
    }
    const wanted: Identity = { dev: BigInt(checkpoint.dev), ino: BigInt(checkpoint.ino) };
    const atPath = await openFile(this.path);
    if (atPath && sameFile(atPath.identity, wanted)) {
      if (atPath.size >= checkpoint.position && (await matches(atPath.handle, checkpoint))) {
        this.#take({ handle: atPath.handle, identity: atPath.identity, position: checkpoint.position, head: checkpoint.head, headLength: checkpoint.headLength });
      } else {
        this.#take({ handle: atPath.handle, identity: atPath.identity, position: 0, head: '', headLength: 0 });
        this.notes.push('the file was truncated or replaced since the checkpoint: reading from its start');
      }
      return true;
    }
    const rotated = await this.#findRotated(checkpoint, wanted);
    if (rotated) {
      await atPath?.handle.close();
      this.#take({ handle: rotated.handle, identity: wanted, position: checkpoint.position, head: checkpoint.head, headLength: checkpoint.headLength });
      this.notes.push(`the checkpointed file was rotated to ${rotated.name}: finishing it first`);
      return true;
    }
    if (!atPath) return false;
    this.#take({ handle: atPath.handle, identity: atPath.identity, position: 0, head: '', headLength: 0 });
    this.notes.push('the checkpointed file is gone (rotated away and not found beside it): lines after its checkpoint were not read; reading the current file from its start');
    return true;
  }

  async #endOf(handle: FileHandle, size: number): Promise<number> {
    // A partial last line is being written: start at its beginning so that it is read whole.
    const start = await lastLineStart(handle, size, this.#options.maxLineBytes + 1);
    if (start !== undefined) return start;
    this.#longLine = { from: size, scannedTo: size };
    return size;
  }

  #take(cursor: Cursor): void {
    this.#cursor = cursor;
    this.#opened = true;
  }

  /** A rotated sibling (same dir, name starting with the file's) holding the checkpointed file, opened. */
  async #findRotated(checkpoint: TailCheckpoint, wanted: Identity): Promise<{ handle: FileHandle; name: string } | undefined> {
    const dir = dirname(this.path);
    const base = basename(this.path);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return undefined;
    }
    const candidates = names.filter((name) => name !== base && name.startsWith(base) && !/\.(gz|bz2|xz|zst|lz4|z|zip)$/i.test(name)).slice(0, 100);
    for (const name of candidates) {
      const stats = await statOf(join(dir, name)).catch(() => undefined);
      if (!stats || !sameFile({ dev: stats.dev, ino: stats.ino }, wanted)) continue;
      const found = await openFile(join(dir, name)).catch(() => undefined);
      if (!found) continue;
      if (sameFile(found.identity, wanted) && found.size >= checkpoint.position && (await matches(found.handle, checkpoint))) return { handle: found.handle, name };
      await found.handle.close();
    }
    return undefined;
  }

  /**
   * The next batch of at most `maxLines` lines (and about `maxBytes` bytes) from
   * the accepted position; `idle` when there is nothing new, `missing` when no
   * file is open yet. Reading again before `accept` returns the same lines.
   */
  async read(maxLines: number, maxBytes: number): Promise<TailRead> {
    const cursor = this.#cursor;
    if (!cursor) return { state: 'missing' };
    // Looked at before reading: a new file with data at the path means the old one was
    // written to for the last time before this read (one writer reopens, then writes).
    const atPath = await statOf(this.path);
    const renamed = atPath !== undefined && !sameFile({ dev: atPath.dev, ino: atPath.ino }, cursor.identity);
    if (!renamed && atPath !== undefined && (Number(atPath.size) < cursor.position || !(await matches(cursor.handle, checkpointOf(cursor))))) {
      this.#longLine = undefined;
      const next: Cursor = { ...cursor, position: 0, head: '', headLength: 0 };
      const batch = await this.#scan(next, maxLines, maxBytes);
      return { state: 'lines', ...batch, event: 'truncated' };
    }
    const batch = await this.#scan(cursor, maxLines, maxBytes);
    if (batch.lines.length > 0 || batch.skipped > 0 || batch.more) return { state: 'lines', ...batch };
    if (renamed && Number(atPath.size) > 0) {
      // The old file is finished: its unterminated last line, if any, is a line too.
      const tail = await this.#unterminated(cursor);
      const found = await openFile(this.path);
      if (!found) return { state: 'idle' };
      const next: Cursor = { handle: found.handle, identity: found.identity, position: 0, head: '', headLength: 0 };
      return {
        state: 'lines',
        lines: tail.line !== undefined ? [tail.line] : [],
        skipped: tail.skipped,
        more: true,
        event: 'switched',
        checkpoint: checkpointOf(next),
        next,
      };
    }
    return { state: 'idle' };
  }

  /** Take a batch as committed: its lines are not read again. */
  async accept(batch: TailBatch): Promise<void> {
    const previous = this.#cursor;
    if (previous && previous.handle !== batch.next.handle) {
      await previous.handle.close().catch(() => undefined);
      this.#longLine = undefined;
    }
    this.#cursor = batch.next;
  }

  /** Forget a batch that will not be committed (its file handle, when it opened one). */
  async discard(batch: TailBatch): Promise<void> {
    if (batch.next.handle !== this.#cursor?.handle) await batch.next.handle.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.#cursor?.handle.close().catch(() => undefined);
    this.#cursor = undefined;
  }

  /** The bytes after the last newline of a finished file, as one line (or skipped when too long). */
  async #unterminated(cursor: Cursor): Promise<{ line?: string; skipped: number }> {
    const size = Number((await cursor.handle.stat({ bigint: true })).size);
    if (size <= cursor.position) return { skipped: 0 };
    if (size - cursor.position > this.#options.maxLineBytes) return { skipped: 1 };
    const buffer = Buffer.alloc(size - cursor.position);
    const { bytesRead } = await cursor.handle.read(buffer, 0, buffer.length, cursor.position);
    const line = buffer.subarray(0, bytesRead).toString('utf8').replace(/\r$/, '');
    return line.length > 0 ? { line, skipped: 0 } : { skipped: 0 };
  }

  /** Complete lines from the cursor's position. */
  async #scan(cursor: Cursor, maxLines: number, maxBytes: number): Promise<TailBatch> {
    const { maxLineBytes } = this.#options;
    const lines: string[] = [];
    let skipped = 0;
    let consumed = cursor.position;
    // A long line found by an earlier read: go on scanning for its end where that read stopped.
    let skipping = this.#longLine !== undefined && this.#longLine.from === cursor.position;
    let readAt = skipping ? this.#longLine!.scannedTo : cursor.position;
    let carry: Buffer[] = [];
    let carried = 0;
    let more = false;
    const chunk = Buffer.alloc(chunkBytes);
    reading: for (;;) {
      const { bytesRead } = await cursor.handle.read(chunk, 0, chunk.length, readAt);
      if (bytesRead === 0) break;
      let start = 0;
      for (;;) {
        const newline = chunk.indexOf(0x0a, start);
        if (newline < 0 || newline >= bytesRead) break;
        if (skipping) {
          skipped++;
          skipping = false;
        } else if (carried + (newline - start) > maxLineBytes) {
          skipped++;
        } else {
          const bytes = carried === 0 ? chunk.subarray(start, newline) : Buffer.concat([...carry, chunk.subarray(start, newline)]);
          lines.push(bytes.toString('utf8').replace(/\r$/, ''));
        }
        carry = [];
        carried = 0;
        start = newline + 1;
        consumed = readAt + start;
        if (lines.length >= maxLines || consumed - cursor.position >= maxBytes) {
          more = true;
          break reading;
        }
      }
      if (!skipping) {
        const rest = bytesRead - start;
        if (carried + rest > maxLineBytes) {
          // Too long already: drop what is held and scan on for its end.
          skipping = true;
          carry = [];
          carried = 0;
        } else if (rest > 0) {
          carry.push(Buffer.from(chunk.subarray(start, bytesRead)));
          carried += rest;
        }
      }
      readAt += bytesRead;
    }
    this.#longLine = skipping ? { from: consumed, scannedTo: readAt } : undefined;
    const next: Cursor = { ...cursor, position: consumed };
    if (next.headLength < Math.min(headBytes, consumed)) {
      next.headLength = Math.min(headBytes, consumed);
      next.head = await fingerprint(cursor.handle, next.headLength);
    }
    return { lines, skipped, more, checkpoint: checkpointOf(next), next };
  }
}

function checkpointOf(cursor: Cursor): TailCheckpoint {
  return { dev: cursor.identity.dev.toString(), ino: cursor.identity.ino.toString(), position: cursor.position, head: cursor.head, headLength: cursor.headLength };
}

/** Do the file's first bytes still hash as the checkpoint says? */
async function matches(handle: FileHandle, checkpoint: TailCheckpoint): Promise<boolean> {
  if (checkpoint.headLength === 0) return true;
  return (await fingerprint(handle, checkpoint.headLength)) === checkpoint.head;
}
