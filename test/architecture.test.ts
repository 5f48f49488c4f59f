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

/** Every import of a file inside src/, as a path relative to src/ ("core/errors.ts"): static, re-exports, side effects and import(). */
function appImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+['"](\.[^'"]+)['"]/g),
    ...text.matchAll(/(?:^|\n)\s*import\s+['"](\.[^'"]+)['"]/g),
    ...text.matchAll(/\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g),
  ].map((match) => match[1]!);
  return specifiers.map((specifier) => relative(src, resolve(dirname(file), specifier))).filter((path) => !path.startsWith('..'));
}

/**
 * The files directly in src/ that assemble the services (assemble.ts) and run them
 * (observatory.ts): a layer of their own, below the CLI's commands, which use them.
 */
const assembly = new Set(['assemble.ts', 'observatory.ts']);

const layerOf = (path: string) => (path.includes('/') ? path.split('/')[0]! : assembly.has(path) ? 'assembly' : path);

/** The other files directly in src/ (main.ts, cli.ts): the composition root, which may import anything. */
const isRoot = (path: string) => !path.includes('/') && !assembly.has(path);

/**
 * DESIGN.md: which layers each layer (a folder of src/) may import, besides
 * itself. Every folder is listed: a new one fails the test until its place is
 * declared here. No layer lists a file of the composition root, so nothing
 * below it imports main.ts, cli.ts or observatory.ts.
 */
/** Every layer below the API and the assembly, which both the assembly and the commands may use. */
const belowTheApi = [
  'core',
  'protocols',
  'probes',
  'sources',
  'notifiers',
  'platforms',
  'series',
  'measurements',
  'store',
  'ha',
  'queries',
  'alerts',
  'controls',
  'traffic',
  'reports',
  'config',
  'runner',
];

const allowed: Record<string, string[]> = {
  core: [],
  protocols: [],
  probes: ['core', 'protocols'],
  notifiers: ['core'],
  platforms: ['core'],
  series: ['core'],
  // The series registry of this build: Mailscope's own measurements (series/) and each kind's (probes/).
  measurements: ['core', 'series', 'probes', 'sources'],
  // Turn 2: what pushes or is tailed into Mailscope, beside the probes.
  sources: ['core', 'protocols'],
  store: ['core', 'series', 'measurements'],
  // High availability on PostgreSQL: leases with fencing tokens over a pg Pool, the cluster of instances (fencing the store's writes).
  ha: ['core', 'store'],
  // The store as the API reads it: http/'s only way to the store.
  queries: ['core', 'series', 'measurements', 'store'],
  // The retry queue they share is in core/, not runner/.
  alerts: ['core', 'series', 'measurements', 'store', 'notifiers'],
  controls: ['core', 'store', 'platforms', 'alerts'],
  // The platform's traffic: events from the sources, completed, aggregated and written out.
  traffic: ['core', 'protocols', 'sources', 'series', 'measurements', 'store'],
  // Feedback reports: read (protocols/reports), recorded with their points, their bounces counted as traffic.
  reports: ['core', 'protocols', 'probes', 'sources', 'series', 'measurements', 'store', 'traffic'],
  // The instance schema is composed from the kinds' and the rules' schemas; config/settings.ts maps it onto each service's settings.
  config: ['core', 'probes', 'sources', 'notifiers', 'platforms', 'alerts', 'controls', 'traffic', 'reports'],
  runner: ['core', 'protocols', 'probes', 'series', 'measurements', 'store', 'config'],
  // Services only: never protocols/ or store/.
  http: ['core', 'probes', 'sources', 'series', 'measurements', 'queries', 'alerts', 'controls', 'traffic', 'reports', 'config', 'runner'],
  // assemble.ts builds the services once, for `mailscope run` and the CLI; observatory.ts runs them with the API.
  assembly: [...belowTheApi, 'http'],
  // One file per CLI command: the assembled services, never the API's routes or the composition root.
  commands: [...belowTheApi, 'assembly'],
};

/** The strongly connected groups of more than one node (or a node that imports itself): each is an import cycle. */
function cyclesOf(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  // Tarjan's algorithm, iterative so a deep chain of imports cannot overflow the stack.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work: { node: string; edge: number }[] = [{ node: start, edge: 0 }];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work.at(-1)!;
      const edges = graph.get(frame.node) ?? [];
      if (frame.edge < edges.length) {
        const target = edges[frame.edge++]!;
        if (!index.has(target)) {
          index.set(target, next);
          low.set(target, next++);
          stack.push(target);
          onStack.add(target);
          work.push({ node: target, edge: 0 });
        } else if (onStack.has(target)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(target)!));
        }
        continue;
      }
      work.pop();
      const parent = work.at(-1);
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) !== index.get(frame.node)) continue;
      const group: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        group.push(member);
      } while (member !== frame.node);
      if (group.length > 1 || edges.includes(frame.node)) cycles.push(group.sort());
    }
  }
  return cycles;
}

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

  it('declares every folder of src/ in the rules above', () => {
    const folders = [...new Set(files.filter((f) => !isRoot(f.file)).map((f) => layerOf(f.file)))];
    expect(folders.filter((folder) => !Object.hasOwn(allowed, folder))).toEqual([]);
  });

  it('declares rules that are one-way themselves: no layer may reach back to itself', () => {
    const graph = new Map(Object.entries(allowed));
    expect(cyclesOf(graph)).toEqual([]);
    expect(
      Object.values(allowed)
        .flat()
        .filter((layer) => !Object.hasOwn(allowed, layer)),
    ).toEqual([]);
  });

  it('http/ never talks to protocols/ directly', () => {
    const violations = files.filter((f) => layerOf(f.file) === 'http').flatMap((f) => f.imports.filter((path) => layerOf(path) === 'protocols').map((path) => `${f.file} → ${path}`));
    expect(violations).toEqual([]);
  });

  it('http/ never talks to store/ directly (queries/ and the services do)', () => {
    const violations = files.filter((f) => layerOf(f.file) === 'http').flatMap((f) => f.imports.filter((path) => layerOf(path) === 'store').map((path) => `${f.file} → ${path}`));
    expect(violations).toEqual([]);
  });

  it('has no import cycle between files', () => {
    const graph = new Map(files.map((f) => [f.file, f.imports]));
    expect(cyclesOf(graph)).toEqual([]);
  });

  it('has no import cycle between folders', () => {
    const graph = new Map<string, string[]>();
    for (const { file, imports } of files) {
      const from = isRoot(file) ? '(root)' : layerOf(file);
      const to = imports.map((path) => (isRoot(path) ? '(root)' : layerOf(path))).filter((layer) => layer !== from);
      graph.set(from, [...new Set([...(graph.get(from) ?? []), ...to])]);
    }
    expect(cyclesOf(graph)).toEqual([]);
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

describe('the cycle finder', () => {
  it('finds each cycle once, a file that imports itself, and nothing in a chain', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', ['e']],
      ['e', []],
      ['f', ['f']],
      ['g', ['h', 'e']],
      ['h', ['g']],
    ]);
    expect(cyclesOf(graph)).toEqual([['a', 'b', 'c'], ['f'], ['g', 'h']]);
    expect(
      cyclesOf(
        new Map([
          ['x', ['y']],
          ['y', ['z']],
          ['z', []],
        ]),
      ),
    ).toEqual([]);
  });

  it('follows a chain of ten thousand imports without overflowing', () => {
    const chain = new Map(Array.from({ length: 10_000 }, (_, n) => [`m${n}`, n < 9_999 ? [`m${n + 1}`] : ['m0']]));
    expect(cyclesOf(chain)).toHaveLength(1);
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
