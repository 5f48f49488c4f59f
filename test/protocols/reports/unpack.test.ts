/**
 * Safe decompression: formats sniffed from the bytes, and every bomb stopped at
 * its cap, fast and with memory bounded.
 */
import { Readable } from 'node:stream';
import { createDeflateRaw, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { collect } from '../../../src/protocols/reports/bytes.ts';
import type { ReportLimits } from '../../../src/protocols/reports/types.ts';
import { unpack } from '../../../src/protocols/reports/unpack.ts';
import { zip } from '../../helpers/zip.ts';

type Drained = { name?: string; text?: string; refused?: string; message?: string };

/** Every document of an input, read to its end: its text, or its refusal (code and message). */
async function drain(input: Buffer | Readable, limits: Partial<ReportLimits> = {}): Promise<Drained[]> {
  const found: Drained[] = [];
  for await (const item of unpack(input, limits)) {
    const name = item.name === undefined ? {} : { name: item.name };
    if (!item.ok) {
      found.push({ ...name, refused: item.error.code, message: item.error.message });
      continue;
    }
    try {
      found.push({ ...name, text: (await collect(item.content)).toString('utf8') });
    } catch (error: any) {
      found.push({ ...name, refused: error.code, message: error.message });
    }
  }
  return found;
}

/** A gzip of `megabytes` MiB of one byte, built as that many 1 MiB gzip members (gunzip reads them as one stream): ~1 KiB per MiB. */
function gzipBomb(megabytes: number, byte = 0x20): Buffer {
  const member = gzipSync(Buffer.alloc(1024 * 1024, byte), { level: 9 });
  return Buffer.concat(Array.from({ length: megabytes }, () => member));
}

/** Raw deflate of `megabytes` MiB of zeros, built a MiB at a time. */
async function deflatedZeros(megabytes: number): Promise<Buffer> {
  const deflater = createDeflateRaw({ level: 9 });
  const out = collect(deflater);
  const block = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < megabytes; i++) if (!deflater.write(block)) await new Promise((resolve) => deflater.once('drain', resolve));
  deflater.end();
  return out;
}

describe('unpack: formats from the bytes', () => {
  it('passes plain data through as one document', async () => {
    expect(await drain(Buffer.from('<feedback/>'))).toEqual([{ text: '<feedback/>' }]);
  });

  it('inflates a gzip, whatever it was called (the name is kept, never used)', async () => {
    expect(await drain(Buffer.from(gzipSync('<feedback/>')))).toEqual([{ text: '<feedback/>' }]);
    const found = [];
    for await (const item of unpack(gzipSync('{"policies":[]}'), {}, { name: 'report.zip' })) found.push(item.ok && item.name);
    expect(found).toEqual(['report.zip']);
  });

  it('reads a zip member by member, skipping directories, with a gzip member inflated too', async () => {
    const archive = zip([
      { name: 'reports/', data: Buffer.alloc(0), stored: true },
      { name: 'reports/a.xml', data: Buffer.from('<a/>') },
      { name: 'b.xml.gz', data: gzipSync('<b/>'), stored: true },
    ]);
    expect(await drain(archive)).toEqual([
      { name: 'reports/a.xml', text: '<a/>' },
      { name: 'b.xml.gz', text: '<b/>' },
    ]);
  });

  it('reads a stream as it comes', async () => {
    const stream = Readable.from([gzipSync('<feed'), gzipSync('back/>')]);
    expect(await drain(stream)).toEqual([{ text: '<feedback/>' }]);
  });

  it('refuses a corrupt gzip and a corrupt zip as malformed', async () => {
    const truncated = gzipSync(Buffer.alloc(10_000, 'a')).subarray(0, 30);
    expect(await drain(truncated)).toEqual([{ refused: 'malformed', message: 'the gzip data is corrupt: unexpected end of file' }]);
    const broken = zip([{ name: 'a.xml', data: Buffer.from('<a/>') }]).subarray(0, 40);
    expect(await drain(broken)).toEqual([
      { refused: 'malformed', message: 'the zip archive cannot be read: End of central directory record signature not found. Either not a zip file, or file is truncated.' },
    ]);
  });
});

describe('unpack: caps', () => {
  it('refuses an input over maxInputBytes, given whole or as a stream', async () => {
    expect(await drain(Buffer.alloc(2000, 'a'), { maxInputBytes: 1000 })).toEqual([{ refused: 'too-large', message: 'the input is 2000 bytes, more than 1000 (maxInputBytes)' }]);
    const stream = Readable.from([Buffer.alloc(600, 'a'), Buffer.alloc(600, 'a')]);
    expect(await drain(stream, { maxInputBytes: 1000 })).toEqual([{ refused: 'too-large', message: 'the input is larger than 1000 bytes (maxInputBytes)' }]);
  });

  it('stops a gzip bomb (1 GiB from 1 MiB) at the cap, in well under a second, RSS growing by less than 64 MiB', async () => {
    const bomb = gzipBomb(1024);
    expect(bomb.length).toBeLessThan(1.1 * 1024 * 1024);
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peakRss = before;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 5);
    const started = performance.now();
    let refusal: any;
    let bytes = 0;
    // Read and dropped, as a parser would: what is measured is the unpacker.
    for await (const item of unpack(Readable.from([bomb]))) {
      if (!item.ok) throw item.error;
      try {
        for await (const chunk of item.content) bytes += chunk.byteLength;
      } catch (error) {
        refusal = error;
      }
    }
    const elapsed = performance.now() - started;
    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    expect(refusal?.code).toBe('bomb');
    expect(refusal?.message).toBe('the gzip data expands past 268435456 bytes (maxExpandedBytes)');
    // Stopped at the default cap (256 MiB inflated), not after the whole GiB.
    expect(bytes).toBeLessThanOrEqual(256 * 1024 * 1024);
    expect(bytes).toBeGreaterThan(255 * 1024 * 1024);
    // About 0.3 s here; a generous bound for slow machines.
    expect(elapsed).toBeLessThan(5000);
    expect(peakRss - before).toBeLessThan(64 * 1024 * 1024);
    console.info(`gzip bomb: refused after ${bytes} bytes in ${elapsed.toFixed(0)} ms, RSS +${((peakRss - before) / 1024 / 1024).toFixed(1)} MiB`);
  });

  it('refuses a zip with more members than maxZipMembers before reading any', async () => {
    const archive = zip(Array.from({ length: 17 }, (_, i) => ({ name: `r${i}.xml`, data: Buffer.from('<a/>') })));
    expect(await drain(archive)).toEqual([{ refused: 'zip-members', message: 'the zip archive has 17 members, more than 16 (maxZipMembers)' }]);
    expect(await drain(archive, { maxZipMembers: 17 })).toHaveLength(17);
  });

  it('refuses archives nested past maxNesting (a zip in a zip holding a gzip)', async () => {
    const inner = zip([{ name: 'r.xml.gz', data: gzipSync('<a/>'), stored: true }]);
    const outer = zip([{ name: 'inner.zip', data: inner }]);
    expect(await drain(outer)).toEqual([{ name: 'inner.zip/r.xml.gz', refused: 'zip-members', message: 'archives nested more than 2 deep (maxNesting): a gzip inside 2 archives' }]);
    expect(await drain(outer, { maxNesting: 3 })).toEqual([{ name: 'inner.zip/r.xml.gz', text: '<a/>' }]);
    // A gzip of a gzip of a gzip: the same cap.
    expect(await drain(gzipSync(gzipSync(gzipSync('<a/>'))))).toEqual([{ refused: 'zip-members', message: 'archives nested more than 2 deep (maxNesting): a gzip inside 2 archives' }]);
  });

  it('refuses a zip member whose header declares more than the cap, without inflating it', async () => {
    const archive = zip([{ name: 'big.xml', data: Buffer.alloc(2 * 1024 * 1024, 0x20) }]);
    expect(await drain(archive, { maxExpandedBytes: 1024 * 1024 })).toEqual([
      { name: 'big.xml', refused: 'bomb', message: 'zip member "big.xml" declares 2097152 bytes, past 1048576 (maxExpandedBytes)' },
    ]);
  });

  it('refuses a zip member whose header lies about its size (100 bytes declared, 64 MiB inside)', async () => {
    const archive = zip([{ name: 'liar.xml', data: Buffer.alloc(0), declaredSize: 100, deflated: await deflatedZeros(64) }]);
    expect(archive.length).toBeLessThan(200 * 1024);
    expect(await drain(archive)).toEqual([{ name: 'liar.xml', refused: 'bomb', message: 'zip member "liar.xml" expands past the 100 bytes its header declares' }]);
  });

  it('counts the bytes of all members against one budget', async () => {
    const member = Buffer.alloc(600 * 1024, 0x20);
    const archive = zip([
      { name: 'a.xml', data: member },
      { name: 'b.xml', data: member },
      { name: 'c.xml', data: member },
    ]);
    const found = await drain(archive, { maxExpandedBytes: 1024 * 1024 });
    expect(found.map(({ name, refused, message }) => ({ name, refused, message }))).toEqual([
      { name: 'a.xml', refused: undefined, message: undefined },
      { name: 'b.xml', refused: 'bomb', message: 'zip member "b.xml" declares 614400 bytes, past 1048576 (maxExpandedBytes)' },
    ]);
  });

  it('counts the bytes a gzip member inside a zip inflates to', async () => {
    const archive = zip([{ name: 'r.xml.gz', data: gzipBomb(8), stored: true }]);
    expect(await drain(archive, { maxExpandedBytes: 4 * 1024 * 1024 })).toEqual([{ name: 'r.xml.gz', refused: 'bomb', message: 'the gzip data expands past 4194304 bytes (maxExpandedBytes)' }]);
  });
});
