/**
 * Text that leaves Mailscope (error messages kept in the store and shown by the
 * API, log lines) never carries a configured secret, and text received from a
 * peer (an error body, an SMTP reply) is cut to a bound and freed of control
 * characters before it is kept. The secrets are the values core/secret.ts was
 * told never to emit; each is looked for as sent and as commonly re-encoded.
 */
import { minRedactedLength, neverEmittedValues, redacted } from './secret.ts';
import { controlCharacters } from './text.ts';

/** The stretches of base64 that encode `value` wherever it sits in the encoded text (three byte alignments). */
function base64Pieces(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const pieces: string[] = [];
  for (let pad = 0; pad < 3; pad++) {
    const encoded = Buffer.concat([Buffer.alloc(pad), bytes]).toString('base64');
    // Only the characters whose six bits all come from the value's bytes.
    const piece = encoded.slice(Math.ceil((8 * pad) / 6), Math.floor((8 * (pad + bytes.length)) / 6));
    pieces.push(piece, piece.replaceAll('+', '-').replaceAll('/', '_'));
  }
  return pieces;
}

/** How a value may appear in text: as is, JSON-escaped, URL-encoded (%20 or +), and inside base64 (HTTP Basic's user:password). */
function formsOf(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  const uri = encodeURIComponent(value);
  const forms = new Set([value, json, json.replaceAll('/', '\\/'), uri, uri.replaceAll('%20', '+'), new URLSearchParams([['', value]]).toString().slice(1), ...base64Pieces(value)]);
  return [...forms].filter((form) => form.length >= minRedactedLength);
}

let compiled: { generation: number; pattern: RegExp | undefined; longest: number } = { generation: -1, pattern: undefined, longest: 0 };

function secretPattern(): { pattern: RegExp | undefined; longest: number } {
  const { generation, values } = neverEmittedValues();
  if (compiled.generation === generation) return compiled;
  const forms = [...new Set([...values].flatMap(formsOf))].sort((a, b) => b.length - a.length);
  const escaped = forms.map((form) => form.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'));
  compiled = { generation, pattern: forms.length === 0 ? undefined : new RegExp(escaped.join('|'), 'gi'), longest: forms[0]?.length ?? 0 };
  return compiled;
}

/** `text` with every secret (in any of its forms) replaced by "[redacted]". */
export function redactSecrets(text: string): string {
  const { pattern } = secretPattern();
  return pattern ? text.replace(pattern, redacted) : text;
}

/** Query parameters whose values are credentials when a URL carries one (InfluxDB 1.x takes ?u=&p=). */
export const credentialParams = /([?&](?:token|access_token|refresh_token|api_key|apikey|key|password|pass|pwd|p|secret|client_secret|sig|signature|auth)=)[^&#\s"'<>]*/gi;

/** Credentials that look like credentials, known or not: an Authorization (or API key, or cookie) header echoed back, a bearer token. */
const credentialHeaders = /((?:proxy-)?authorization|x-[a-z0-9-]*(?:token|key|secret|auth)|api-key|cookie|set-cookie)(["']?\s*[:=]\s*["']?)[^\r\n"',;}]*/gi;
// A credential, not a word ("Basic authentication."): it has a digit or a symbol inside.
const bearer = /\b(Bearer|Basic)\s+(?=[A-Za-z]*(?:[0-9+/=_~-]|\.[A-Za-z0-9]))[A-Za-z0-9._~+/=-]{8,}/g;

/** Credentials that look like credentials (known or not) replaced by "[redacted]": header lines and query parameters. */
function redactCredentials(text: string): string {
  return text.replace(credentialHeaders, `$1$2${redacted}`).replace(bearer, `$1 ${redacted}`).replace(credentialParams, `$1${redacted}`);
}

// Terminal escape sequences (colours, cursor moves) go whole; other control characters (C0, DEL, C1,
// line and paragraph separators, bidirectional overrides) go, whitespace among them becomes a space.
const escapeSequences = /\u001b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|[@-Z\\-_])/g;
const spacing = /[\t\n\v\f\r\u0085\u2028\u2029]+/g;

/** Peer text is read this far: enough for any excerpt, bounded whatever the peer sends. */
const window = 65_536;

/** The bound of an excerpt of peer text, in characters. */
const excerptLength = 300;

/**
 * What Mailscope keeps of text a peer sent (an error body, an SMTP reply, a
 * fetch failure): every configured secret and anything that looks like a
 * credential removed, control characters removed, whitespace collapsed, cut to
 * `max` characters ("…" says it was cut). Safe to store, show and log.
 */
export function peerExcerpt(text: unknown, max = excerptLength): string {
  const raw = typeof text === 'string' ? text : text instanceof Buffer ? text.toString('utf8') : String(text ?? '');
  const cut = raw.length > window;
  let excerpt = redactCredentials(redactSecrets(cut ? raw.slice(0, window) : raw));
  excerpt = excerpt.replace(escapeSequences, '').replace(spacing, ' ').replace(controlCharacters, '');
  // Removing control characters can join the halves of a secret a peer split with them.
  excerpt = redactSecrets(excerpt).replace(/ {2,}/g, ' ').trim();
  // The window may have cut a secret in two; its first half is at the end, unrecognised: drop as much as the longest secret.
  if (cut) excerpt = `${excerpt.slice(0, Math.max(0, excerpt.length - secretPattern().longest))}…`;
  if (excerpt.length <= max) return excerpt;
  let end = max - 1;
  // Never half a surrogate pair.
  if (/[\udc00-\udfff]/.test(excerpt[end] ?? '')) end--;
  return `${excerpt.slice(0, end)}…`;
}

/** Short peer text that comes again and again, cleaned once: text → excerpt, per bound. */
let remembered: { generation: number; excerpts: Map<number, Map<string, string>> } = { generation: -1, excerpts: new Map() };
/** Distinct texts remembered at most (then all are forgotten, and remembered again as they come). */
const rememberedTexts = 10_000;
/** Longer text is not remembered: it is seldom the same twice. */
const rememberedLength = 256;

/**
 * peerExcerpt of a name a peer repeats in every record it sends (a campaign, a
 * tenant, a pool): the same answer, remembered while the secrets to redact stay
 * the same, so that a batch of records does not clean the same few names once
 * per record.
 */
export function peerLabel(text: string, max: number): string {
  if (text.length > rememberedLength) return peerExcerpt(text, max);
  const { generation } = neverEmittedValues();
  if (remembered.generation !== generation) remembered = { generation, excerpts: new Map() };
  let excerpts = remembered.excerpts.get(max);
  if (!excerpts) remembered.excerpts.set(max, (excerpts = new Map()));
  let excerpt = excerpts.get(text);
  if (excerpt === undefined) {
    excerpt = peerExcerpt(text, max);
    if (excerpts.size >= rememberedTexts) excerpts.clear();
    excerpts.set(text, excerpt);
  }
  return excerpt;
}

function redactDeep(value: unknown): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (Array.isArray(value)) return value.map(redactDeep);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [redactSecrets(key), redactDeep(item)]));
  return value;
}

/**
 * A serialized log line (pino's JSON, newline-terminated) without any secret:
 * the last line of defence after redaction by path and Secret's own rendering.
 * Most lines carry none and pass after one search; a line that does is parsed,
 * each string redacted, and serialized again, so it stays valid JSON.
 */
export function redactLogLine(line: string): string {
  const { pattern } = secretPattern();
  if (!pattern) return line;
  pattern.lastIndex = 0;
  if (!pattern.test(line)) return line;
  pattern.lastIndex = 0;
  try {
    return `${JSON.stringify(redactDeep(JSON.parse(line)))}\n`;
  } catch {
    return line.replace(pattern, redacted);
  }
}
