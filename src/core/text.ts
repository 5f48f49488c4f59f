/**
 * Text that people give Mailscope (a reason, a scope value, a comment) and that
 * Mailscope prints back (the CLI's tables, error messages): no character that
 * moves a terminal's cursor, ends a line or reorders what is shown.
 */
import { z } from 'zod';

/**
 * C0 and C1 controls (NUL, ESC, CR, LF, TAB, DEL, ...), the Unicode line and
 * paragraph separators, and the bidirectional marks, overrides and isolates
 * (which make text read differently from how it is stored).
 */
const controlPattern = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
/** The same, to find or replace every one. */
export const controlCharacters = new RegExp(controlPattern.source, 'gu');

/** The first control character in the text: its code point (U+001B) and position; undefined when there is none. */
function controlCharacterIn(text: string): { codePoint: string; index: number } | undefined {
  const match = controlPattern.exec(text);
  if (!match) return undefined;
  return { codePoint: `U+${match[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`, index: match.index };
}

/** The text with each control character written as a visible escape (\x1b, \n, \u202e): safe to print on one line. */
export function escapeControls(text: string): string {
  return text.replace(controlCharacters, (character) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    const code = character.codePointAt(0)!;
    return named[character] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
  });
}

/** Why the text cannot be stored as one line of plain text; undefined when it can. */
export function plainTextProblem(text: string): string | undefined {
  const found = controlCharacterIn(text);
  if (found) return `contains a control character (${found.codePoint} at position ${found.index + 1}): write plain text on one line`;
  // Half of a surrogate pair is no character at all: stored, it turns into U+FFFD or breaks whoever reads it.
  if (!text.isWellFormed()) return 'is not valid Unicode text (half of a surrogate pair)';
  return undefined;
}

/**
 * One line of plain text a person writes (a reason, a comment): not blank, at most
 * `max` characters, no control characters. The API and the CLI share it.
 */
export function plainText(options: { max: number }) {
  return z
    .string()
    .max(options.max, { error: `at most ${options.max} characters` })
    .superRefine((text, ctx) => {
      if (text.trim() === '') {
        ctx.addIssue({ code: 'custom', message: 'must not be empty' });
        return;
      }
      const problem = plainTextProblem(text);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });
}

/** Text someone sent, quoted back in a message: escaped onto one line, cut to `max` characters ("..." says it was cut). */
export function shownText(text: string, max = 60): string {
  const shown = escapeControls(text);
  return shown.length > max ? `${shown.slice(0, max - 3)}...` : shown;
}

/** Words listed the way people write them: "a", "a or b", "a, b or c". */
export function orList(words: readonly string[]): string {
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}
