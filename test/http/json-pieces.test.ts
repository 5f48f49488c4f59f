/**
 * Large JSON arrays read in pieces: always the default parser's answer (the same
 * value, the same refusal), whatever the cuts fall on.
 */
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { jsonInPieces, type ParserDone, pieceBytes } from '../../src/http/json-pieces.ts';

const fastify = Fastify();
const defaultParser = fastify.getDefaultJsonParser('error', 'error') as (request: unknown, body: string, done: ParserDone) => void;

/** What a parser gives for `text`, and whether it gave the default parser the whole body (else only pieces of it). */
function parse(text: string): { value?: unknown; error?: Error; whole: boolean } {
  let whole = false;
  const counting = (request: unknown, body: string, done: ParserDone) => {
    if (body === text) whole = true;
    defaultParser(request, body, done);
  };
  let outcome: { value?: unknown; error?: Error } = {};
  jsonInPieces(counting)(undefined, Buffer.from(text), (error, value) => {
    outcome = error ? { error } : { value };
  });
  return { ...outcome, whole };
}

/** The default parser's answer to the whole text. */
function expected(text: string): { value?: unknown; error?: Error } {
  let outcome: { value?: unknown; error?: Error } = {};
  defaultParser(undefined, text, (error, value) => {
    outcome = error ? { error } : { value };
  });
  return outcome;
}

const record = (i: number, extra: Record<string, unknown> = {}) => ({
  type: 'Delivery',
  recipient: `user${i}@example.com`,
  response: { code: 250, enhanced_code: { class: 2, subject: 0, detail: 0 }, content: `OK ids=${'x'.repeat(600)}${i}` },
  meta: { campaign: 'spring', tenant: 'acme' },
  timestamp: 1_700_000_000 + i,
  ...extra,
});

describe('jsonInPieces', () => {
  it('reads a large array in pieces, to the same value as JSON.parse', () => {
    const text = JSON.stringify(Array.from({ length: 500 }, (_, i) => record(i)));
    expect(text.length).toBeGreaterThan(4 * pieceBytes);
    const result = parse(text);
    expect(result.whole).toBe(false);
    expect(result.value).toEqual(JSON.parse(text));
  });

  it('cuts between elements written with whitespace and new lines around the commas', () => {
    const text = `  \n${JSON.stringify(
      Array.from({ length: 300 }, (_, i) => record(i)),
      null,
      2,
    )}\n`;
    const result = parse(text);
    expect(result.whole).toBe(false);
    expect(result.value).toEqual(JSON.parse(text));
  });

  it('is not misled by "},{" inside strings or inside nested arrays of objects: the value is still the whole parse', () => {
    // Every record carries the cut's bytes in a string and nested arrays of objects, so cuts are tried inside them.
    const tricky = (i: number) => record(i, { content: `a},{"b":1},{ \\"},{\\" ${'y'.repeat(300)}`, nested: [{ a: 1 }, { b: [{ c: 2 }, { d: 3 }] }], more: '}, {' });
    const text = JSON.stringify(Array.from({ length: 400 }, (_, i) => tricky(i)));
    const result = parse(text);
    expect(result.value).toEqual(JSON.parse(text));
    expect(result.error).toBeUndefined();
  });

  it('keeps characters of several bytes whole (cuts fall on ASCII bytes only)', () => {
    const text = JSON.stringify(Array.from({ length: 400 }, (_, i) => record(i, { reply: `Empfänger unbekannt — 受信者不明 ${'é'.repeat(i % 50)} 📬` })));
    const result = parse(text);
    expect(result.whole).toBe(false);
    expect(result.value).toEqual(JSON.parse(text));
  });

  it('gives the default parser’s refusal for a body that is not JSON, wherever it breaks', () => {
    const good = JSON.stringify(Array.from({ length: 400 }, (_, i) => record(i)));
    for (const broken of [good.slice(0, -1), `${good.slice(0, good.length / 2)}},{"oops"${good.slice(good.length / 2)}`, `${good}]`, good.replace('"Delivery"', 'Delivery')]) {
      const result = parse(broken);
      expect(result.whole).toBe(true);
      expect(result.error?.message).toBe(expected(broken).error?.message);
      expect(result.error).toBeDefined();
    }
  });

  it('leaves prototype poisoning to the default parser’s checks (refused), escaped or not', () => {
    const records = JSON.stringify(Array.from({ length: 400 }, (_, i) => record(i)));
    // In the last record: after the first cut, so that a piece, not the whole body, meets it first.
    const last = records.lastIndexOf('"meta":');
    for (const poison of ['"__proto__":{"admin":true},', '"\\u005f_proto__":{"admin":true},', '"constructor":{"prototype":{"admin":true}},']) {
      const text = `${records.slice(0, last)}${poison}${records.slice(last)}`;
      expect(expected(text).error).toBeDefined();
      const result = parse(text);
      expect(result.whole).toBe(true);
      expect(String(result.error)).toBe(String(expected(text).error));
    }
  });

  it('parses small bodies, objects and anything not an array whole', () => {
    for (const text of ['[]', '[1,2]', JSON.stringify({ events: Array.from({ length: 400 }, (_, i) => record(i)) }), '', `\uFEFF${JSON.stringify(Array.from({ length: 400 }, (_, i) => record(i)))}`]) {
      const result = parse(text);
      expect(result.whole).toBe(true);
      expect(result).toMatchObject(expected(text).error ? { error: expect.any(Error) } : { value: expected(text).value });
    }
  });
});
