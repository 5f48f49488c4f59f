import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configLimits, loadConfig } from '../../src/config/load.ts';
import type { MailscopeError } from '../../src/core/errors.ts';
import { Secret } from '../../src/core/secret.ts';
import { tempDir } from '../helpers/temp.ts';

const fixtures = join(import.meta.dirname, 'fixtures');

function envOf(dir: string): Record<string, string> {
  const file = join(dir, 'env.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>) : {};
}

function problemsOf(dir: string): string[] {
  try {
    loadConfig('mailscope.yaml', { env: envOf(dir), cwd: dir });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error(`${dir} loaded without errors`);
}

describe('invalid configurations: one fixture per rule, exact messages', () => {
  const cases = readdirSync(join(fixtures, 'bad')).sort();

  it('has a fixture for every rule', () => {
    expect(cases.length).toBeGreaterThanOrEqual(12);
  });

  for (const name of cases) {
    it(name, () => {
      const dir = join(fixtures, 'bad', name);
      const expected = readFileSync(join(dir, 'expected.txt'), 'utf8').trimEnd().split('\n');
      expect(problemsOf(dir)).toEqual(expected);
    });
  }
});

describe('valid configurations', () => {
  const full = join(fixtures, 'good', 'full');
  const env = { VIEWER_TOKEN: 'viewer-token-from-env-0001' };

  it('loads every probe file below a directory and listed files, sorted, with defaults applied', () => {
    const config = loadConfig('mailscope.yaml', { env, cwd: full });
    expect(config.probes.map((probe) => [probe.definition.id, probe.file])).toEqual([
      ['mta-sts-policy', 'probes/nested/http.yml'],
      ['mta-submission', 'probes/smtp.yaml'],
      ['admin-api', 'extra.yaml'],
    ]);
    const [sts, smtp, admin] = config.probes.map((probe) => probe.definition);
    expect(smtp).toMatchObject({
      kind: 'tcp',
      timeout: 20_000,
      jitter: 5_000,
      timezone: 'UTC',
      enabled: true,
      connectTimeout: 5_000,
      targets: [
        { host: '127.0.0.1', port: 587 },
        { host: 'mta.example.test', port: 25 },
        { host: '::1', port: 2525 },
      ],
    });
    expect(sts).toMatchObject({ kind: 'http', enabled: false, timeout: 30_000, jitter: 0, method: 'GET', expectStatus: [200], requestTimeout: 10_000 });
    expect(admin).toMatchObject({ kind: 'http', method: 'HEAD' });
    expect(config.instance.http.listen).toEqual({ host: '::1', port: 9025 });
    expect(config.instance.log.level).toBe('warn');
    expect(config.dataDir).toBe(join(full, 'state'));
    expect(config.probeFiles).toHaveLength(4);
  });

  it('resolves ${VAR}, ${VAR:-default} and $${ escapes; secrets stay wrapped', () => {
    const config = loadConfig('mailscope.yaml', { env, cwd: full });
    const [viewer, ops, admin] = config.instance.tokens;
    expect(viewer?.token).toBeInstanceOf(Secret);
    expect(viewer?.token.reveal()).toBe('viewer-token-from-env-0001');
    expect(ops?.token.reveal()).toBe('ops-default-token-0001');
    expect(admin?.token.reveal()).toBe('${LITERAL}-not-a-variable');
    expect(JSON.stringify(config.instance)).not.toContain('viewer-token-from-env-0001');
  });

  it('takes the environment over the default when the variable is set', () => {
    const config = loadConfig('mailscope.yaml', { env: { ...env, OPS_TOKEN: 'ops-token-from-env-00001' }, cwd: full });
    expect(config.instance.tokens[1]?.token.reveal()).toBe('ops-token-from-env-00001');
  });

  it('shows paths relative to the working directory, wherever the config file is', () => {
    const config = loadConfig(join('good', 'full', 'mailscope.yaml'), { env, cwd: fixtures });
    expect(config.probes[1]?.file).toBe(join('good', 'full', 'probes', 'smtp.yaml'));
    expect(config.dataDir).toBe(join(full, 'state'));
  });

  it("reads a source's log path relative to the instance file's directory, an absolute one as written", () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'etc'));
    writeFileSync(
      join(dir, 'etc', 'mailscope.yaml'),
      'sources:\n  - { id: relative, kind: postfix-log, path: ../log/mail.log }\n  - { id: absolute, kind: postfix-log, path: /var/log/mail.log }\n  - { id: hook, kind: events }\n',
    );
    const config = loadConfig(join('etc', 'mailscope.yaml'), { env: {}, cwd: dir });
    expect(config.instance.sources.map((source) => ('path' in source ? source.path : source.id))).toEqual([join(dir, 'log', 'mail.log'), '/var/log/mail.log', 'hook']);
  });

  it('accepts a config of nothing but defaults, and a missing default probes/ directory', () => {
    const dir = join(fixtures, 'good', 'minimal');
    const config = loadConfig('mailscope.yaml', { env: {}, cwd: dir });
    expect(config.instance).toMatchObject({ dataDir: './data', http: { listen: { host: '127.0.0.1', port: 8025 } }, tokens: [], log: { level: 'info' } });
    expect(config.probes).toEqual([]);
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });

  it('reports a missing config file as CONFIG_NOT_FOUND', () => {
    expect(() => loadConfig('nope.yaml', { env: {}, cwd: fixtures })).toThrow(
      expect.objectContaining({ code: 'CONFIG_NOT_FOUND', message: 'nope.yaml: no such file (write one, or pass --config FILE)' }) as MailscopeError,
    );
  });
});

describe('blacklist probes checked against the instance', () => {
  it('accepts the same large sweep once its timeout fits it at the rate limit', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'mailscope.yaml'), 'dns: { rateLimit: 500 }\n');
    mkdirSync(join(dir, 'probes'));
    writeFileSync(
      join(dir, 'probes', 'p.yaml'),
      'probes:\n  - { id: big-range, kind: blacklist, schedule: "*/5 * * * *", timeout: 60s, targets: [10.0.0.0/20], lists: [spamhaus-zen, spamcop, psbl, uceprotect-1] }\n',
    );
    expect(loadConfig('mailscope.yaml', { env: {}, cwd: dir }).probes).toHaveLength(1);
  });
});

describe('limits: a wrong path is refused quickly, with every other problem', () => {
  const { fileBytes, totalBytes, probeFiles, directoryEntries, depth } = configLimits;

  function project(instance = 'dataDir: ./data\n'): string {
    const dir = tempDir();
    writeFileSync(join(dir, 'mailscope.yaml'), instance);
    mkdirSync(join(dir, 'probes'));
    return dir;
  }

  /** A file of that size that takes no room on disk (it reads as zeros). */
  function sparseFile(path: string, size: number): void {
    writeFileSync(path, '');
    truncateSync(path, size);
  }

  /** Valid YAML of exactly `size` bytes: a comment fills what the content leaves. */
  function yamlOfSize(content: string, size: number): string {
    return `${content}#${'x'.repeat(size - content.length - 2)}\n`;
  }

  it('documents its limits', () => {
    expect(configLimits).toEqual({ fileBytes: 1_048_576, totalBytes: 8_388_608, probeFiles: 1000, directoryEntries: 10_000, depth: 64 });
  });

  it('refuses a 50 MiB probe file without reading it, and still reports the other files', () => {
    const dir = project();
    sparseFile(join(dir, 'probes', 'big.yaml'), 50 * 1024 * 1024);
    writeFileSync(join(dir, 'probes', 'other.yaml'), 'probes:\n  - { id: p, kind: tcp, schedule: "61 * * * *", targets: ["127.0.0.1:25"] }\n');
    const started = performance.now();
    expect(problemsOf(dir)).toEqual([
      'probes/big.yaml: too large: 52,428,800 bytes, more than the maximum of 1 MiB (1,048,576 bytes) for one configuration file',
      'probes/other.yaml: probes[0].schedule: "61 * * * *" is not a valid cron expression: invalid minute "61"',
    ]);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('loads a file of exactly the limit, and refuses one byte more', () => {
    const dir = project();
    const content = 'probes:\n  - { id: p, kind: tcp, schedule: "*/5 * * * *", targets: ["127.0.0.1:25"] }\n';
    writeFileSync(join(dir, 'probes', 'p.yaml'), yamlOfSize(content, fileBytes));
    expect(statSync(join(dir, 'probes', 'p.yaml')).size).toBe(fileBytes);
    expect(loadConfig('mailscope.yaml', { env: {}, cwd: dir }).probes).toHaveLength(1);

    writeFileSync(join(dir, 'probes', 'p.yaml'), yamlOfSize(content, fileBytes + 1));
    expect(problemsOf(dir)).toEqual(['probes/p.yaml: too large: 1,048,577 bytes, more than the maximum of 1 MiB (1,048,576 bytes) for one configuration file']);
  });

  it('reads a device or a pipe no further than the limit', () => {
    expect(() => loadConfig('/dev/zero', { env: {}, cwd: tempDir() })).toThrow(
      expect.objectContaining({ problems: ['/dev/zero: too large: more than the maximum of 1 MiB (1,048,576 bytes) for one configuration file'] }) as ConfigError,
    );
  });

  it('refuses probe files too large together, reading none of them', () => {
    const dir = project();
    for (let i = 0; i < totalBytes / fileBytes; i++) sparseFile(join(dir, 'probes', `p${i}.yaml`), fileBytes);
    expect(problemsOf(dir)).toEqual([
      'mailscope.yaml: probes: too large together: mailscope.yaml and its 8 probe files have 8,388,624 bytes, more than the maximum of 8 MiB (8,388,608 bytes) for the whole configuration: no probe file was read',
    ]);
  });

  it('refuses more probe files than the limit', () => {
    const dir = project();
    for (let i = 0; i <= probeFiles; i++) writeFileSync(join(dir, 'probes', `p${i}.yaml`), 'probes: []\n');
    expect(problemsOf(dir)).toEqual(['mailscope.yaml: probes: 1,001 probe files, more than the maximum of 1,000: no probe file was read']);
  });

  it('stops walking a directory with more entries than the limit (probes: / by mistake)', () => {
    const dir = project('probes: [probes/, ./]\n');
    for (let i = 0; i <= directoryEntries; i++) writeFileSync(join(dir, 'probes', `note-${i}.txt`), '');
    expect(problemsOf(dir)).toEqual([
      'mailscope.yaml: probes[0]: "probes/" has more than 10,000 entries below it, the most looked at: is it the right directory?',
      'mailscope.yaml: probes[1]: "./" has more than 10,000 entries below it, the most looked at: is it the right directory?',
    ]);
  });

  it(`refuses YAML nested more than ${depth} levels, however deep`, () => {
    const nested = (levels: number) => `dataDir: ${'['.repeat(levels)}${']'.repeat(levels)}\n`;
    const tooDeep = `mailscope.yaml: nested more than ${depth} levels deep (mappings and lists); a configuration needs far fewer`;
    expect(problemsOf(project(nested(depth - 1)))).toEqual(['mailscope.yaml: dataDir: expected a string, got a list']);
    expect(problemsOf(project(nested(depth)))).toEqual([tooDeep]);
    expect(problemsOf(project(nested(10_000)))).toEqual([tooDeep]);
  });
});
