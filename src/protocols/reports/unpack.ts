/**
 * Safe decompression of what reporters send: gzip, zip, a gzip in a zip, or
 * nothing at all. The format is sniffed from the content (gzip by 1f 8b, zip by
 * PK\x03\x04), never taken from a file name, an extension or a MIME type: a
 * `.zip` that is a gzip, an `application/octet-stream` that is a zip are common.
 *
 * Everything is streamed and counted as it comes out: a gzip stops (its inflater
 * destroyed) at the first byte past maxExpandedBytes, so a bomb costs at most
 * that much inflating and a few chunks of memory. A zip needs its central
 * directory (at its end), so a zip is held as a buffer (at most maxInputBytes at
 * the top, at most the expansion cap when nested); its members are streamed out
 * of it and counted the same way, whatever their headers declare.
 *
 * One budget of expanded bytes is shared by everything read from one input (all
 * members of a zip, all archives of a mail), so many small bombs are no better
 * than one big one.
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { createGunzip, gunzipSync } from 'node:zlib';
import { fromBufferPromise, type ZipFile } from 'yauzl';
import { type ByteSource, ByteReader, collect, slices } from './bytes.ts';
import { defaultReportLimits } from './limits.ts';
import { cleanText, maxNameLength } from './text.ts';
import { ReportRefused, type ReportLimits } from './types.ts';

/** Expanded bytes used so far by one input, against limits.maxExpandedBytes. */
export interface ExpansionBudget {
  used: number;
}

/** One document found in the input, decompressed; or why a part of it could not be read. */
export type Unpacked =
  /** `content` is read once, before asking for the next document; reading it may throw ReportRefused ('bomb', 'too-large', 'malformed'). */
  { ok: true; name?: string; content: ByteSource } | { ok: false; name?: string; error: ReportRefused };

export interface UnpackOptions {
  /** Shared with other inputs read as part of the same one (the attachments of a mail); a new one by default. */
  budget?: ExpansionBudget;
  /** What the input is called (an attachment's file name): member names are put after it. Never used to guess the format. */
  name?: string;
}

const gzipMagic = (head: Uint8Array) => head[0] === 0x1f && head[1] === 0x8b;
const zipMagic = (head: Uint8Array) => head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;

/**
 * The documents in an input, decompressed and counted, one after the other (a
 * plain input is one document; a zip one per member, directories skipped).
 * Refusals come as values: 'too-large' (input past maxInputBytes), 'bomb'
 * (expanded past maxExpandedBytes), 'zip-members' (too many members, archives
 * nested past maxNesting), 'malformed' (a corrupt archive).
 */
export async function* unpack(input: Buffer | Readable | ByteSource, limits: Partial<ReportLimits> = {}, options: UnpackOptions = {}): AsyncGenerator<Unpacked> {
  const context: Context = { limits: { ...defaultReportLimits, ...limits }, budget: options.budget ?? { used: 0 } };
  const max = context.limits.maxInputBytes;
  if (Buffer.isBuffer(input)) {
    if (input.length > max) {
      yield refused(new ReportRefused('too-large', `the input is ${input.length} bytes, more than ${max} (maxInputBytes)`), options.name);
      return;
    }
    yield* unpackSource(input, context, 0, options.name);
    return;
  }
  yield* unpackSource(capped(input, max), context, 0, options.name);
}

interface Context {
  limits: ReportLimits;
  budget: ExpansionBudget;
}

function refused(error: ReportRefused, name: string | undefined): Unpacked {
  return name === undefined ? { ok: false, error } : { ok: false, name, error };
}

/** The source, refused with 'too-large' at the first byte past `max`. A stream of strings (one with an encoding set) is read as UTF-8. */
async function* capped(source: AsyncIterable<Uint8Array | string>, max: number): AsyncGenerator<Uint8Array> {
  let total = 0;
  for await (const item of source) {
    const chunk = typeof item === 'string' ? Buffer.from(item, 'utf8') : item;
    total += chunk.byteLength;
    if (total > max) throw new ReportRefused('too-large', `the input is larger than ${max} bytes (maxInputBytes)`);
    yield chunk;
  }
}

/** `depth` is how many archives are already open around this source. */
async function* unpackSource(source: Buffer | ByteSource, context: Context, depth: number, name: string | undefined): AsyncGenerator<Unpacked> {
  const reader = Buffer.isBuffer(source) ? undefined : new ByteReader(source);
  let head: Uint8Array;
  try {
    head = reader ? await reader.head(4) : (source as Buffer).subarray(0, 4);
  } catch (error) {
    yield refused(asRefusal(error, 'the data'), name);
    return;
  }
  const archive = gzipMagic(head) ? 'gzip' : zipMagic(head) ? 'zip' : undefined;
  if (!archive) {
    yield { ok: true, ...(name === undefined ? {} : { name }), content: reader ? reader.rest() : slices(source as Buffer) };
    return;
  }
  if (depth >= context.limits.maxNesting) {
    await reader?.close();
    yield refused(
      new ReportRefused('zip-members', `archives nested more than ${context.limits.maxNesting} deep (maxNesting): a ${archive} inside ${depth === 1 ? 'an archive' : `${depth} archives`}`),
      name,
    );
    return;
  }
  if (archive === 'gzip') {
    const small = reader ? undefined : smallGunzip(source as Buffer, context);
    yield* unpackSource(small ?? gunzip(reader ? reader.rest() : slices(source as Buffer), context), context, depth + 1, name);
    return;
  }
  let zip: Buffer;
  try {
    // Inside an archive the bytes are already counted against the expansion budget; at the top, against maxInputBytes.
    zip = reader ? await collect(reader.rest()) : (source as Buffer);
  } catch (error) {
    yield refused(asRefusal(error, 'the zip archive'), name);
    return;
  }
  yield* unpackZip(zip, context, depth + 1, name);
}

/** A gzip whose inflated bytes fit in `smallInflated`: inflated at once, since a zlib stream costs more to set up than a small report to parse. */
const smallInflated = 1024 * 1024;

/** The gzip inflated in one step when it is small (at most `smallInflated` bytes); else undefined, and the stream (with its exact errors) reads it. */
function smallGunzip(gzip: Buffer, context: Context): Buffer | undefined {
  const room = context.limits.maxExpandedBytes - context.budget.used;
  try {
    const inflated = gunzipSync(gzip, { maxOutputLength: Math.max(1, Math.min(smallInflated, room)) });
    spend(context, inflated.length, 'the gzip data');
    return inflated;
  } catch {
    return undefined;
  }
}

/** The gzip's bytes inflated (one member or several), stopped at the first byte past the expansion budget. */
async function* gunzip(source: ByteSource, context: Context): AsyncGenerator<Buffer> {
  const inflater = createGunzip({ chunkSize: 64 * 1024 });
  // pipeline() destroys both sides when either fails or the inflated side is abandoned (a break, a refusal below).
  const inflated = pipeline(source, inflater, () => {});
  try {
    for await (const chunk of inflated as AsyncIterable<Buffer>) {
      spend(context, chunk.length, 'the gzip data');
      yield chunk;
    }
  } catch (error) {
    throw asRefusal(error, 'the gzip data');
  } finally {
    inflater.destroy();
  }
}

/** Counts `bytes` more expanded bytes; past the cap, a 'bomb'. */
function spend(context: Context, bytes: number, what: string): void {
  context.budget.used += bytes;
  if (context.budget.used > context.limits.maxExpandedBytes) {
    throw new ReportRefused('bomb', `${what} expands past ${context.limits.maxExpandedBytes} bytes (maxExpandedBytes)`);
  }
}

async function* unpackZip(buffer: Buffer, context: Context, depth: number, name: string | undefined): AsyncGenerator<Unpacked> {
  let zip: ZipFile;
  try {
    zip = await fromBufferPromise(buffer, { lazyEntries: true, validateEntrySizes: true, strictFileNames: false, decodeStrings: true });
  } catch (error) {
    yield refused(new ReportRefused('malformed', `the zip archive cannot be read: ${messageOf(error)}`), name);
    return;
  }
  try {
    const { maxZipMembers, maxExpandedBytes } = context.limits;
    if (zip.entryCount > maxZipMembers) {
      yield refused(new ReportRefused('zip-members', `the zip archive has ${zip.entryCount} members, more than ${maxZipMembers} (maxZipMembers)`), name);
      return;
    }
    let entries: AsyncIterableIterator<import('yauzl').Entry>;
    try {
      entries = zip.eachEntry();
    } catch (error) {
      yield refused(new ReportRefused('malformed', `the zip archive cannot be read: ${messageOf(error)}`), name);
      return;
    }
    for (;;) {
      let next: IteratorResult<import('yauzl').Entry>;
      try {
        next = await entries.next();
      } catch (error) {
        yield refused(new ReportRefused('malformed', `the zip archive cannot be read: ${messageOf(error)}`), name);
        return;
      }
      if (next.done) return;
      const entry = next.value;
      if (entry.fileName.endsWith('/')) continue;
      const fileName = cleanText(entry.fileName, maxNameLength);
      const member = name === undefined ? fileName : `${name}/${fileName}`;
      const what = `zip member "${fileName}"`;
      // The declared size is only a first check (it may lie): the bytes are counted as they come out.
      if (context.budget.used + entry.uncompressedSize > maxExpandedBytes) {
        yield refused(new ReportRefused('bomb', `${what} declares ${entry.uncompressedSize} bytes, past ${maxExpandedBytes} (maxExpandedBytes)`), member);
        return;
      }
      let stream: Readable;
      try {
        stream = await zip.openReadStreamPromise(entry);
      } catch (error) {
        yield refused(new ReportRefused('malformed', `${what} cannot be read: ${messageOf(error)}`), member);
        continue;
      }
      try {
        yield* unpackSource(zipMember(stream, entry.uncompressedSize, context, what), context, depth, member);
      } finally {
        stream.destroy();
      }
      if (context.budget.used > maxExpandedBytes) return;
    }
  } finally {
    zip.close();
  }
}

/** A zip member's bytes, counted; yauzl (validateEntrySizes) stops one that outgrows its header. */
async function* zipMember(stream: Readable, declared: number, context: Context, what: string): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      spend(context, chunk.length, what);
      yield chunk;
    }
  } catch (error) {
    if (!(error instanceof ReportRefused) && /too many bytes in the stream/.test(messageOf(error))) {
      throw new ReportRefused('bomb', `${what} expands past the ${declared} bytes its header declares`);
    }
    throw asRefusal(error, what);
  } finally {
    stream.destroy();
  }
}

/** A refusal as is; a decompressor's or yauzl's error as 'malformed'; anything else (a file that could not be read) thrown on. */
function asRefusal(error: unknown, what: string): ReportRefused {
  if (error instanceof ReportRefused) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && /^(Z_|ERR_ZLIB)/.test(code)) return new ReportRefused('malformed', `${what} is corrupt: ${messageOf(error)}`);
  if (error instanceof Error && !code) return new ReportRefused('malformed', `${what} cannot be read: ${messageOf(error)}`);
  throw error;
}

function messageOf(error: unknown): string {
  return cleanText(error instanceof Error ? error.message : String(error), 200);
}
