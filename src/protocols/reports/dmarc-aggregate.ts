/**
 * DMARC aggregate reports (RFC 7489 appendix C, and DMARCbis's
 * urn:ietf:params:xml:ns:dmarc-2.0), read as a stream.
 *
 * Streamed with saxes, never as a tree (fast-xml-parser, a DOM): a 100 MB report
 * (about 250,000 records) must parse with its peak memory near the size of the
 * rows it yields, not several times the size of the file. Rows are kept compact:
 * repeated strings, auth results and their lists are interned (shared, frozen),
 * so treat a report's rows as read-only.
 *
 * What reporters really send, and what is done with it:
 * - namespaces and prefixes (`xmlns="urn:ietf:params:xml:ns:dmarc-2.0"`,
 *   `<dmarc:record>`): elements are matched on their local names, lower-cased;
 * - white space around every value; upper-case results (PASS, Fail): results,
 *   dispositions and policies are lower-cased;
 * - optional elements missing (email, adkim, aspf, sp, np, pct, fo,
 *   envelope_from, envelope_to, scope, selector, auth_results itself);
 *   `version`, DMARCbis's `generator`, `testing`, `discovery_method` and
 *   `human_result` are read past;
 * - several `<dkim>`/`<spf>` results and several `<reason>`s per record;
 * - date ranges longer than 24 h: kept as given;
 * - an empty or missing `org_name`: the reporter is named by the domain of
 *   `email` (Google's and others' reports always carry one); with neither, the
 *   report is refused as malformed, naming the field;
 * - bytes that are not valid in the declared encoding become U+FFFD, and
 *   characters XML forbids (a stray NUL, ESC) become U+FFFD too, instead of
 *   failing a whole report over one byte; a BOM is honoured; an XML declaration
 *   naming windows-1252 or ISO-8859-1 (or any encoding the runtime knows) is
 *   decoded accordingly, an unknown one as UTF-8.
 *
 * Refused: any DOCTYPE ('doctype': entities, internal or external, are only
 * declared there, so billion laughs and XXE never start), depth, element and
 * record caps ('xml-limits'), a single text, comment or tag longer than 1 MiB
 * ('xml-limits': saxes keeps each whole until it ends), XML that is not
 * well-formed ('malformed', with saxes's line and column), and a required
 * field missing or invalid ('malformed', naming the record and the field).
 */
import { isIP } from 'node:net';
import { SaxesParser } from 'saxes';
import { type ByteSource, ByteReader, slices } from './bytes.ts';
import { defaultReportLimits } from './limits.ts';
import { cleanText, maxCommentLength, maxNameLength } from './text.ts';
import { type AggregateReport, type AggregateRow, ReportRefused, type ReportLimits } from './types.ts';

/** The longest single text, comment or tag saxes is let to accumulate, in characters. */
export const maxXmlTokenLength = 1024 * 1024;
/** Most report_metadata/error entries kept. */
const maxErrors = 100;
/** The text of one element is collected up to this many characters; values are then cut to their own bound. */
const maxCollected = 4 * maxCommentLength;
/** The children of policy_published and of an auth_results dkim or spf that are read (DMARCbis's testing, discovery_method and human_result are read past). */
const policyFields = new Set(['domain', 'adkim', 'aspf', 'p', 'sp', 'np', 'pct', 'fo']);
const authFields = new Set(['domain', 'selector', 'scope', 'result']);
/** Characters XML 1.0 does not allow (C0 controls other than tab, LF and CR; U+FFFE, U+FFFF). */
const notXmlCharacters = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

export interface AggregateParseOptions {
  /** The encoding a BOM already named (the BOM itself removed by the caller): it wins over the XML declaration. */
  encoding?: 'utf-8' | 'utf-16le' | 'utf-16be';
}

/**
 * The aggregate report in an XML document, read as a stream (bytes as they come,
 * a Buffer or a string). Throws ReportRefused: 'unknown' when the root element is
 * not `<feedback>`, else 'doctype', 'xml-limits' or 'malformed'.
 */
export async function parseAggregate(xml: ByteSource | Uint8Array | string, limits: Partial<ReportLimits> = {}, options: AggregateParseOptions = {}): Promise<AggregateReport> {
  const caps = { ...defaultReportLimits, ...limits };
  const reader = new ByteReader(typeof xml === 'string' ? slices(Buffer.from(xml, 'utf8')) : xml instanceof Uint8Array ? slices(xml) : xml);
  const builder = new ReportBuilder(caps);
  const parser = new SaxesParser({ xmlns: false, position: true });
  let lastEvent = 0;
  const seen = () => {
    lastEvent = parser.position;
  };
  parser.on('doctype', () => {
    throw new ReportRefused('doctype', 'the XML has a DOCTYPE: refused, since entities (billion laughs, external entities) are declared there and a report never needs one');
  });
  parser.on('opentag', (tag) => {
    seen();
    builder.open(tag.name);
  });
  parser.on('closetag', () => {
    seen();
    builder.close();
  });
  parser.on('text', (text) => {
    seen();
    builder.text(text);
  });
  parser.on('cdata', (text) => {
    seen();
    builder.text(text);
  });
  parser.on('comment', seen);
  parser.on('processinginstruction', seen);

  const write = (text: string) => {
    if (text.length === 0) return;
    parser.write(text.replace(notXmlCharacters, '\ufffd'));
    if (parser.position - lastEvent > maxXmlTokenLength) {
      throw new ReportRefused('xml-limits', `the XML has a text, comment or tag longer than ${maxXmlTokenLength} characters`);
    }
  };

  try {
    const decoder = new TextDecoder(options.encoding ?? (await encodingOf(reader)));
    for await (const chunk of reader.rest()) {
      for (let at = 0; at < chunk.length; at += 64 * 1024) write(decoder.decode(chunk.subarray(at, at + 64 * 1024), { stream: true }));
    }
    write(decoder.decode());
    parser.close();
  } catch (error) {
    await reader.close();
    if (error instanceof ReportRefused) throw error;
    // saxes's own errors read "line:column: what".
    const message = error instanceof Error ? error.message : String(error);
    const at = /^(\d+):(\d+): (.*)$/s.exec(message);
    throw new ReportRefused('malformed', at ? `the XML is not well-formed: line ${at[1]}, column ${at[2]}: ${cleanText(at[3]!, 200)}` : `the XML cannot be read: ${cleanText(message, 200)}`);
  }
  return builder.report();
}

/** The encoding of an XML document from its BOM or its declaration; UTF-8 when it names none or one this runtime does not know. */
async function encodingOf(reader: ByteReader): Promise<string> {
  const head = await reader.head(1024);
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return 'utf-8';
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  const declared = /^\s*<\?xml\s[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']/.exec(head.toString('latin1'))?.[1];
  // A declaration readable as ASCII is not UTF-16, whatever it says.
  if (!declared || /^utf-?16/i.test(declared)) return 'utf-8';
  try {
    return new TextDecoder(declared).encoding;
  } catch {
    return 'utf-8';
  }
}

type DkimResult = AggregateRow['dkim'][number];
type SpfResult = AggregateRow['spf'][number];
type Override = AggregateRow['overrides'][number];

interface RowDraft {
  sourceIp?: string;
  count?: string;
  disposition?: string;
  dkimAligned?: string;
  spfAligned?: string;
  overrides: Override[];
  headerFrom?: string;
  envelopeFrom?: string;
  envelopeTo?: string;
  dkim: DkimResult[];
  spf: SpfResult[];
}

/** Strings, results and lists met again and again in a large report, each kept once. */
class Interner {
  private readonly strings = new Map<string, string>();
  private readonly values = new Map<string, unknown>();
  // A report of unique values must not grow the tables without end: past this, values are kept as they are.
  private static readonly cap = 200_000;

  string(text: string): string {
    const known = this.strings.get(text);
    if (known !== undefined) return known;
    if (this.strings.size < Interner.cap) this.strings.set(text, text);
    return text;
  }

  /** One frozen value per key: rows share them. */
  value<T extends object>(key: string, make: () => T): T {
    const known = this.values.get(key);
    if (known !== undefined) return known as T;
    const made = Object.freeze(make());
    if (this.values.size < Interner.cap) this.values.set(key, made);
    return made;
  }
}

/** The report, built element by element as saxes reads them. */
class ReportBuilder {
  private readonly path: string[] = [];
  private collected = '';
  private started = false;
  private org = '';
  private orgEmail = '';
  private reportId = '';
  private begin = '';
  private end = '';
  private readonly errors: string[] = [];
  private readonly policy = new Map<string, string>();
  private readonly rows: AggregateRow[] = [];
  private messages = 0;
  private row: RowDraft | undefined;
  private reason: Partial<Override> | undefined;
  private auth: Map<string, string> | undefined;
  private elements = 0;
  private readonly intern = new Interner();

  private readonly limits: ReportLimits;

  constructor(limits: ReportLimits) {
    this.limits = limits;
  }

  open(name: string): void {
    const local = localName(name);
    if (!this.started) {
      if (local !== 'feedback') {
        throw new ReportRefused('unknown', `an XML document whose root element is <${cleanText(name, 60)}>, not a DMARC aggregate report's <feedback>`);
      }
      this.started = true;
    }
    if (++this.elements > this.limits.maxXmlElements) {
      throw new ReportRefused('xml-limits', `the XML has more than ${this.limits.maxXmlElements} elements (maxXmlElements)`);
    }
    if (this.path.length + 1 > this.limits.maxXmlDepth) {
      throw new ReportRefused('xml-limits', `the XML nests elements more than ${this.limits.maxXmlDepth} deep (maxXmlDepth)`);
    }
    const parent = this.path.at(-1);
    this.path.push(local);
    this.collected = '';
    if (local === 'record' && parent === 'feedback') {
      if (this.rows.length >= this.limits.maxRows) throw new ReportRefused('xml-limits', `the report has more than ${this.limits.maxRows} records (maxRows)`);
      this.row = { overrides: [], dkim: [], spf: [] };
    } else if (local === 'reason' && parent === 'policy_evaluated') {
      this.reason = {};
    } else if ((local === 'dkim' || local === 'spf') && parent === 'auth_results') {
      this.auth = new Map();
    }
  }

  text(text: string): void {
    if (this.collected.length < maxCollected) this.collected += text.slice(0, maxCollected - this.collected.length);
  }

  close(): void {
    const local = this.path.pop()!;
    const parent = this.path.at(-1);
    const value = this.collected;
    this.collected = '';
    switch (parent) {
      case 'report_metadata':
        if (local === 'org_name') this.org = cleanText(value, maxNameLength);
        else if (local === 'email') this.orgEmail = cleanText(value, maxNameLength);
        else if (local === 'report_id') this.reportId = cleanText(value, maxNameLength);
        else if (local === 'error' && this.errors.length < maxErrors) {
          const error = cleanText(value, maxCommentLength);
          if (error) this.errors.push(error);
        }
        return;
      case 'date_range':
        if (local === 'begin') this.begin = value;
        else if (local === 'end') this.end = value;
        return;
      case 'policy_published':
        if (policyFields.has(local)) this.policy.set(local, cleanText(value, maxNameLength));
        return;
      case 'row':
        if (!this.row) return;
        if (local === 'source_ip') this.row.sourceIp = value.trim();
        else if (local === 'count') this.row.count = value.trim();
        return;
      case 'policy_evaluated':
        if (!this.row) return;
        if (local === 'disposition') this.row.disposition = this.word(value);
        else if (local === 'dkim') this.row.dkimAligned = this.word(value);
        else if (local === 'spf') this.row.spfAligned = this.word(value);
        else if (local === 'reason' && this.reason?.type) {
          const { type, comment } = this.reason;
          this.row.overrides.push(comment ? { type, comment } : { type });
          this.reason = undefined;
        }
        return;
      case 'reason':
        if (!this.reason) return;
        if (local === 'type') this.reason.type = this.word(value);
        else if (local === 'comment') {
          const comment = cleanText(value, maxCommentLength);
          if (comment) this.reason.comment = comment;
        }
        return;
      case 'identifiers':
        if (!this.row) return;
        if (local === 'header_from') this.row.headerFrom = this.domain(value);
        else if (local === 'envelope_from') this.row.envelopeFrom = this.domain(value);
        else if (local === 'envelope_to') this.row.envelopeTo = this.domain(value);
        return;
      case 'dkim':
      case 'spf':
        if (this.auth && this.path.at(-2) === 'auth_results' && authFields.has(local)) this.auth.set(local, value);
        return;
      case 'auth_results':
        if (this.row && this.auth && (local === 'dkim' || local === 'spf')) this.row[local].push(this.authResult(local, this.auth));
        this.auth = undefined;
        return;
      case 'feedback':
        if (local === 'record' && this.row) this.finishRow(this.row);
        this.row = undefined;
        return;
    }
  }

  /** A result, disposition or type: one lower-cased word, shared. */
  private word(value: string): string {
    return this.intern.string(cleanText(value, maxNameLength).toLowerCase());
  }

  /** A domain: lower-cased, shared (the same few appear in most rows). */
  private domain(value: string): string {
    return this.intern.string(cleanText(value, maxNameLength).toLowerCase());
  }

  private authResult(kind: 'dkim' | 'spf', fields: Map<string, string>): DkimResult | SpfResult {
    const domain = this.domain(fields.get('domain') ?? '');
    const result = this.word(fields.get('result') ?? '');
    if (kind === 'dkim') {
      const selector = cleanText(fields.get('selector') ?? '', maxNameLength);
      return this.intern.value(`dkim\0${domain}\0${selector}\0${result}`, () => (selector ? { domain, selector, result } : { domain, result }));
    }
    const scope = this.word(fields.get('scope') ?? '');
    return this.intern.value(`spf\0${domain}\0${scope}\0${result}`, () => (scope ? { domain, scope, result } : { domain, result }));
  }

  /** A list of shared entries, itself shared: most rows of a large report carry the same few results. */
  private list<T extends object>(kind: string, entries: T[], keyOf: (entry: T) => string): T[] {
    return this.intern.value(`${kind}\u0001${entries.map(keyOf).join('\u0001')}`, () => entries);
  }

  private finishRow(draft: RowDraft): void {
    const number = this.rows.length + 1;
    const where = `record ${number}`;
    if (!draft.sourceIp) throw new ReportRefused('malformed', `${where}: row/source_ip is missing`);
    if (isIP(draft.sourceIp) === 0) throw new ReportRefused('malformed', `${where}: row/source_ip "${cleanText(draft.sourceIp, 60)}" is not an IP address`);
    if (draft.count === undefined) throw new ReportRefused('malformed', `${where}: row/count is missing`);
    const count = /^\d{1,15}$/.test(draft.count) ? Number(draft.count) : Number.NaN;
    if (!Number.isSafeInteger(count)) throw new ReportRefused('malformed', `${where}: row/count "${cleanText(draft.count, 60)}" is not a non-negative integer`);
    if (!draft.headerFrom) throw new ReportRefused('malformed', `${where}: identifiers/header_from is missing`);
    const row: AggregateRow = {
      sourceIp: this.intern.string(draft.sourceIp.toLowerCase()),
      count,
      disposition: draft.disposition ?? '',
      dkimAligned: draft.dkimAligned ?? '',
      spfAligned: draft.spfAligned ?? '',
      overrides: this.list('reason', draft.overrides, (entry) => `${entry.type}\0${entry.comment ?? ''}`),
      headerFrom: draft.headerFrom,
      dkim: this.list('dkim', draft.dkim, (entry) => `${entry.domain}\0${entry.selector ?? ''}\0${entry.result}`),
      spf: this.list('spf', draft.spf, (entry) => `${entry.domain}\0${entry.scope ?? ''}\0${entry.result}`),
    };
    if (draft.envelopeFrom) row.envelopeFrom = draft.envelopeFrom;
    if (draft.envelopeTo) row.envelopeTo = draft.envelopeTo;
    this.rows.push(row);
    this.messages += count;
  }

  report(): AggregateReport {
    const org = this.org || this.orgEmail.split('@')[1]?.toLowerCase() || '';
    if (!org) throw new ReportRefused('malformed', 'report_metadata/org_name is missing or empty, and there is no email to name the reporter by');
    if (!this.reportId) throw new ReportRefused('malformed', 'report_metadata/report_id is missing or empty');
    const begin = seconds(this.begin, 'report_metadata/date_range/begin');
    const end = seconds(this.end, 'report_metadata/date_range/end');
    const domain = (this.policy.get('domain') ?? '').toLowerCase();
    if (!domain) throw new ReportRefused('malformed', 'policy_published/domain is missing or empty');
    const policy: AggregateReport['policy'] = { domain };
    const adkim = this.policy.get('adkim')?.toLowerCase();
    if (adkim === 'r' || adkim === 's') policy.adkim = adkim;
    const aspf = this.policy.get('aspf')?.toLowerCase();
    if (aspf === 'r' || aspf === 's') policy.aspf = aspf;
    for (const key of ['p', 'sp', 'np', 'fo'] as const) {
      const value = this.policy.get(key)?.toLowerCase();
      if (value) policy[key] = value;
    }
    const pct = this.policy.get('pct');
    if (pct && /^\d{1,3}$/.test(pct) && Number(pct) <= 100) policy.pct = Number(pct);
    const report: AggregateReport = { kind: 'dmarc-aggregate', org, reportId: this.reportId, begin, end, policy, errors: this.errors, rows: this.rows, messages: this.messages };
    if (this.orgEmail) report.orgEmail = this.orgEmail;
    return report;
  }
}

/** The local part of an element's name: `dmarc:record` is `record`. */
function localName(name: string): string {
  return name.slice(name.indexOf(':') + 1).toLowerCase();
}

/** A date_range bound: whole seconds since 1970, white space around allowed. */
function seconds(value: string, field: string): Date {
  const text = value.trim();
  if (!text) throw new ReportRefused('malformed', `${field} is missing or empty`);
  const date = /^\d{1,12}$/.test(text) ? new Date(Number(text) * 1000) : undefined;
  if (!date || Number.isNaN(date.getTime())) throw new ReportRefused('malformed', `${field} "${cleanText(text, 60)}" is not a time in seconds`);
  return date;
}
