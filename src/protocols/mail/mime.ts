/**
 * A small MIME reader for reports that arrive by mail (ARF, DSN): the tree of
 * entities of a message (multiparts and enclosed messages, to a bounded depth and
 * count), each entity's header fields and its body, decoded on demand. mailparser
 * flattens a message into text and attachments and refuses a header over 1 MB;
 * a report's reader needs the tree itself (which part of which multipart/report),
 * the field lines of parts mailparser does not hand out (message/delivery-status,
 * message/feedback-report) and to survive hostile input: here a message is read
 * as bytes (latin1: one character per byte), never refused, only bounded.
 */
import { TextDecoder } from 'node:util';
import { peerField } from './peer-text.ts';

export interface MimeField {
  /** The field name, lower-cased */
  key: string;
  /** The value, unfolded, as raw bytes (latin1) */
  raw: string;
}

export interface MimeEntity {
  headers: MimeField[];
  /** type/subtype, lower-cased (text/plain when absent; message/rfc822 inside multipart/digest) */
  type: string;
  /** Content-Type parameters, names lower-cased */
  params: Record<string, string>;
  /** Content-Transfer-Encoding, lower-cased */
  encoding: string;
  /** The body as it came (latin1), before transfer decoding */
  rawBody: string;
  /** Children of a multipart */
  parts: MimeEntity[];
  /** The message a message/rfc822 (message/global, text/rfc822-headers, an .eml attachment) encloses */
  message?: MimeEntity;
}

export interface MimeLimits {
  /** Deepest nesting of multiparts and enclosed messages read */
  maxDepth: number;
  /** Most entities read in one message */
  maxEntities: number;
}

const defaultLimits: MimeLimits = { maxDepth: 12, maxEntities: 256 };

/** Field lines of a header block or of a report part: unfolded; a blank line is null (it separates groups). */
export function fieldLines(text: string): (MimeField | null)[] {
  const fields: (MimeField | null)[] = [];
  let current: MimeField | undefined;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end > start && text[end - 1] === '\r' ? end - 1 : end);
    start = end + 1;
    if (line.trim() === '') {
      if (end < text.length) fields.push(null);
      current = undefined;
    } else if (/^[ \t]/.test(line)) {
      if (current) current.raw += line;
    } else {
      const colon = line.indexOf(':');
      const key = colon > 0 ? line.slice(0, colon).trim().toLowerCase() : '';
      if (key && /^[\x21-\x39\x3b-\x7e]+$/.test(key)) {
        current = { key, raw: line.slice(colon + 1) };
        fields.push(current);
      } else current = undefined;
    }
    if (end >= text.length) break;
  }
  for (const field of fields) if (field) field.raw = field.raw.trim();
  return fields;
}

/** The header block and the body of an entity: the header ends at the first blank line. */
function splitEntity(text: string): { head: string; body: string } {
  if (/^\r?\n/.test(text)) return { head: '', body: text.replace(/^\r?\n/, '') };
  const match = /\r?\n\r?\n/.exec(text);
  if (!match) return { head: text, body: '' };
  return { head: text.slice(0, match.index), body: text.slice(match.index + match[0].length) };
}

/** A Content-Type (or Content-Disposition) value: its lower-cased first token and its parameters. */
export function parseStructured(value: string): { value: string; params: Record<string, string> } {
  const semicolon = value.indexOf(';');
  const head = (semicolon < 0 ? value : value.slice(0, semicolon))
    .replace(/\([^)]*\)/g, '')
    .trim()
    .toLowerCase();
  const params: Record<string, string> = {};
  if (semicolon >= 0) {
    const pattern = /;\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g;
    for (const match of value.slice(semicolon).slice(0, 8_192).matchAll(pattern)) {
      const name = match[1]!.toLowerCase();
      let param = match[2]!.trim();
      if (param.startsWith('"')) param = param.slice(1, -1).replace(/\\(.)/g, '$1');
      if (!(name in params)) params[name] = param;
    }
  }
  return { value: head, params };
}

/** The children of a multipart body, cut at its boundary lines. */
function splitMultipart(body: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const parts: string[] = [];
  let open = -1;
  let at = body.startsWith(delimiter) ? 0 : body.indexOf(`\n${delimiter}`);
  while (at >= 0) {
    const lineStart = body[at] === '\n' ? at + 1 : at;
    const after = body.slice(lineStart + delimiter.length, lineStart + delimiter.length + 2);
    const closing = after === '--';
    // A boundary that only starts like ours ("--B" of "--B2") is no delimiter.
    if (closing || after === '' || /^[ \t\r\n]/.test(after)) {
      if (open >= 0) parts.push(body.slice(open, at > 0 && body[at - 1] === '\r' ? at - 1 : at));
      if (closing) return parts;
      const lineEnd = body.indexOf('\n', lineStart);
      if (lineEnd < 0) return parts;
      open = lineEnd + 1;
    }
    at = body.indexOf(`\n${delimiter}`, lineStart + 1);
  }
  // No closing delimiter (a truncated report): the last part runs to the end.
  if (open >= 0 && open < body.length) parts.push(body.slice(open));
  return parts;
}

const enclosing = /^(?:message\/(?:rfc822|global|rfc822-headers|global-headers)|text\/rfc822-headers)$/;

/** The tree of a message, bounded: deeper or further entities are left out, never an error. */
export function parseMime(source: Buffer | string, limits: MimeLimits = defaultLimits): MimeEntity {
  let count = 0;
  const read = (text: string, depth: number, defaultType: string): MimeEntity => {
    count++;
    const { head, body } = splitEntity(text);
    const headers = fieldLines(head).filter((field): field is MimeField => field !== null);
    const contentType = headers.find((field) => field.key === 'content-type');
    const parsed = contentType ? parseStructured(contentType.raw) : { value: '', params: {} };
    const type = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(parsed.value) ? parsed.value : defaultType;
    const encoding = (headers.find((field) => field.key === 'content-transfer-encoding')?.raw ?? '7bit').trim().toLowerCase();
    const entity: MimeEntity = { headers, type, params: parsed.params, encoding, rawBody: body, parts: [] };
    if (depth >= limits.maxDepth) return entity;
    const boundary = parsed.params.boundary;
    if (type.startsWith('multipart/') && boundary) {
      const childType = type === 'multipart/digest' ? 'message/rfc822' : 'text/plain';
      for (const part of splitMultipart(body, boundary)) {
        if (count >= limits.maxEntities) break;
        entity.parts.push(read(part, depth + 1, childType));
      }
    } else if (enclosing.test(type) || isEmlAttachment(entity)) {
      if (count < limits.maxEntities) entity.message = read(decodedBody(entity), depth + 1, 'text/plain');
    }
    return entity;
  };
  return read(typeof source === 'string' ? source : source.toString('latin1'), 0, 'text/plain');
}

/** An attachment named *.eml sent as application/octet-stream (some feedback loops send the original so). */
function isEmlAttachment(entity: MimeEntity): boolean {
  if (entity.type !== 'application/octet-stream') return false;
  const disposition = entity.headers.find((field) => field.key === 'content-disposition');
  const name = (disposition ? parseStructured(disposition.raw).params.filename : undefined) ?? entity.params.name ?? '';
  return /\.eml$/i.test(name);
}

/** Quoted-printable to bytes (latin1). */
function decodeQuotedPrintable(text: string): string {
  return text.replace(/[ \t]*=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/** The body after transfer decoding, as bytes (latin1). */
export function decodedBody(entity: MimeEntity): string {
  if (entity.encoding === 'base64') return Buffer.from(entity.rawBody.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64').toString('latin1');
  if (entity.encoding === 'quoted-printable') return decodeQuotedPrintable(entity.rawBody);
  return entity.rawBody;
}

/** Bytes (latin1) as text in a charset (UTF-8 when the charset is unknown); undefined when they are not valid in it. */
function decodeBytes(bytes: string, charset: string): string | undefined {
  if (!/[\x80-\xff]/.test(bytes)) return bytes;
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(charset.trim().toLowerCase() || 'utf-8', { fatal: true });
  } catch {
    decoder = new TextDecoder('utf-8', { fatal: true });
  }
  try {
    return decoder.decode(Buffer.from(bytes, 'latin1'));
  } catch {
    return undefined;
  }
}

/** Bytes (latin1) as text in a charset: UTF-8 unless another is named and known; what is invalid in it is read as latin1. */
export function bytesToText(bytes: string, charset = 'utf-8'): string {
  return decodeBytes(bytes, charset) ?? bytes;
}

/** The body of a text entity as text (its charset). */
export function bodyText(entity: MimeEntity): string {
  return bytesToText(decodedBody(entity), entity.params.charset);
}

/** RFC 2047 encoded words (=?utf-8?B?...?=), adjacent ones joined. */
export function decodeWords(text: string): string {
  return text.replace(/(\?=)\s+(?==\?)/g, '$1').replace(/=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g, (word: string, charset: string, kind: string, data: string) => {
    const bytes = /^b$/i.test(kind)
      ? Buffer.from(data, 'base64').toString('latin1')
      : data.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    return decodeBytes(bytes, charset.replace(/\*.*$/, '')) ?? word;
  });
}

/** The first field of that name, as text (8-bit read as UTF-8, encoded words decoded), not yet cleaned. */
export function headerText(entity: MimeEntity, key: string): string | undefined {
  const field = entity.headers.find((item) => item.key === key);
  return field === undefined ? undefined : decodeWords(bytesToText(field.raw.slice(0, 65_536)));
}

/** Every entity of the tree, the enclosed messages too, in document order. */
export function* entities(root: MimeEntity): Generator<MimeEntity> {
  yield root;
  for (const part of root.parts) yield* entities(part);
  if (root.message) yield* entities(root.message);
}

/** The addresses in an address field (lower-cased), angle-bracketed ones first; empty when none looks like one. */
export function addressesIn(text: string): string[] {
  const bounded = text.slice(0, 8_192);
  const bracketed = [...bounded.matchAll(/<\s*([^<>\s@]+@[^<>\s@]+?)\s*>/g)].map((match) => match[1]!);
  const found = bracketed.length > 0 ? bracketed : [...bounded.matchAll(/[^\s<>"(),;:[\]]+@[^\s<>"(),;:[\]]+/g)].map((match) => match[0]);
  return found.map((address) => peerField(address.replace(/\.$/, '').toLowerCase(), 320)).filter((address): address is string => address !== undefined);
}

/** A date field (RFC 5322, with or without a trailing comment); undefined when it is no date. */
export function parseDate(text: string | undefined): Date | undefined {
  if (!text) return undefined;
  const at = Date.parse(
    text
      .slice(0, 200)
      .replace(/\([^)]*\)/g, ' ')
      .trim(),
  );
  return Number.isFinite(at) ? new Date(at) : undefined;
}

/** What a sent message's headers say about it: who, what, which campaign (raw values, cleaned and bounded). */
export interface OriginalHeaders {
  from?: string;
  to?: string;
  subject?: string;
  messageId?: string;
  date?: Date;
  campaign?: string;
  feedbackId?: string;
  listId?: string;
}

/** Headers a sending platform sets to name a campaign, in order of preference. */
const campaignHeaders = ['x-mailscope-campaign', 'x-campaign', 'x-campaign-id', 'x-campaignid', 'x-mailgun-campaign-id'];

export function originalHeaders(message: MimeEntity): OriginalHeaders {
  const text = (key: string, max = 255) => peerField(headerText(message, key), max);
  const address = (key: string) => {
    const value = headerText(message, key);
    if (value === undefined) return undefined;
    const found = addressesIn(value);
    return found.length > 0 ? peerField(found.join(', '), 255) : peerField(value, 255);
  };
  const original: OriginalHeaders = {};
  const set = <K extends keyof OriginalHeaders>(key: K, value: OriginalHeaders[K] | undefined) => {
    if (value !== undefined) original[key] = value;
  };
  set('from', address('from'));
  set('to', address('to'));
  set('subject', text('subject', 500));
  set('messageId', text('message-id'));
  set('date', parseDate(headerText(message, 'date')));
  set(
    'campaign',
    campaignHeaders.map((key) => text(key)).find((value) => value !== undefined),
  );
  set('feedbackId', text('feedback-id'));
  set('listId', text('list-id'));
  return original;
}
