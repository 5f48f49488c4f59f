import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.ts';
import { MailscopeError } from '../../src/core/errors.ts';
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
