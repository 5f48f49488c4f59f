/**
 * The control index answers as matchScope() does, control by control and in the
 * same order: checked on 600 generated scopes and 3,000 generated questions (a
 * seeded generator: IPv4 and IPv6 addresses and ranges, keys missing, addresses
 * that are not addresses).
 */
import { describe, expect, it } from 'vitest';
import { ScopeIndex } from '../../src/controls/matcher.ts';
import { canonicalScope, matchScope, scopeKeyNames, type Scope, type ScopeKey, type Traffic } from '../../src/core/scope.ts';

/** mulberry32: the same sequence every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const next = random(20261124);
const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)]!;
const values: Record<ScopeKey, readonly string[]> = {
  ip: ['192.0.2.1', '192.0.2.2', '192.0.2.77', '198.51.100.9', '2001:db8::1', '2001:db8::2:1'],
  pool: ['a', 'b', 'c'],
  from_domain: ['news.example', 'example.com'],
  rcpt_domain: ['gmail.com', 'yahoo.com', 'example.net'],
  provider: ['gmail', 'yahoo', 'other'],
  campaign: ['c1', 'c2', 'c3'],
  tenant: ['t1', 't2'],
};
const ranges = ['192.0.2.0/28', '192.0.2.0/24', '198.51.100.0/24', '2001:db8::/64', '2001:db8::/32', '0.0.0.0/0'];

function scope(): Scope {
  const chosen: Scope = {};
  const count = 1 + Math.floor(next() * 3);
  for (let i = 0; i < count; i++) {
    const key = pick(scopeKeyNames);
    chosen[key] = key === 'ip' && next() < 0.5 ? pick(ranges) : pick(values[key]);
  }
  return canonicalScope(chosen);
}

function traffic(): Traffic {
  const question: Traffic = {};
  for (const key of scopeKeyNames) if (next() < 0.6) question[key] = key === 'ip' && next() < 0.05 ? 'not-an-address' : pick(values[key]);
  return question;
}

describe('the control index', () => {
  it("answers as matchScope does, in the controls' order, on 3,000 generated questions over 600 scopes", () => {
    const controls = Array.from({ length: 600 }, (_, id) => ({ id, scope: scope() }));
    const index = new ScopeIndex(controls);
    let matches = 0;
    let unknowns = 0;
    for (let i = 0; i < 3_000; i++) {
      const question = traffic();
      const expected = controls.map((control) => ({ control, match: matchScope(control.scope, question) }));
      const found = index.lookup(question);
      const wantMatched = expected.filter((entry) => entry.match === 'match').map((entry) => entry.control.id);
      const wantUnsure = expected
        .filter((entry) => entry.match === 'unknown')
        .map((entry) => ({ id: entry.control.id, missing: scopeKeyNames.filter((key) => entry.control.scope[key] !== undefined && question[key] === undefined) }));
      expect(
        found.matched.map((control) => control.id),
        JSON.stringify(question),
      ).toEqual(wantMatched);
      expect(
        found.unsure.map((entry) => ({ id: entry.item.id, missing: entry.missing })),
        JSON.stringify(question),
      ).toEqual(wantUnsure);
      matches += wantMatched.length;
      unknowns += wantUnsure.length;
    }
    // The generator exercises both outcomes, often.
    expect(matches).toBeGreaterThan(10_000);
    expect(unknowns).toBeGreaterThan(10_000);
  });
});
