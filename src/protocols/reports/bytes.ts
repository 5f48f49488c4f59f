/**
 * Bytes read as they come (a file stream, a decompressor's output), with a look
 * at the first ones before deciding what they are: the format is sniffed from
 * the content, never from a name or a MIME type.
 */
export type ByteSource = AsyncIterable<Uint8Array>;

/** A source read once: `head()` buffers the first bytes, `rest()` yields everything not yet taken (the head included). */
export class ByteReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private buffered: Buffer[] = [];
  private bufferedLength = 0;
  private ended = false;

  constructor(source: ByteSource) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** At least `count` bytes from the start (fewer only when the source ends first). */
  async head(count: number): Promise<Buffer> {
    while (this.bufferedLength < count && !this.ended) {
      const next = await this.iterator.next();
      if (next.done) {
        this.ended = true;
        break;
      }
      const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
      this.buffered.push(chunk);
      this.bufferedLength += chunk.length;
    }
    if (this.buffered.length > 1) this.buffered = [Buffer.concat(this.buffered, this.bufferedLength)];
    return (this.buffered[0] ?? Buffer.alloc(0)).subarray(0, count);
  }

  /** Drops the first `count` buffered bytes (after a look with head()). */
  skip(count: number): void {
    const head = this.buffered[0];
    if (!head) return;
    const rest = head.subarray(Math.min(count, head.length));
    this.buffered = rest.length > 0 ? [rest, ...this.buffered.slice(1)] : this.buffered.slice(1);
    this.bufferedLength -= head.length - rest.length;
  }

  /** Whether nothing is left. */
  async atEnd(): Promise<boolean> {
    return (await this.head(1)).length === 0;
  }

  /** Everything not yet taken, as it comes. Stopping early (break, a throw) stops the source too. */
  async *rest(): AsyncGenerator<Buffer> {
    const buffered = this.buffered;
    this.buffered = [];
    this.bufferedLength = 0;
    yield* buffered;
    if (this.ended) return;
    try {
      for (;;) {
        const next = await this.iterator.next();
        if (next.done) {
          this.ended = true;
          return;
        }
        yield Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
      }
    } finally {
      if (!this.ended) {
        this.ended = true;
        await this.iterator.return?.();
      }
    }
  }

  /** Stops the source without reading further. */
  async close(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.iterator.return?.();
  }
}

/** All the bytes of a source in one buffer (the sources here are already bounded: the input's cap, the expansion budget). */
export async function collect(source: ByteSource): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of source) {
    total += chunk.byteLength;
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  return Buffer.concat(chunks, total);
}

/** A buffer as a source in slices, so a parser fed from it works in small steps as it does from a stream. */
export async function* slices(buffer: Uint8Array, size = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < buffer.byteLength; at += size) yield buffer.subarray(at, at + size);
}
