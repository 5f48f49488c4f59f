import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { systemClock } from '../../src/core/clock.ts';
import { startObservatory } from '../../src/observatory.ts';
import { DnsClient } from '../../src/protocols/dns/client.ts';
import { Database } from '../../src/store/database.ts';
import { ConfigError } from '../../src/config/load.ts';
import { cli } from '../helpers/cli.ts';
import { captureLog } from '../helpers/log.ts';
import { runningObservatory } from '../helpers/observatory.ts';
import { closedPort, httpServer, tcpServer } from '../helpers/servers.ts';
import { noResolver } from '../helpers/services.ts';
import { tempDir } from '../helpers/temp.ts';

const secrets = {
  VIEWER_TOKEN: 'viewer-SECRET-aaaaaaaaaaaa',
  OPERATOR_TOKEN: 'operator-SECRET-bbbbbbbbbbbb',
  ADMIN_TOKEN: 'admin-SECRET-cccccccccccc',
  SLACK_URL: 'https://SECRET-slack.example/services/T0SECRET/B0SECRET/dddd',
  HOOK_SECRET: 'hook-SECRET-eeeeeeeeeeee',
  SMTP_PASSWORD: 'smtp-SECRET-ffffffffffff',
  DATABASE_URL: 'postgres://mailscope:db-SECRET-gggggggggggg@db.example:5432/mailscope',
};

function expectNoSecret(text: string, where: string) {
  for (const [name, value] of Object.entries(secrets)) {
    expect(text.includes(value), `${name} found in ${where}`).toBe(false);
    // Nor a recognisable piece of it.
    expect(text.includes(value.slice(0, 12)), `part of ${name} found in ${where}`).toBe(false);
  }
}

async function project(store = ''): Promise<string> {
  const { port } = await tcpServer((socket) => socket.write('220 ok\r\n'));
  const dir = tempDir();
  writeFileSync(
    join(dir, 'mailscope.yaml'),
    `dataDir: ./data
http: { listen: "127.0.0.1:0" }
log: { level: trace }
${store}
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
  writeFileSync(join(dir, 'probes', 'p.yaml'), `probes:\n  - { id: smtp, kind: tcp, schedule: "0 0 1 1 *", targets: ["127.0.0.1:${port}"], expectBanner: "^220" }\n`);
  return dir;
}

describe('a configured secret never reaches logs, API output or CLI output', () => {
  it('through the running observatory: every route, every token, failures included, at log level trace', async () => {
    // The store's URL (with its password) is in the configuration; the store itself is SQLite here.
    const dir = await project('store: { kind: postgres, url: "${DATABASE_URL}" }');
    const logs = captureLog('trace');
    const config = loadConfig('mailscope.yaml', { cwd: dir, env: secrets });
    const observatory = await startObservatory({ config, log: logs.log, clock: systemClock, db: Database.open(config.dataDir), dns: new DnsClient({ servers: [noResolver] }), version: 'test' });
    const base = `http://127.0.0.1:${observatory.address.port}`;
    const bodies: string[] = [];
    const call = async (method: string, path: string, authorization?: string) => {
      const response = await fetch(`${base}${path}`, { method, headers: authorization ? { authorization } : {} });
      bodies.push(`${response.status} ${JSON.stringify([...response.headers])} ${await response.text()}`);
      return response.status;
    };
    const paths = [
      '/v1/probes',
      '/v1/probes/smtp',
      '/v1/runs',
      '/v1/observations',
      '/v1/series',
      '/v1/config',
      '/v1/runs/1',
      '/v1/alerts',
      '/v1/notifications',
      '/v1/silences',
      '/readyz',
      '/docs/json',
    ];
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
    expect(output).toContain('"store":{"kind":"postgres","url":"[redacted]"');
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
    for (const argv of [
      ['config', 'check'],
      ['probe', 'list', '--json'],
      ['probe', 'list'],
      ['probe', 'run', 'smtp'],
      ['probe', 'run', 'smtp', '--json'],
    ]) {
      const result = await cli(argv, { cwd: dir, env: secrets });
      expect(result.code, argv.join(' ')).toBe(0);
      expectNoSecret(result.stdout + result.stderr, argv.join(' '));
    }
  });

  it('through the CLI: a PostgreSQL store it cannot reach is named without its password', async () => {
    const dir = await project('store: { kind: postgres, url: "${DATABASE_URL}", connectTimeout: 1s }');
    const env = { ...secrets, DATABASE_URL: 'postgres://mailscope:db-SECRET-gggggggggggg@127.0.0.1:1/mailscope' };
    const result = await cli(['probe', 'run', 'smtp'], { cwd: dir, env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('postgres://mailscope:***@127.0.0.1:1/mailscope');
    expect(result.stderr).toMatch(/ECONNREFUSED/);
    expect(result.stdout + result.stderr).not.toContain('db-SECRET');
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

/**
 * Secrets sent to peers, each marked SECRET. A receiver that echoes the request
 * into its error (a proxy, a debug server) must not carry any of them, in any
 * form, into lastError (read by a viewer) or a log line.
 */
const sent = {
  VIEWER_TOKEN: 'viewer-SECRET-0000aaaaaaaa',
  OPERATOR_TOKEN: 'operator-SECRET-0000bbbbbbbb',
  ADMIN_TOKEN: 'admin-SECRET-0000cccccccc',
  HOOK_AUTH: 'Bearer hdr-SECRET-0001aaaa',
  HOOK_API_KEY: 'key-SECRET-0002bbbb',
  HOOK_URL_KEY: 'url+SECRET/0003 cccc',
  SLACK_TOKEN: 'slack-SECRET-0004dddddddd',
  PLATFORM_URL_TOKEN: 'plat-SECRET-0005eeee',
  PLATFORM_AUTH: 'phdr-SECRET-0006ffff',
  PLATFORM_SIGNING: 'sign-SECRET-0007gggg',
  KUMO_PASSWORD: 'kumo-SECRET-0008hhhh',
  KUMO_TOKEN: 'kumotok-SECRET-0009iiii',
  LISTMONK_TOKEN: 'lm-SECRET-0010jjjj',
  INFLUX_TOKEN: 'influx-SECRET-0011kkkk',
  INFLUX_PASSWORD: 'inflpw-SECRET-0012llll',
};
/** The HTTP Basic credentials sent (user:password), each only base64 on the wire. */
const basics = [`kumo-admin:${sent.KUMO_PASSWORD}`, `mailscope-api:${sent.LISTMONK_TOKEN}`, `writer:${sent.INFLUX_PASSWORD}`];

/** Every form a secret may take in an echo: as is, URL-encoded, base64 (alone and as HTTP Basic). */
function expectNothingSent(text: string, where: string) {
  expect(text, where).not.toContain('SECRET');
  for (const value of Object.values(sent)) {
    for (const form of [encodeURIComponent(value), encodeURIComponent(value).replaceAll('%20', '+'), Buffer.from(value).toString('base64').slice(2, -4)])
      expect(text.includes(form), `${value} as ${form} in ${where}`).toBe(false);
  }
  for (const basic of basics) expect(text.includes(Buffer.from(basic).toString('base64').slice(0, -4)), `Basic ${basic} in ${where}`).toBe(false);
}

/** What a peer's text left in lastError: bounded, no control characters, and it is the echo (HTTP 500). */
function expectSafeError(lastError: unknown, where: string) {
  expect(lastError, where).toEqual(expect.stringContaining('HTTP 500'));
  const text = lastError as string;
  expect(text.length, where).toBeLessThanOrEqual(400);
  expect(text, where).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  expectNothingSent(text, where);
}

const boring = new Set(['host', 'connection', 'content-type', 'content-length', 'user-agent', 'accept', 'accept-encoding', 'accept-language', 'sec-fetch-mode']);

/**
 * A debug receiver: answers every request 500 with a coloured error that echoes
 * it — what it was sent first (the URL as sent and decoded, the header values,
 * the credentials of an Authorization header, decoded), then the request as JSON,
 * the body, and a lot more — with terminal escapes, CR LF and NUL in it.
 */
async function echoServer(): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const { url } = await httpServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      requests.push(`${request.method} ${request.url}`);
      const path = request.url ?? '';
      const seen = [path, decodeURIComponent(path)];
      for (const [name, value] of Object.entries(request.headers)) {
        if (boring.has(name) || name.startsWith('x-mailscope-') || typeof value !== 'string') continue;
        seen.push(value);
        const [scheme, credentials] = value.split(' ');
        if (name === 'authorization' && credentials) seen.push(credentials, ...(scheme === 'Basic' ? [Buffer.from(credentials, 'base64').toString('utf8')] : []));
      }
      const echo = [
        `\u001b[31mERROR 500\u001b[0m\u0000 you sent: ${seen.join(' | ')}`,
        `${request.method} ${path} HTTP/1.1`,
        ...Object.entries(request.headers).map(([name, value]) => `${name}: ${String(value)}`),
        JSON.stringify({ url: path, headers: request.headers }),
        body,
        `\u0000${'x'.repeat(3_000)}`,
      ].join('\r\n');
      response.writeHead(500, { 'content-type': 'text/plain' }).end(echo);
    });
  });
  return { url, requests };
}

async function waitUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; ; ) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function echoProject(influx: string): Promise<{ dir: string; env: Record<string, string>; echo: { url: string; requests: string[] } }> {
  const echo = await echoServer();
  const dir = tempDir();
  writeFileSync(
    join(dir, 'mailscope.yaml'),
    `dataDir: ./data
http: { listen: "127.0.0.1:0" }
tokens:
  - { name: grafana, role: viewer, token: "\${VIEWER_TOKEN}" }
  - { name: ops, role: operator, token: "\${OPERATOR_TOKEN}" }
  - { name: root, role: admin, token: "\${ADMIN_TOKEN}" }
${influx}
notifiers:
  - id: hook
    kind: webhook
    url: "\${HOOK_URL}"
    headers: { Authorization: "\${HOOK_AUTH}", X-Api-Key: "\${HOOK_API_KEY}" }
  - { id: chat, kind: slack, webhookUrl: "\${SLACK_URL}" }
platforms:
  - { id: hook-platform, kind: webhook, url: "\${PLATFORM_URL}", secret: "\${PLATFORM_SIGNING}", headers: { X-Auth-Token: "\${PLATFORM_AUTH}" } }
  - { id: kumo-basic, kind: kumomta, url: "${echo.url}", basicAuth: { username: kumo-admin, password: "\${KUMO_PASSWORD}" } }
  - { id: kumo-token, kind: kumomta, url: "${echo.url}", token: "\${KUMO_TOKEN}" }
  - { id: lists, kind: listmonk, url: "${echo.url}", username: mailscope-api, token: "\${LISTMONK_TOKEN}", authScheme: basic }
alerts: { retry: { min: 100ms, max: 200ms, attempts: 2 } }
controls: { retry: { min: 100ms, max: 200ms, attempts: 2 } }
`,
  );
  mkdirSync(join(dir, 'probes'));
  writeFileSync(
    join(dir, 'probes', 'p.yaml'),
    `probes:
  - { id: smtp, kind: tcp, schedule: "0 0 1 1 *", targets: ["127.0.0.1:${await closedPort()}"] }
rules:
  - { id: smtp-down, condition: reachability.up == false, severity: critical, notify: [hook, chat] }
`,
  );
  const env = {
    ...sent,
    HOOK_URL: `${echo.url}/hook/notify?key=${encodeURIComponent(sent.HOOK_URL_KEY)}`,
    SLACK_URL: `${echo.url}/services/T0SECRET/B0SECRET/${sent.SLACK_TOKEN}`,
    PLATFORM_URL: `${echo.url}/control?token=${sent.PLATFORM_URL_TOKEN}`,
  };
  return { dir, env, echo };
}

describe('a peer echoing the request in its error carries no secret into lastError or the logs', () => {
  it('notifiers (webhook with headers and a URL token, Slack), push platforms (webhook, KumoMTA Basic and token, listmonk) and InfluxDB v2: read by a viewer', { timeout: 60_000 }, async () => {
    const echoed = await echoServer();
    const { dir, env, echo } = await echoProject(`influx: { api: v2, url: "${echoed.url}", org: mail, bucket: mailscope, token: "\${INFLUX_TOKEN}", flushInterval: 100ms }`);
    const { observatory, config, logs } = await runningObservatory(dir, { token: sent.VIEWER_TOKEN, env, logLevel: 'debug' });
    const base = `http://127.0.0.1:${observatory.address.port}`;
    const as = async (token: string, path: string, init: RequestInit = {}) => {
      const response = await fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}) } });
      return { status: response.status, text: await response.clone().text(), body: (await response.json()) as any };
    };
    const viewer = (path: string) => as(sent.VIEWER_TOKEN, path);

    // The probe finds the port closed: the rule fires, both notifiers are sent to, the outbox has points.
    await observatory.runner.run(config.probes[0]!.definition, 'cli');
    // A pause every push platform can apply: each push meets the echo.
    const created = await as(sent.OPERATOR_TOKEN, '/v1/controls', { method: 'POST', body: JSON.stringify({ action: 'pause', scope: { campaign: '7' }, reason: 'secrets test' }) });
    expect(created.status).toBe(201);
    const id = created.body.control.id as string;

    const notifications = await waitUntil(
      () => viewer('/v1/notifications'),
      ({ body }) => body.notifications.length === 2 && body.notifications.every((row: any) => row.lastError),
      'both notifications to fail',
    );
    expect(notifications.body.notifications.map((row: any) => row.channel).sort()).toEqual(['chat', 'hook']);
    for (const row of notifications.body.notifications) expectSafeError(row.lastError, `/v1/notifications ${row.channel}`);
    expectNothingSent(notifications.text, '/v1/notifications');

    const one = await waitUntil(
      () => viewer(`/v1/controls/${id}`),
      ({ body }) => body.control.pushes.length === 4 && body.control.pushes.every((push: any) => push.lastError),
      'every push to fail',
    );
    expect(one.body.control.pushes.map((push: any) => push.platform).sort()).toEqual(['hook-platform', 'kumo-basic', 'kumo-token', 'lists']);
    for (const push of one.body.control.pushes) expectSafeError(push.lastError, `/v1/controls/:id ${push.platform}`);
    expectNothingSent(one.text, '/v1/controls/:id');
    const all = await viewer('/v1/controls');
    expect(all.body.controls[0].pushes.filter((push: any) => push.lastError)).toHaveLength(4);
    expectNothingSent(all.text, '/v1/controls');

    const outbox = await waitUntil(
      () => viewer('/v1/outbox'),
      ({ body }) => body.lastError !== undefined,
      'the outbox to fail',
    );
    expect(outbox.body.lastError.status).toBe(500);
    expectSafeError(outbox.body.lastError.message, '/v1/outbox');
    expectNothingSent(outbox.text, '/v1/outbox');

    // The receivers did get the secrets (else the test proves nothing); the logs kept none.
    expect(echo.requests.some((request) => request.startsWith('POST /hook/notify?key=url%2BSECRET'))).toBe(true);
    expect(echoed.requests.some((request) => request.startsWith('POST /api/v2/write?'))).toBe(true);
    await observatory.stop();
    const warnings = logs.entries().filter((entry) => entry.level === 'warn' && typeof entry.reason === 'string' && entry.reason.includes('HTTP 500'));
    expect(warnings.length).toBeGreaterThanOrEqual(7);
    expectNothingSent(logs.text(), 'logs');
  });

  it('InfluxDB v1 with username and password: /v1/outbox and the logs', async () => {
    const echoed = await echoServer();
    const { dir, env } = await echoProject(`influx: { api: v1, url: "${echoed.url}", database: mailscope, username: writer, password: "\${INFLUX_PASSWORD}", flushInterval: 100ms }`);
    const { observatory, config, logs, api } = await runningObservatory(dir, { token: sent.VIEWER_TOKEN, env });
    await observatory.runner.run(config.probes[0]!.definition, 'cli');
    const outbox = await waitUntil(
      () => api('/v1/outbox'),
      ({ body }) => body.lastError !== undefined,
      'the outbox to fail',
    );
    expectSafeError(outbox.body.lastError.message, '/v1/outbox (v1)');
    expect(echoed.requests.some((request) => request.startsWith('POST /write?db=mailscope'))).toBe(true);
    await observatory.stop();
    expect(logs.text()).toContain('time-series write failed');
    expectNothingSent(logs.text(), 'logs');
  });
});

describe('header values and URL credentials are configuration secrets', () => {
  it('GET /v1/config and the "configuration loaded" debug line show each header value as "[redacted]"', async () => {
    const { dir, env } = await echoProject('');
    const { observatory, logs } = await runningObservatory(dir, { token: sent.ADMIN_TOKEN, env, logLevel: 'debug' });
    const response = await fetch(`http://127.0.0.1:${observatory.address.port}/v1/config`, { headers: { authorization: `Bearer ${sent.ADMIN_TOKEN}` } });
    const text = await response.text();
    const { instance } = JSON.parse(text) as { instance: any };
    expect(instance.notifiers[0]).toMatchObject({ id: 'hook', url: '[redacted]', headers: { Authorization: '[redacted]', 'X-Api-Key': '[redacted]' } });
    expect(instance.platforms[0]).toMatchObject({ id: 'hook-platform', url: '[redacted]', headers: { 'X-Auth-Token': '[redacted]' } });
    expectNothingSent(text, 'GET /v1/config');
    const loaded = logs.entries().find((entry) => entry.msg === 'configuration loaded') as { instance: any } | undefined;
    expect(loaded?.instance.notifiers[0].headers).toEqual({ Authorization: '[redacted]', 'X-Api-Key': '[redacted]' });
    expect(loaded?.instance.platforms[0].headers).toEqual({ 'X-Auth-Token': '[redacted]' });
    expectNothingSent(logs.text(), 'logs');
  });

  it('influx.url with user:password@ is refused at load, with a message that shows neither (token or username and password are the keys for them)', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'mailscope.yaml'), `influx: { api: v1, url: "http://writer:\${INFLUX_PASSWORD}@127.0.0.1:8086", database: mailscope }\n`);
    let error: unknown;
    try {
      loadConfig('mailscope.yaml', { cwd: dir, env: sent });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'mailscope.yaml: influx.url: must not carry credentials (user:password@; not shown: they are secrets): use token (v2) or username and password (v1)',
    ]);
    expectNothingSent(JSON.stringify({ message: (error as Error).message, details: (error as ConfigError).problems }), 'the config error');
  });
});
