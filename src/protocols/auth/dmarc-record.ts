/**
 * The DMARC policy record grammar: RFC 7489 §6.3–6.4 and RFC 9989 (DMARCbis)
 * §4.7–4.8. A record is a DKIM-style tag-list (RFC 6376 §3.2) that starts with
 * "v=DMARC1"; this splits it into terms and checks each registered tag's value
 * against its rule. It says what is written and whether it is valid; what
 * receivers do about a problem is the caller's to say.
 *
 * Not mailauth's parseDmarcRecord: that one is built to evaluate mail leniently.
 * A repeated tag silently keeps the last value (so "p=reject; p=none" reads as
 * none), pct goes through parseInt (150 passes, "abc" becomes 0), and sp, np,
 * fo, t, psd and the report URIs are not checked at all.
 */
import { domainToASCII } from 'node:url';

/** Every registered tag: RFC 7489's, plus RFC 9989's np, psd and t. RFC 9989 removed pct, rf and ri. */
const dmarcTagNames = ['v', 'p', 'sp', 'np', 'adkim', 'aspf', 'pct', 'fo', 'rf', 'ri', 'rua', 'ruf', 'psd', 't'] as const;
export type DmarcTagName = (typeof dmarcTagNames)[number];

const registered = new Set<string>(dmarcTagNames);

const dmarcPolicies = ['none', 'quarantine', 'reject'] as const;
export type DmarcPolicy = (typeof dmarcPolicies)[number];

/**
 * A DMARC policy record as receivers select it: "v=DMARC1" first, the value
 * case-sensitive (RFC 9989 §4.7 "v"; RFC 7489's ABNF spells it in hex). Space
 * around the record is tolerated, as receivers trim it.
 */
export function isDmarcRecord(text: string): boolean {
  return /^[vV][ \t]*=[ \t]*DMARC1[ \t]*(?:;|$)/.test(text.trim());
}

/** Meant as a DMARC record (a v=DMARC… tag somewhere), whether or not receivers accept it as one. */
export function looksLikeDmarc(text: string): boolean {
  return /(?:^|;)[ \t]*v[ \t]*=[ \t]*dmarc/i.test(text.trim());
}

export interface DmarcSyntaxError {
  /** The term as written, space-trimmed. */
  term: string;
  reason: 'no-equals' | 'no-name' | 'bad-name';
}

export interface DmarcTagList {
  /** Each registered tag (lower-cased) with every value it was given, in order: more than one is a repeated tag. */
  tags: Map<DmarcTagName, string[]>;
  /** Tag names that appear more than once (lower-cased), registered or not, in order of first repeat. */
  repeated: string[];
  /** Unregistered tag names, as written, once each. */
  unknown: string[];
  /** Registered tag names not written in lower case, as written, once each. */
  miscased: string[];
  /** Terms that are not tag=value. */
  syntax: DmarcSyntaxError[];
  /** The name of the tag after v (lower-cased): RFC 7489 wants p there. */
  second?: string;
}

// RFC 9989 §4.8: dmarc-sep = *WSP ";" *WSP, equals = *WSP "=" *WSP, dmarc-tag = 1*ALPHA equals 1*dmarc-value.
const trimWsp = (text: string) => text.replace(/^[ \t]+|[ \t]+$/g, '');

/** Splits a record into its tags. Empty terms (";;", a trailing ";") are not errors: receivers skip them. */
export function parseDmarcTagList(text: string): DmarcTagList {
  const list: DmarcTagList = { tags: new Map(), repeated: [], unknown: [], miscased: [], syntax: [] };
  const seen = new Set<string>();
  let index = 0;
  for (const raw of text.trim().split(';')) {
    const term = trimWsp(raw);
    if (!term) continue;
    const at = term.indexOf('=');
    if (at < 0) {
      list.syntax.push({ term, reason: 'no-equals' });
      continue;
    }
    const written = trimWsp(term.slice(0, at));
    if (!written) {
      list.syntax.push({ term, reason: 'no-name' });
      continue;
    }
    if (!/^[A-Za-z]+$/.test(written)) {
      list.syntax.push({ term, reason: 'bad-name' });
      continue;
    }
    const name = written.toLowerCase();
    const value = trimWsp(term.slice(at + 1));
    const position = index++;
    if (position === 1) list.second = name;
    if (seen.has(name) && !list.repeated.includes(name)) list.repeated.push(name);
    seen.add(name);
    if (!registered.has(name)) {
      if (!list.unknown.includes(written)) list.unknown.push(written);
      continue;
    }
    // The version tag's name is matched without regard to case by its own ABNF rule; the others are tag-list names.
    if (written !== name && position > 0 && !list.miscased.includes(written)) list.miscased.push(written);
    const values = list.tags.get(name as DmarcTagName) ?? [];
    values.push(value);
    list.tags.set(name as DmarcTagName, values);
  }
  return list;
}

// Values. ABNF string literals are case-insensitive (RFC 5234 §2.3), so "p=Reject" is p=reject.

/** p, sp, np (dmarc-request). */
export function policyValue(value: string): DmarcPolicy | undefined {
  const lower = value.toLowerCase();
  return (dmarcPolicies as readonly string[]).includes(lower) ? (lower as DmarcPolicy) : undefined;
}

/** adkim, aspf (dmarc-rors). */
export function alignmentValue(value: string): 'r' | 's' | undefined {
  const lower = value.toLowerCase();
  return lower === 'r' || lower === 's' ? lower : undefined;
}

/** t (dmarc-yorn, RFC 9989). */
export function testingValue(value: string): 'y' | 'n' | undefined {
  const lower = value.toLowerCase();
  return lower === 'y' || lower === 'n' ? lower : undefined;
}

/** psd (dmarc-psd, RFC 9989). */
export function psdValue(value: string): 'y' | 'n' | 'u' | undefined {
  const lower = value.toLowerCase();
  return lower === 'y' || lower === 'n' || lower === 'u' ? lower : undefined;
}

/** pct (RFC 7489: 1*3DIGIT, 0 to 100). */
export function percentValue(value: string): number | undefined {
  if (!/^[0-9]{1,3}$/.test(value)) return undefined;
  const percent = Number(value);
  return percent <= 100 ? percent : undefined;
}

/** ri (RFC 7489: 1*DIGIT seconds, a 32-bit unsigned integer). */
export function intervalValue(value: string): number | undefined {
  if (!/^[0-9]{1,10}$/.test(value)) return undefined;
  const seconds = Number(value);
  return seconds <= 0xffffffff ? seconds : undefined;
}

/** What is wrong with an fo= value (RFC 7489 §6.3; RFC 9989 §4.7–4.8: 0 and 1 exclusive, d and s once each), or undefined. */
export function failureOptionsProblem(value: string): string | undefined {
  const options = value.split(':').map((option) => trimWsp(option).toLowerCase());
  const wrong = options.find((option) => !['0', '1', 'd', 's'].includes(option));
  if (wrong !== undefined) return wrong ? `"${wrong}" is not 0, 1, d or s` : 'an option is empty';
  const twice = options.find((option, at) => options.indexOf(option) !== at);
  if (twice) return `${twice} is given twice`;
  if (options.includes('0') && options.includes('1')) return '0 and 1 exclude each other (1 already asks for every report 0 does)';
  return undefined;
}

/** rf (RFC 7489: colon-separated report formats; afrf is the only one registered). */
export function reportFormatValid(value: string): boolean {
  return value.split(':').every((format) => trimWsp(format).toLowerCase() === 'afrf');
}

export interface ReportUri {
  /** The URI as written, size suffix included, space-trimmed. */
  text: string;
  /** Lower-cased, when it is a URI. */
  scheme?: string;
  /** The obsolete "!size" suffix (RFC 7489 §6.2; RFC 9989 obs-dmarc-report-size), without the "!". */
  size?: string;
  /** The destination domains of a valid mailto: URI, lower-cased. */
  domains?: string[];
  /** Why receivers cannot use it; undefined when it is a valid URI. */
  problem?: string;
}

// RFC 3986 URI characters, less "," and "!", which a DMARC URI must percent-encode (RFC 9989 §4.8 dmarc-uri).
const uriPattern = /^([A-Za-z][A-Za-z0-9+.-]*):((?:[A-Za-z0-9\-._~:/?#[\]@$&'()*+;=]|%[0-9A-Fa-f]{2})*)$/;
const sizeSuffix = /^(.*)!([0-9]+[kmgtKMGT]?)$/;
// RFC 5322 dot-atom local part.
const localPart = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const label = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function domainName(text: string): string | undefined {
  const ascii = domainToASCII(text.replace(/\.$/, ''));
  if (!ascii || ascii.length > 253) return undefined;
  const labels = ascii.split('.');
  return labels.length >= 2 && labels.every((part) => label.test(part)) ? ascii : undefined;
}

/** The domains of a mailto: URI's addresses (RFC 6068), or a reason it has none that can be used. */
function mailtoDomains(rest: string): { domains: string[] } | { problem: string } {
  const to = rest.split('?')[0]!;
  let decoded: string;
  try {
    decoded = decodeURIComponent(to);
  } catch {
    return { problem: 'its percent-encoding is broken' };
  }
  if (!decoded) return { problem: 'it has no address' };
  const domains: string[] = [];
  for (const address of decoded.split(',')) {
    const at = address.lastIndexOf('@');
    if (at < 0) return { problem: 'its address has no "@"' };
    if (!localPart.test(address.slice(0, at))) return { problem: 'the part of its address before "@" is not valid' };
    const domain = domainName(address.slice(at + 1));
    if (!domain) return { problem: 'its address does not end in a domain name' };
    if (!domains.includes(domain)) domains.push(domain);
  }
  return { domains };
}

/** rua, ruf (dmarc-urilist): comma-separated URIs, each checked on its own. */
export function reportUris(value: string): ReportUri[] {
  if (!trimWsp(value)) return [{ text: '', problem: 'the tag is empty' }];
  return value.split(',').map((raw): ReportUri => {
    const text = trimWsp(raw);
    if (!text) return { text, problem: 'it is empty (a stray ",")' };
    const sized = sizeSuffix.exec(text);
    const uri = sized ? sized[1]! : text;
    const match = uriPattern.exec(uri);
    if (!match) {
      const reason = uri.includes('!') ? 'a "!" that is not a size suffix like !10m' : !uri.includes(':') ? 'no scheme (write mailto:<address>)' : 'characters a URI cannot hold';
      return { text, problem: `it is not a URI: ${reason}` };
    }
    const scheme = match[1]!.toLowerCase();
    const found: ReportUri = { text, scheme, ...(sized ? { size: sized[2]! } : {}) };
    if (scheme !== 'mailto') return found;
    const mailto = mailtoDomains(match[2]!);
    return 'problem' in mailto ? { ...found, problem: mailto.problem } : { ...found, domains: mailto.domains };
  });
}
