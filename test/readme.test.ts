import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fillReadme, renderSections } from '../scripts/reference.ts';

const root = join(import.meta.dirname, '..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');

/** Markdown without its fenced code blocks: a `# comment` in YAML is no heading, a `[x](y)` in code no link. */
const prose = (markdown: string) => markdown.replace(/^```[\s\S]*?^```/gm, '');

/** The anchors GitHub gives a document's headings: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const [, heading] of prose(markdown).matchAll(/^#{1,6} +(.+?) *$/gm)) {
    const slug = heading!
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replaceAll(' ', '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** Every relative link of a document that leads nowhere: a missing file, or a missing heading in a Markdown file. */
function brokenLinks(file: string): string[] {
  const broken: string[] = [];
  for (const [, target] of prose(read(file)).matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/i.test(target!)) continue;
    const [path, anchor] = target!.split('#') as [string, string | undefined];
    const linked = path === '' ? join(root, file) : resolve(root, dirname(file), path);
    if (!existsSync(linked)) {
      broken.push(`${target}: no such file`);
      continue;
    }
    if (anchor !== undefined && statSync(linked).isFile() && linked.endsWith('.md') && !anchorsOf(readFileSync(linked, 'utf8')).has(anchor)) {
      broken.push(`${target}: no such heading`);
    }
  }
  return broken;
}

describe('docs/reference.md', () => {
  it('has reference tables that match the code (run `npm run docs` after changing a registry or schema)', async () => {
    const reference = read('docs/reference.md');
    expect(fillReadme(reference, await renderSections())).toBe(reference);
  });

  it('has links that lead somewhere', () => {
    expect(brokenLinks('docs/reference.md')).toEqual([]);
  });
});

describe('README.md', () => {
  it('gives exactly two set-up commands, the ones CI and newcomers run', () => {
    const readme = read('README.md');
    const start = readme.indexOf('\n## Quick start\n');
    const quickStart = readme.slice(start, readme.indexOf('\n## ', start + 1));
    const block = /```sh\n([\s\S]*?)```/.exec(quickStart)?.[1] ?? '';
    expect(
      block
        .trim()
        .split('\n')
        .map((line) => line.split('#')[0]!.trim()),
    ).toEqual(['npm run demo', 'npm test']);
    const scripts = JSON.parse(read('package.json')).scripts;
    expect(Object.keys(scripts)).toEqual(expect.arrayContaining(['demo', 'test']));
    expect(read('.ci/run')).toMatch(/^npm test$/m);
  });

  it('stays short: no generated tables (they are in docs/reference.md), at most 400 lines', () => {
    const readme = read('README.md');
    expect(readme).not.toContain('<!-- generated:');
    expect(readme).toContain('](docs/reference.md');
    expect(readme.split('\n').length).toBeLessThanOrEqual(400);
  });

  it('has links that lead somewhere', () => {
    expect(brokenLinks('README.md')).toEqual([]);
  });
});
