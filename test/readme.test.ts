import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fillReadme, renderSections } from '../scripts/reference.ts';

const root = join(import.meta.dirname, '..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');

describe('docs/reference.md', () => {
  it('has reference tables that match the code (run `npm run docs` after changing a registry or schema)', async () => {
    const reference = read('docs/reference.md');
    expect(fillReadme(reference, await renderSections())).toBe(reference);
  });
});

describe('README.md', () => {
  it('gives exactly two set-up commands, the ones CI and newcomers run', () => {
    const readme = read('README.md');
    const start = readme.indexOf('\n## Quick start\n');
    const quickStart = readme.slice(start, readme.indexOf('\n## ', start + 1));
    const block = /```sh\n([\s\S]*?)```/.exec(quickStart)?.[1] ?? '';
    expect(block.trim().split('\n').map((line) => line.split('#')[0]!.trim())).toEqual(['npm run demo', 'npm test']);
    const scripts = JSON.parse(read('package.json')).scripts;
    expect(Object.keys(scripts)).toEqual(expect.arrayContaining(['demo', 'test']));
    expect(read('.ci/run')).toMatch(/^npm test$/m);
  });
});
