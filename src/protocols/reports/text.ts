/**
 * Text a reporter wrote (an organisation name, a comment, an error): untrusted.
 * Each control character becomes a space, runs of white space one space, and the
 * result is cut to a bound, so it can be stored and printed on one line.
 */

/**
 * C0 and C1 controls, the Unicode line and paragraph separators, and the
 * bidirectional marks, overrides and isolates: the same set as core/text.ts,
 * repeated here since protocols/ imports nothing of the app.
 */
const controlCharacters = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

/** Bounds of reporter text: names and identifiers, and the longer free texts (comments, errors). */
export const maxNameLength = 255;
export const maxCommentLength = 1000;

/** The text trimmed, without control characters, at most `max` characters (never splitting a surrogate pair). */
export function cleanText(text: string, max: number): string {
  const clean = text.replace(controlCharacters, ' ').replace(/\s+/g, ' ').trim();
  if (clean.length <= max) return clean;
  const cut = clean.slice(0, max);
  // A high surrogate left alone at the end is half a character.
  return /[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut;
}
