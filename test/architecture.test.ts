import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const src = join(import.meta.dirname, '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every import of a file inside src/, as a path relative to src/ ("core/errors.ts"). */
function appImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+['"](\.[^'"]+)['"]/g)].map((match) => match[1]!);
  return specifiers.map((specifier) => relative(src, resolve(dirname(file), specifier))).filter((path) => !path.startsWith('..'));
}

const layerOf = (path: string) => (path.includes('/') ? path.split('/')[0]! : path);

/** DESIGN.md: which layers each layer may import (besides itself). */
const allowed: Record<string, string[]> = {
  core: [],
  protocols: [],
  probes: ['core', 'protocols'],
  notifiers: ['core'],
  platforms: ['core'],
  series: ['core'],
  // The series registry of this build: Mailscope's own measurements (series/) and each kind's (probes/).
  measurements: ['core', 'series', 'probes'],
};

describe('one-way dependencies (DESIGN.md)', () => {
  const files = sourceFiles(src).map((file) => ({ file: relative(src, file), imports: appImports(file) }));

  it('reads the imports it checks', () => {
    expect(files.find((f) => f.file === 'probes/tcp.ts')?.imports).toContain('core/schema.ts');
  });

  it.each(Object.entries(allowed))('%s/ imports only %j', (layer, others) => {
    const violations = files
      .filter((f) => layerOf(f.file) === layer)
      .flatMap((f) => f.imports.filter((path) => layerOf(path) !== layer && !others.includes(layerOf(path))).map((path) => `${f.file} → ${path}`));
    expect(violations).toEqual([]);
  });

  it('http/ never talks to protocols/ directly', () => {
    const violations = files.filter((f) => layerOf(f.file) === 'http').flatMap((f) => f.imports.filter((path) => layerOf(path) === 'protocols').map((path) => `${f.file} → ${path}`));
    expect(violations).toEqual([]);
  });

  it('has no import cycle between files', () => {
    const imports = new Map(files.map((f) => [f.file, f.imports]));
    const cycles: string[] = [];
    const done = new Set<string>();
    const visit = (file: string, path: string[]) => {
      const at = path.indexOf(file);
      if (at !== -1) return void cycles.push([...path.slice(at), file].join(' → '));
      if (done.has(file)) return;
      for (const next of imports.get(file) ?? []) visit(next, [...path, file]);
      done.add(file);
    };
    for (const f of files) visit(f.file, []);
    expect(cycles).toEqual([]);
  });

  it('config/ never picks a kind by name: kinds check themselves at load (checkAtLoad)', () => {
    const picks = files
      .filter((f) => layerOf(f.file) === 'config')
      .flatMap((f) => [...readFileSync(join(src, f.file), 'utf8').matchAll(/\bkind\s*[!=]==?\s*['"][^'"]+['"]/g)].map((match) => `${f.file}: ${match[0]}`));
    expect(picks).toEqual([]);
  });

  it('only main.ts reads the process environment', () => {
    const readers = files.filter((f) => f.file !== 'main.ts' && /process\.(env|argv|cwd\(\))/.test(readFileSync(join(src, f.file), 'utf8')));
    expect(readers.map((f) => f.file)).toEqual([]);
  });
});

describe('error codes kept in step across layers', () => {
  it('has every DNS error code of protocols/dns in core/errors (the API, the CLI and the docs know them)', async () => {
    const { dnsErrorCodes } = await import('../src/protocols/dns/types.ts');
    const { errorCodes } = await import('../src/core/errors.ts');
    expect(Object.keys(dnsErrorCodes).filter((code) => !(code in errorCodes))).toEqual([]);
  });
});

describe('a kind is picked by what it declares, never by its name', () => {
  it('no platform kind is compared by name outside its own file', async () => {
    const { platforms } = await import('../src/platforms/index.ts');
    const violations = sourceFiles(src).flatMap((file) => {
      const text = readFileSync(file, 'utf8');
      return platforms
        .filter((platform) => relative(src, file) !== `platforms/${platform.kind}.ts`)
        .filter((platform) => new RegExp(`[!=]==\\s*['"]${platform.kind}['"]|['"]${platform.kind}['"]\\s*[!=]==`).test(text))
        .map((platform) => `${relative(src, file)} compares a kind with '${platform.kind}'`);
    });
    expect(violations).toEqual([]);
  });
});

describe('services are assembled once', () => {
  it.each(['ControlService', 'AlertEngine', 'Runner', 'Releaser', 'Pusher', 'Dispatcher', 'Scheduler'])('new %s appears only in assemble.ts', (name) => {
    const builders = sourceFiles(src).filter((file) => new RegExp(`\\bnew ${name}\\(`).test(readFileSync(file, 'utf8')));
    expect(builders.map((file) => relative(src, file))).toEqual(['assemble.ts']);
  });
});
