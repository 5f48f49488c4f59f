import { describe, expect, it } from 'vitest';
import { interpolate, type InterpolationProblem } from '../../src/config/interpolate.ts';

function run(value: unknown, env: Record<string, string | undefined>) {
  const problems: InterpolationProblem[] = [];
  return { value: interpolate(value, env, problems), problems };
}

describe('interpolate', () => {
  it.each([
    ['${A}', { A: 'x' }, 'x'],
    ['pre-${A}-post', { A: 'x' }, 'pre-x-post'],
    ['${A}${B}', { A: '1', B: '2' }, '12'],
    ['${A:-fallback}', {}, 'fallback'],
    ['${A:-fallback}', { A: '' }, 'fallback'],
    ['${A:-fallback}', { A: 'set' }, 'set'],
    ['${A:-}', {}, ''],
    ['${A:-a:-b}', {}, 'a:-b'],
    ['${A}', { A: '' }, ''],
    ['$${A}', { A: 'x' }, '${A}'],
    ['cost: $5', {}, 'cost: $5'],
    ['${A}', { A: '${B}' }, '${B}'],
  ])('%s with %j → %s', (text, env, expected) => {
    expect(run(text, env)).toEqual({ value: expected, problems: [] });
  });

  it('walks lists and mappings, keeping non-strings and keys as they are', () => {
    const { value, problems } = run({ '${K}': ['${A}', 1, true, null, { deep: '${A}' }] }, { A: 'a', K: 'k' });
    expect(problems).toEqual([]);
    expect(value).toEqual({ '${K}': ['a', 1, true, null, { deep: 'a' }] });
  });

  it('reports every unset variable with the path that referenced it', () => {
    const { problems } = run({ tokens: [{ token: '${T1}' }, { token: '${T2}' }] }, {});
    expect(problems).toEqual([
      { path: ['tokens', 0, 'token'], message: 'environment variable T1 is not set (set it, or write ${T1:-default})' },
      { path: ['tokens', 1, 'token'], message: 'environment variable T2 is not set (set it, or write ${T2:-default})' },
    ]);
  });

  it.each([
    ['${}', '"${}" is not a variable reference (expected ${NAME} or ${NAME:-default})'],
    ['${1A}', '"${1A}" is not a variable reference (expected ${NAME} or ${NAME:-default})'],
    ['${A B}', '"${A B}" is not a variable reference (expected ${NAME} or ${NAME:-default})'],
    ['${A', 'unterminated "${" (write "$${" for a literal "${")'],
  ])('rejects malformed %s', (text, message) => {
    expect(run(text, { A: 'x' }).problems).toEqual([{ path: [], message }]);
  });
});
