/**
 * The four test tiers (vitest.config.ts): a file named *.lab.test.ts is in the lab
 * tier, one named *.browser.test.ts in the browser tier (Chromium), one named
 * *.pg.test.ts in the postgres tier (PostgreSQL), every other test file in the unit
 * tier, which runs with no lab, no root, no browser and no PostgreSQL.
 * A unit, browser or postgres test file must not reach the lab: no import, direct or through
 * a helper, of anything in test/lab/ (the plan's addresses, the lab's keys, its
 * DNSBL files, helpers/lab.ts), and no lab address written out. A unit test file
 * must not reach the browser helpers, and no test file outside the postgres tier
 * the PostgreSQL helpers (only that tier's global setup provides the server). And a
 * lab test file must need the lab, a browser test file the browser, a postgres test
 * file PostgreSQL, or it belongs in the unit tier.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import config, { browserTestFiles, labTestFiles, postgresTestFiles, storeSuiteFiles } from '../vitest.config.ts';

const root = join(import.meta.dirname, '..');
const test = join(root, 'test');
const lab = join(test, 'lab');

const isLabTest = (path: string) => path.endsWith('.lab.test.ts');
const isBrowserTest = (path: string) => path.endsWith('.browser.test.ts');
const isPostgresTest = (path: string) => path.endsWith('.pg.test.ts');
/** What needs Chromium: the browser helpers and the tier's global setup, which installs it. */
const browserHelpers = [join(test, 'helpers', 'browser.ts'), join(test, 'helpers', 'chromium.ts')];
/** What needs PostgreSQL: the helpers that connect, and the tier's global setup, which ensures the server. */
const postgresHelpers = [join(test, 'helpers', 'postgres.ts'), join(test, 'helpers', 'postgres-server.ts'), join(test, 'helpers', 'store-on-postgres.ts')];

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'state' || entry.name === 'node_modules' ? [] : testFiles(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** The files of this repository a file imports (static `import`/`export ... from` and dynamic `import()`), resolved. */
function localImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [
    ...[...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+['"](\.[^'"]+)['"]/g)].map((match) => match[1]!),
    ...[...text.matchAll(/\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g)].map((match) => match[1]!),
  ];
  return specifiers.map((specifier) => resolve(dirname(file), specifier)).filter((path) => existsSync(path));
}

/** Every file of the repository (outside node_modules) a test file loads, itself included, with the import chain to each. */
function reachable(file: string): Map<string, string[]> {
  const chains = new Map<string, string[]>([[file, [file]]]);
  const queue = [file];
  while (queue.length > 0) {
    const current = queue.shift()!;
    for (const next of localImports(current)) {
      if (chains.has(next)) continue;
      chains.set(next, [...chains.get(current)!, next]);
      queue.push(next);
    }
  }
  return chains;
}

const show = (chain: string[]) => chain.map((path) => relative(root, path)).join(' → ');

/** The lab written out by hand: its resolver as a DNS server (port 53) or as a resolver option, its environment, its state. */
const labByHand = [/\bport:\s*53\b/, /(?:resolvers?\b|--resolver)[^\n]{0,20}127\.0\.0\.1:53\b/, /MAILSCOPE_LAB/, /test\/lab\/state/];

const all = testFiles(test);
const unit = all.filter((path) => !isLabTest(path) && !isBrowserTest(path) && !isPostgresTest(path));
const labTier = all.filter(isLabTest);
const browserTier = all.filter(isBrowserTest);
const postgresTier = all.filter(isPostgresTest);

describe('test tiers', () => {
  it('are what vitest.config.ts runs: *.lab.test.ts in the lab project with the lab’s global setup, *.browser.test.ts in the browser project with Chromium’s, *.pg.test.ts in the postgres project with PostgreSQL’s, every other test file in the unit project with none', () => {
    const projects = (config.test?.projects ?? []) as { test: { name: string; include: string[]; exclude?: string[]; globalSetup?: string[] } }[];
    expect(labTestFiles).toBe('test/**/*.lab.test.ts');
    expect(browserTestFiles).toBe('test/**/*.browser.test.ts');
    expect(postgresTestFiles).toBe('test/**/*.pg.test.ts');
    expect(projects.map(({ test: project }) => project)).toEqual([
      { name: 'unit', include: ['test/**/*.test.ts'], exclude: [labTestFiles, browserTestFiles, postgresTestFiles], setupFiles: ['test/helpers/fresh-modules.ts'] },
      { name: 'lab', include: [labTestFiles], globalSetup: ['test/lab/global-setup.ts'] },
      { name: 'browser', include: [browserTestFiles], globalSetup: ['test/helpers/chromium.ts'] },
      { name: 'postgres', include: [postgresTestFiles], globalSetup: ['test/helpers/postgres-server.ts'] },
      { name: 'postgres-store', include: storeSuiteFiles, globalSetup: ['test/helpers/postgres-server.ts'], setupFiles: ['test/helpers/store-on-postgres.ts'] },
    ]);
    // The store suites run again on PostgreSQL are unit-tier files that open stores.
    for (const file of storeSuiteFiles) {
      expect(unit.map((path) => relative(root, path))).toContain(file);
      expect(readFileSync(join(root, file), 'utf8')).toMatch(/Database\.open|helpers\/(api|console|observatory)\.ts/);
    }
    expect(config.test?.globalSetup).toBeUndefined();
  });

  it('reads the imports it checks', () => {
    expect(unit.length).toBeGreaterThan(40);
    expect(labTier.length).toBeGreaterThan(10);
    expect(browserTier.map((path) => relative(root, path))).toContain('test/http/docs.browser.test.ts');
    expect(postgresTier.map((path) => relative(root, path))).toContain('test/helpers/postgres.pg.test.ts');
    const tcp = reachable(join(test, 'probes', 'tcp.test.ts'));
    expect([...tcp.keys()].map((path) => relative(root, path))).toEqual(expect.arrayContaining(['src/probes/tcp.ts', 'test/helpers/context.ts', 'test/helpers/services.ts']));
    // Through a helper, and through a dynamic import().
    expect(show(reachable(join(test, 'probes', 'tcp.lab.test.ts')).get(join(lab, 'plan.ts'))!)).toBe('test/probes/tcp.lab.test.ts → test/helpers/lab.ts → test/lab/plan.ts');
    expect(localImports(join(test, 'runner', 'outbox-flusher.test.ts'))).toContain(join(test, 'helpers', 'servers.ts'));
  });

  const withTier = (files: string[], tier: string) => files.map((path) => [relative(root, path), tier, path]);

  it.each([...withTier(unit, 'unit'), ...withTier(browserTier, 'browser'), ...withTier(postgresTier, 'postgres')])('%s (%s) reaches nothing in test/lab/', (_name, _tier, path) => {
    const reached = [...reachable(path!).entries()].filter(([file]) => file.startsWith(`${lab}/`)).map(([, chain]) => show(chain));
    expect(reached).toEqual([]);
  });

  it.each(unit.map((path) => [relative(root, path), path]))('%s (unit) needs no browser', (_name, path) => {
    const reached = [...reachable(path!).entries()].filter(([file]) => browserHelpers.includes(file)).map(([, chain]) => show(chain));
    expect(reached).toEqual([]);
  });

  it.each([...withTier(unit, 'unit'), ...withTier(labTier, 'lab'), ...withTier(browserTier, 'browser')])('%s (%s) needs no PostgreSQL', (_name, _tier, path) => {
    const reached = [...reachable(path!).entries()].filter(([file]) => postgresHelpers.includes(file)).map(([, chain]) => show(chain));
    expect(reached).toEqual([]);
  });

  // This file names them to look for them.
  it.each([...withTier(unit, 'unit'), ...withTier(browserTier, 'browser'), ...withTier(postgresTier, 'postgres')].filter(([, , path]) => path !== import.meta.filename))(
    '%s (%s) writes no lab address out',
    (_name, _tier, path) => {
      const text = readFileSync(path!, 'utf8');
      expect(labByHand.filter((pattern) => pattern.test(text)).map(String)).toEqual([]);
    },
  );

  it.each(labTier.map((path) => [relative(root, path), path]))('%s (lab) needs the lab', (_name, path) => {
    expect([...reachable(path!).keys()].some((file) => file.startsWith(`${lab}/`))).toBe(true);
  });

  it.each(browserTier.map((path) => [relative(root, path), path]))('%s (browser) needs the browser', (_name, path) => {
    expect([...reachable(path!).keys()].some((file) => browserHelpers.includes(file))).toBe(true);
  });

  it.each(postgresTier.map((path) => [relative(root, path), path]))('%s (postgres) needs PostgreSQL', (_name, path) => {
    expect([...reachable(path!).keys()].some((file) => postgresHelpers.includes(file))).toBe(true);
  });
});
