/**
 * Text a peer wrote (a reporter's field, a bounce's diagnostic) as Mailscope keeps
 * it: terminal escape sequences and control characters removed, line breaks and
 * tabs turned to spaces, cut to a bound. protocols/ knows nothing of the app, so
 * this is its own small cleaner; secrets are the app's business (core/redact.ts).
 */

// Terminal escape sequences (colours, cursor moves, window titles) go whole.
const escapeSequences = /\u001b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|[@-Z\\-_])/g;
const spacing = /[\t\n\v\f\r\u0085\u2028\u2029]+/g;
// C0, DEL, C1, bidirectional marks and overrides.
const controls = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** The text cleaned and cut to `max` characters (never half a surrogate pair); '' when nothing is left. */
export function peerText(text: string, max = 255): string {
  // Read no more than a bound could need: a 10 MB line costs no more than a short one.
  const window = max * 4 + 64;
  let cleaned = (text.length > window ? text.slice(0, window) : text).replace(escapeSequences, '').replace(spacing, ' ').replace(controls, '').replace(/ {2,}/g, ' ').trim();
  if (cleaned.length > max) {
    let end = max;
    if (/[\udc00-\udfff]/.test(cleaned[end] ?? '')) end--;
    cleaned = cleaned.slice(0, end).trimEnd();
  }
  return cleaned;
}

/** peerText, or undefined when nothing is left of it. */
export function peerField(text: string | undefined, max = 255): string | undefined {
  if (text === undefined) return undefined;
  return peerText(text, max) || undefined;
}
