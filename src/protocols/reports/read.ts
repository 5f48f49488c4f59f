/**
 * The one way in for feedback: whatever arrived (a file, an HTTP body, a mail
 * from the reports mailbox), every report in it, each as its own outcome.
 *
 * What each document is comes from its content, never from a name or a MIME
 * type: an archive is opened (unpack.ts), then XML with a `<feedback>` root is a
 * DMARC aggregate report, a JSON object with `policies` or `organization-name`
 * a TLS report, a header block a mail — first read as a complaint (ARF) or a
 * bounce (DSN), else each of its attachments read in turn (a gzip sent as
 * application/octet-stream, application/tlsrpt+gzip, a zip, inline text/xml, a
 * forwarded message/rfc822). One bad part never hides a good one; parts that are
 * not reports at all (a logo, a signature) are left out, and a mail with no
 * report in it is one 'unknown' outcome.
 *
 * A plain or gzip XML report given as a stream goes straight into the XML
 * parser, never held whole; zips, JSON and mails are held (each bounded).
 */
import type { Readable } from 'node:stream';
import { simpleParser } from 'mailparser';
import { parseArf } from '../mail/arf.ts';
import { readDsn } from '../mail/dsn.ts';
import { type ByteSource, ByteReader, collect } from './bytes.ts';
import { parseAggregate } from './dmarc-aggregate.ts';
import { defaultReportLimits } from './limits.ts';
import { cleanText, maxNameLength } from './text.ts';
import { looksLikeTlsRpt, parseTlsRpt } from './tls-rpt.ts';
import { type FeedbackReport, ReportRefused, type ReportLimits } from './types.ts';
import { type ExpansionBudget, unpack } from './unpack.ts';

/** One report read, or why one document (a part of a mail, a zip member) was refused; `part` names where it was. */
export type ReadOutcome = { ok: true; report: FeedbackReport; part?: string } | { ok: false; error: ReportRefused; part?: string };

interface Context {
  limits: ReportLimits;
  budget: ExpansionBudget;
}

/**
 * Every report in an input, in order. Never throws for what the input holds
 * (each refusal is an outcome with its code and reason); throws only when the
 * input itself cannot be read (a file stream's I/O error).
 */
export async function readFeedback(input: Buffer | Readable, limits: Partial<ReportLimits> = {}): Promise<ReadOutcome[]> {
  return readInput(input, { limits: { ...defaultReportLimits, ...limits }, budget: { used: 0 } }, undefined, 0);
}

/** `mails` is how many mails are already open around this input (a forwarded message/rfc822 is one more). */
async function readInput(input: Buffer | Readable, context: Context, name: string | undefined, mails: number): Promise<ReadOutcome[]> {
  const outcomes: ReadOutcome[] = [];
  for await (const unpacked of unpack(input, context.limits, { budget: context.budget, ...(name === undefined ? {} : { name }) })) {
    if (!unpacked.ok) {
      outcomes.push(outcome(unpacked.error, unpacked.name));
      continue;
    }
    try {
      outcomes.push(...(await readDocument(unpacked.content, context, unpacked.name, mails)));
    } catch (error) {
      if (!(error instanceof ReportRefused)) throw error;
      outcomes.push(outcome(error, unpacked.name));
    }
  }
  return outcomes;
}

function outcome(result: FeedbackReport | ReportRefused, part: string | undefined): ReadOutcome {
  const base: ReadOutcome = result instanceof ReportRefused ? { ok: false, error: result } : { ok: true, report: result };
  if (part !== undefined) base.part = part;
  return base;
}

const spaces = Buffer.alloc(64 * 1024, 0x20);

/** The index of the first byte that is not ASCII white space; -1 when all are (a loop, not findIndex: a bomb of spaces is scanned to its cap). */
function firstNonSpace(bytes: Buffer): number {
  // A run of spaces (what a bomb of white space is made of) is compared at once.
  if (bytes.length <= spaces.length && bytes.equals(spaces.subarray(0, bytes.length))) return -1;
  for (let at = 0; at < bytes.length; at++) {
    const byte = bytes[at]!;
    if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) return at;
  }
  return -1;
}

/** A mail's first line: a header field (or an mbox "From " line). */
const mailStart = /^(?:From [^\r\n]*\r?\n)?[!-9;-~]{1,76}:/;

/** One decompressed document: sniffed, then read by its parser. Throws ReportRefused. */
async function readDocument(content: ByteSource, context: Context, part: string | undefined, mails: number): Promise<ReadOutcome[]> {
  const reader = new ByteReader(content);
  try {
    let head = await reader.head(3);
    let encoding: 'utf-8' | 'utf-16le' | 'utf-16be' | undefined;
    if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) encoding = 'utf-8';
    else if (head[0] === 0xff && head[1] === 0xfe) encoding = 'utf-16le';
    else if (head[0] === 0xfe && head[1] === 0xff) encoding = 'utf-16be';
    if (encoding) reader.skip(encoding === 'utf-8' ? 3 : 2);
    if (encoding?.startsWith('utf-16')) {
      // Only XML is ever sent in UTF-16 (JSON and mail are UTF-8 or ASCII).
      const text = new TextDecoder(encoding).decode(await reader.head(256)).trimStart();
      if (!text.startsWith('<')) throw notAReport(await reader.head(8));
      return [outcome(await parseAggregate(reader.rest(), context.limits, { encoding }), part)];
    }
    // Leading white space is skipped however long it is: read (and counted by unpack) but never kept.
    for (;;) {
      head = await reader.head(64 * 1024);
      if (head.length === 0) throw new ReportRefused('unknown', 'empty: no report in it');
      const first = firstNonSpace(head);
      if (first >= 0) {
        reader.skip(first);
        break;
      }
      reader.skip(head.length);
    }
    head = await reader.head(1024);
    if (head[0] === 0x3c /* < */) return [outcome(await parseAggregate(reader.rest(), context.limits, encoding ? { encoding } : {}), part)];
    if (head[0] === 0x7b /* { */) return [outcome(await readJson(await collect(reader.rest()), context), part)];
    if (mailStart.test(head.toString('latin1'))) return await readMail(await collect(reader.rest()), context, part, mails);
    throw notAReport(head);
  } finally {
    await reader.close();
  }
}

function notAReport(head: Uint8Array): ReportRefused {
  const bytes = [...head.subarray(0, 8)].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
  return new ReportRefused('unknown', `not a report of a known kind (DMARC aggregate XML, TLS-RPT JSON, a mail, or an archive of one): it starts with the bytes ${bytes}`);
}

async function readJson(bytes: Buffer, context: Context): Promise<FeedbackReport> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8').decode(bytes));
  } catch (error) {
    throw new ReportRefused('malformed', `the JSON is not well-formed: ${cleanText((error as Error).message, 200)}`);
  }
  if (!looksLikeTlsRpt(value)) throw new ReportRefused('unknown', 'a JSON document that is not a TLS report (no "policies" or "organization-name")');
  return parseTlsRpt(value, context.limits);
}

/** A mail: a complaint, a bounce, else every report attached to it. */
async function readMail(message: Buffer, context: Context, part: string | undefined, mails: number): Promise<ReadOutcome[]> {
  const complaint = await parseArf(message);
  if (complaint) return [outcome(complaint, part)];
  const bounce = await readDsn(message);
  if (bounce) return [outcome(bounce, part)];
  if (mails >= context.limits.maxNesting) {
    throw new ReportRefused('zip-members', `mails forwarded inside mails more than ${context.limits.maxNesting} deep (maxNesting)`);
  }
  let attachments: Awaited<ReturnType<typeof simpleParser>>['attachments'];
  try {
    ({ attachments } = await simpleParser(message, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true }));
  } catch (error) {
    throw new ReportRefused('malformed', `the mail cannot be read: ${cleanText((error as Error).message, 200)}`);
  }
  const outcomes: ReadOutcome[] = [];
  const looked = attachments.slice(0, context.limits.maxParts);
  for (const [index, attachment] of looked.entries()) {
    const label = attachment.filename ? cleanText(attachment.filename, maxNameLength) : `part ${index + 1} (${cleanText(attachment.contentType, 100)})`;
    const name = part === undefined ? label : `${part}/${label}`;
    const found = await readInput(attachment.content, context, name, mails + 1);
    // A part that is no report at all (a logo, a signature, a text) is not an outcome; a report that cannot be read is.
    outcomes.push(...found.filter((result) => result.ok || result.error.code !== 'unknown'));
  }
  if (attachments.length > looked.length) {
    outcomes.push(outcome(new ReportRefused('too-large', `the mail has ${attachments.length} attachments: only the first ${looked.length} were read (maxParts)`), part));
  }
  if (outcomes.length === 0) {
    throw new ReportRefused('unknown', `a mail with no report in it: not a complaint (ARF), not a bounce (DSN), and none of its ${attachments.length} attachments is a report`);
  }
  return outcomes;
}
