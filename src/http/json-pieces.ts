/**
 * JSON request bodies that are large arrays (a batch of log records), parsed
 * without ever making one string of the whole body. V8 puts every string over
 * 128 KiB in a space of its own: each is allocated (its pages faulted in) afresh,
 * and lives until the next full collection. For batches of 500 KumoMTA records
 * (about 500 KB each) decoding the body cost more than parsing it (bench/traffic.ts).
 *
 * The array is cut after an element ("}," then "{", whitespace allowed) about
 * every `pieceBytes`, and each piece is given to the default parser as an array
 * of its own. A cut that is not between two elements of the top-level array (it
 * fell inside a string, or inside a nested value) leaves the piece before it
 * unbalanced, which is not JSON: JSON is read left to right, so a prefix that
 * parses as an array once "]" is added ends exactly after a top-level element.
 * Then, or when a piece is refused for any other reason (invalid JSON, or the
 * default parser's prototype-poisoning checks, which look at each piece as they
 * would at the whole), the body is parsed whole by the default parser: its answer
 * and its errors are always what the client gets.
 */

export type ParserDone = (error: Error | null, body?: unknown) => void;

/** Pieces are about this long: well under V8's 128 KiB for a string of its own. */
export const pieceBytes = 64 * 1024;

const openBracket = 0x5b;
const openBrace = 0x7b;
const closeBrace = 0x7d;
const comma = 0x2c;

const isSpace = (byte: number | undefined) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;

/** After the "}" at `brace`: the "{" of the next element when only ",", and whitespace around it, come between. */
function nextElement(bytes: Buffer, brace: number): number | undefined {
  let at = brace + 1;
  while (isSpace(bytes[at])) at++;
  if (bytes[at] !== comma) return undefined;
  at++;
  while (isSpace(bytes[at])) at++;
  return bytes[at] === openBrace ? at : undefined;
}

/** What a parser that answers at once gave; undefined when it refused, or did not answer at once. */
function parsedBy<R>(parser: (request: R, body: string, done: ParserDone) => void, request: R, text: string): { value: unknown } | undefined {
  let parsed: { value: unknown } | undefined;
  parser(request, text, (error, value) => {
    parsed = error ? undefined : { value };
  });
  return parsed;
}

/** The elements of the array in `bytes`, piece by piece; undefined when a piece is refused or is not an array (then the body is parsed whole). */
function parsePieces<R>(parser: (request: R, body: string, done: ParserDone) => void, request: R, bytes: Buffer, start: number): unknown[] | undefined {
  const elements: unknown[] = [];
  // Each piece: [from, to) of bytes, with "[" before it unless it starts the body, and "]" after it unless it ends it.
  let from = start;
  for (;;) {
    let cut: { end: number; next: number } | undefined;
    for (let brace = bytes.indexOf(closeBrace, from + pieceBytes); brace >= 0 && cut === undefined; brace = bytes.indexOf(closeBrace, brace + 1)) {
      const next = nextElement(bytes, brace);
      if (next !== undefined) cut = { end: brace + 1, next };
    }
    const last = cut === undefined;
    const text = bytes.toString('utf8', from, last ? bytes.length : cut!.end);
    const piece = parsedBy(parser, request, `${from === start ? '' : '['}${text}${last ? '' : ']'}`);
    if (piece === undefined || !Array.isArray(piece.value)) return undefined;
    for (const element of piece.value) elements.push(element);
    if (last) return elements;
    from = cut!.next;
  }
}

/**
 * A content-type parser (parseAs: 'buffer') for application/json that gives what
 * `defaultParser` (Fastify's, from getDefaultJsonParser) gives, reading a large
 * array in pieces.
 */
export function jsonInPieces<R>(defaultParser: (request: R, body: string, done: ParserDone) => void): (request: R, body: Buffer, done: ParserDone) => void {
  return (request, body, done) => {
    let start = 0;
    while (isSpace(body[start])) start++;
    const elements = body.length >= 2 * pieceBytes && body[start] === openBracket ? parsePieces(defaultParser, request, body, start) : undefined;
    if (elements === undefined) defaultParser(request, body.toString('utf8'), done);
    else done(null, elements);
  };
}
