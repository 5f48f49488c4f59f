import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fillReadme, renderSections } from '../scripts/reference.ts';

describe('README.md', () => {
  it('has reference tables that match the code (run `npm run docs` after changing a registry or schema)', async () => {
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    expect(fillReadme(readme, await renderSections())).toBe(readme);
  });

  it('gives exactly two set-up commands, the ones CI and newcomers run', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## How it works'));
    const block = /```sh\n([\s\S]*?)```/.exec(quickStart)?.[1] ?? '';
    expect(block.trim().split('\n').map((line) => line.split('#')[0]!.trim())).toEqual(['npm run demo', 'npm test']);
    const scripts = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')).scripts;
    expect(Object.keys(scripts)).toEqual(expect.arrayContaining(['demo', 'test']));
    expect(readFileSync(join(import.meta.dirname, '..', '.ci', 'run'), 'utf8')).toMatch(/^npm test$/m);
  });
});
