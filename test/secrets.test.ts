import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import { systemClock } from '../src/core/clock.ts';
import { startObservatory } from '../src/observatory.ts';
import { DnsClient } from '../src/protocols/dns/client.ts';
import { lab } from './lab/plan.ts';
import { Database } from '../src/store/database.ts';
import { cli } from './helpers/cli.ts';
import { captureLog } from './helpers/log.ts';
import { tcpServer } from './helpers/servers.ts';
import { tempDir } from './helpers/temp.ts';

const secrets = {
  VIEWER_TOKEN: 'viewer-SECRET-aaaaaaaaaaaa',
  OPERATOR_TOKEN: 'operator-SECRET-bbbbbbbbbbbb',
  ADMIN_TOKEN: 'admin-SECRET-cccccccccccc',
  SLACK_URL: 'https://SECRET-slack.example/services/T0SECRET/B0SECRET/dddd',
  HOOK_SECRET: 'hook-SECRET-eeeeeeeeeeee',
  SMTP_PASSWORD: 'smtp-SECRET-ffffffffffff',
};

function expectNoSecret(text: string, where: string) {
  for (const [name, value] of Object.entries(secrets)) {
    expect(text.includes(value), `${name} found in ${where}`).toBe(false);
    // Nor a recognisable piece of it.
    expect(text.includes(value.slice(0, 12)), `part of ${name} found in ${where}`).toBe(false);
  }
}

async function project(): Promise<string> {
  const { port } = await tcpServer((socket) => socket.write('220 ok\r\n'));
  const dir = tempDir();
  writeFileSync(
    join(dir, 'mailscope.yaml'),
    `dataDir: ./data
http: { listen: "127.0.0.1:0" }
log: { level: trace }
tokens:
  - { name: grafana, role: viewer, token: "\${VIEWER_TOKEN}" }
  - { name: ops, role: operator, token: "\${OPERATOR_TOKEN}" }
  - { name: root, role: admin, token: "\${ADMIN_TOKEN}" }
notifiers:
  - { id: chat, kind: slack, webhookUrl: "\${SLACK_URL}" }
  - { id: hook, kind: webhook, url: "https://hooks.example/in", secret: "\${HOOK_SECRET}" }
  - { id: mail, kind: email, smtp: { host: 127.0.0.1, auth: { user: mailscope, password: "\${SMTP_PASSWORD}" } }, from: a@example.com, to: [b@example.com] }
`,
  );
  mkdirSync(join(dir, 'probes'));
  writeFileSync(
    join(dir, 'probes', 'p.yaml'),
    `probes:\n  - { id: smtp, kind: tcp, schedule: "0 0 1 1 *", targets: ["127.0.0.1:${port}"], expectBanner: "^220" }\n`,
  );
  return dir;
}

describe('a configured secret never reaches logs, API output or CLI output', () => {
  it('through the running observatory: every route, every token, failures included, at log level trace', async () => {
    const dir = await project();
    const logs = captureLog('trace');
    const config = loadConfig('mailscope.yaml', { cwd: dir, env: secrets });
    const observatory = await startObservatory({ config, log: logs.log, clock: systemClock, db: Database.open(config.dataDir), dns: new DnsClient({ servers: [lab.resolver] }), version: 'test' });
    const base = `http://127.0.0.1:${observatory.address.port}`;
    const bodies: string[] = [];
    const call = async (method: string, path: string, authorization?: string) => {
      const response = await fetch(`${base}${path}`, { method, headers: authorization ? { authorization } : {} });
      bodies.push(`${response.status} ${JSON.stringify([...response.headers])} ${await response.text()}`);
      return response.status;
    };
    const paths = ['/v1/probes', '/v1/probes/smtp', '/v1/runs', '/v1/observations', '/v1/series', '/v1/config', '/v1/runs/1', '/v1/alerts', '/v1/notifications', '/v1/silences', '/readyz', '/docs/json'];
    expect(await call('POST', '/v1/probes/smtp/run', `Bearer ${secrets.OPERATOR_TOKEN}`)).toBe(200);
    for (const path of paths) {
      for (const token of Object.values(secrets)) await call('GET', path, `Bearer ${token}`);
      await call('GET', path, `Bearer ${secrets.ADMIN_TOKEN}-wrong`);
      await call('GET', path, `Basic ${secrets.VIEWER_TOKEN}`);
      await call('GET', `${path}?token=${secrets.VIEWER_TOKEN}`, `Bearer ${secrets.VIEWER_TOKEN}`);
    }
    expect(await call('GET', '/v1/config', `Bearer ${secrets.ADMIN_TOKEN}`)).toBe(200);
    await observatory.stop();

    const output = bodies.join('\n');
    expect(output).toContain('"tokens":[{"name":"grafana","role":"viewer","token":"[redacted]"}');
    expect(output).toContain('{"id":"chat","kind":"slack","webhookUrl":"[redacted]"}');
    expectNoSecret(output, 'API responses');
    // The log saw the configuration and every request; make sure it is not empty before trusting it.
    const entries = logs.entries();
    expect(entries.some((entry) => entry.msg === 'configuration loaded')).toBe(true);
    expect(entries.filter((entry) => entry.msg === 'incoming request').length).toBeGreaterThan(40);
    expect(logs.text()).toContain('"url":"/v1/probes?token=[redacted]"');
    expectNoSecret(logs.text(), 'logs');
  });

  it('through the CLI: config check, probe list --json, probe run', async () => {
    const dir = await project();
    for (const argv of [['config', 'check'], ['probe', 'list', '--json'], ['probe', 'list'], ['probe', 'run', 'smtp'], ['probe', 'run', 'smtp', '--json']]) {
      const result = await cli(argv, { cwd: dir, env: secrets });
      expect(result.code, argv.join(' ')).toBe(0);
      expectNoSecret(result.stdout + result.stderr, argv.join(' '));
    }
  });

  it('through config errors: a bad secret is described, never shown', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'mailscope.yaml'),
      `tokens:
  - { name: a, role: viewer, token: "${secrets.VIEWER_TOKEN.slice(0, 12)}" }
  - { name: b, role: viewer, token: ${'1'.repeat(20)} }
  - { name: c, role: viewer, token: "\${ADMIN_TOKEN}" }
  - { name: d, role: viewer, token: "\${ADMIN_TOKEN}" }
`,
    );
    const result = await cli(['config', 'check'], { cwd: dir, env: secrets });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      [
        'invalid configuration (2 problems):',
        '  mailscope.yaml: tokens[0].token: too short: a secret of at least 16 characters is expected',
        '  mailscope.yaml: tokens[1].token: expected a string (not shown: it is a secret)',
        '',
      ].join('\n'),
    );
    expectNoSecret(result.stderr, 'config errors');
    expect(result.stderr).not.toContain('1'.repeat(20));
  });
});
