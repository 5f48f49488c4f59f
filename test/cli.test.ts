import { mkdirSync, truncateSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, repoRoot } from './helpers/cli.ts';
import { closedPort, tcpServer } from './helpers/servers.ts';
import { tempDir } from './helpers/temp.ts';

function project(probesYaml: string, instance = 'dataDir: ./data\n'): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'mailscope.yaml'), instance);
  mkdirSync(join(dir, 'probes'));
  writeFileSync(join(dir, 'probes', 'smtp.yaml'), probesYaml);
  return dir;
}

const smtpProbe = (port: number, extra = '') => `probes:
  - id: smtp
    kind: tcp
    schedule: "*/5 * * * *"
    targets: ["127.0.0.1:${port}"]
    expectBanner: "^220 "
${extra}`;

describe('mailscope config check', () => {
  it('validates and summarises, creating nothing', async () => {
    const dir = project(smtpProbe(25));
    const result = await cli(['config', 'check'], { cwd: dir });
    expect(result).toEqual({ code: 0, stdout: 'configuration ok: 1 probe in 1 file (tcp: 1), 0 API tokens\n', stderr: '' });
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });

  it('prints every problem and exits 2', async () => {
    const dir = project(smtpProbe(25, '    schedule: "61 * * * *"\n'), 'dataDir: ./data\nhttp: { listen: nowhere }\n');
    const result = await cli(['config', 'check'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      [
        'invalid configuration (2 problems):',
        '  mailscope.yaml: http.listen: "nowhere" is not a host:port address (e.g. 127.0.0.1:8025, [::1]:8025; port 0-65535, 0 for any free port)',
        '  probes/smtp.yaml: line 7, column 5: Map keys must be unique',
        '',
      ].join('\n'),
    );
  });

  it('reads --config, then $MAILSCOPE_CONFIG, then ./mailscope.yaml', async () => {
    const dir = project(smtpProbe(25));
    writeFileSync(join(dir, 'other.yaml'), 'probes: []\n');
    expect((await cli(['--config', 'other.yaml', 'config', 'check'], { cwd: dir })).stderr).toBe('invalid configuration (1 problem):\n  other.yaml: probes: expected at least 1 item\n');
    expect((await cli(['config', 'check'], { cwd: dir, env: { MAILSCOPE_CONFIG: 'other.yaml' } })).code).toBe(2);
    expect((await cli(['-c', 'mailscope.yaml', 'config', 'check'], { cwd: dir, env: { MAILSCOPE_CONFIG: 'other.yaml' } })).code).toBe(0);
  });

  it('refuses a probe file over the size limit quickly, with the other problems, exit 2', async () => {
    const dir = project(smtpProbe(25, '    schedule: "61 * * * *"\n'));
    writeFileSync(join(dir, 'probes', 'huge.yaml'), '');
    truncateSync(join(dir, 'probes', 'huge.yaml'), 50 * 1024 * 1024);
    const started = performance.now();
    const result = await cli(['config', 'check'], { cwd: dir });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: [
        'invalid configuration (2 problems):',
        '  probes/huge.yaml: too large: 52,428,800 bytes, more than the maximum of 1 MiB (1,048,576 bytes) for one configuration file',
        '  probes/smtp.yaml: line 7, column 5: Map keys must be unique',
        '',
      ].join('\n'),
    });
  });

  it('reports every unset variable and every other problem at once, exit 2', async () => {
    const dir = project(
      smtpProbe(25, 'rules:\n  - { id: down, condition: reachability.up == false, notify: [chat, pager] }\n').replace('127.0.0.1:25', '${MTA_HOST}:25'),
      'http: { listen: "${LISTEN}" }\nlog: { level: loud }\nnotifiers:\n  - { id: chat, kind: slack, webhookUrl: "${SLACK_WEBHOOK_URL}" }\n',
    );
    const result = await cli(['config', 'check'], { cwd: dir, env: { MTA_HOST: 'mta.example.com' } });
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: [
        'invalid configuration (4 problems):',
        '  mailscope.yaml: http.listen: environment variable LISTEN is not set (set it, or write ${LISTEN:-default})',
        '  mailscope.yaml: notifiers[0].webhookUrl: environment variable SLACK_WEBHOOK_URL is not set (set it, or write ${SLACK_WEBHOOK_URL:-default})',
        '  mailscope.yaml: log.level: expected one of: fatal, error, warn, info, debug, trace, silent; got "loud"',
        '  probes/smtp.yaml: rules[0].notify[1]: unknown notifier "pager" (defined: chat)',
        '',
      ].join('\n'),
    });
  });

  it('says when the config file is missing, exit 2', async () => {
    const result = await cli(['config', 'check'], { cwd: tempDir() });
    expect(result).toEqual({ code: 2, stdout: '', stderr: 'mailscope.yaml: no such file (write one, or pass --config FILE)\n' });
  });
});

describe('mailscope probe list / probe run', () => {
  it('lists probes as a table and as JSON lines', async () => {
    const dir = project(smtpProbe(2525));
    const table = await cli(['probe', 'list'], { cwd: dir });
    expect(table.stdout).toBe('ID    KIND  SCHEDULE     TIMEOUT  ENABLED  FILE\n' + 'smtp  tcp   */5 * * * *  30000ms  true     probes/smtp.yaml\n');
    const json = await cli(['probe', 'list', '--json'], { cwd: dir });
    expect(JSON.parse(json.stdout)).toMatchObject({ id: 'smtp', kind: 'tcp', targets: [{ host: '127.0.0.1', port: 2525 }], file: 'probes/smtp.yaml' });
  });

  it('runs a probe once, records it and prints its observations (exit 0)', async () => {
    const { port } = await tcpServer((socket) => socket.write('220 mx.lab.test ESMTP\r\n'));
    const dir = project(smtpProbe(port));
    const result = await cli(['probe', 'run', 'smtp'], { cwd: dir });
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^smtp \(tcp\): ok in \d+ ms, run 1$/);
    expect(lines[1]).toMatch(new RegExp(`^  reachability  target=127\\.0\\.0\\.1:${port} protocol=tcp probe=smtp  status=up duration_ms=[\\d.]+ up=true banner="220 mx\\.lab\\.test ESMTP"$`));
    expect(lines[2]).toMatch(/^ {2}probe_run {2}probe=smtp kind=tcp {2}success=true duration_ms=[\d.]+ observations=1$/);
    expect(existsSync(join(dir, 'data', 'mailscope.db'))).toBe(true);

    const json = await cli(['probe', 'run', 'smtp', '--json'], { cwd: dir });
    const observations = json.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(observations.map((o) => o.measurement)).toEqual(['reachability', 'probe_run']);
    expect(observations.map((o) => o.tags.probe)).toEqual(['smtp', 'smtp']);
  });

  it("prints a hostile peer's text escaped: a banner with terminal escapes cannot clear the screen or fake a line", async () => {
    const { port } = await tcpServer((socket) => socket.write('220\u001b[2J\u001b[31mFAKE\u202e\r\n'));
    const dir = project(smtpProbe(port));
    const result = await cli(['probe', 'run', 'smtp'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout).not.toMatch(/[\u001b\u0080-\u009f\u202e]/);
    expect(result.stdout).toContain('banner=220\\x1b[2J\\x1b[31mFAKE');
  });

  it('exits 0 when the probe measured a service as down: a finding, not a failure', async () => {
    const dir = project(smtpProbe(await closedPort()));
    const result = await cli(['probe', 'run', 'smtp', '--json'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout.split('\n')[0]!).fields).toMatchObject({ status: 'down', reason: 'connection refused (ECONNREFUSED)' });
  });

  it('exits 1 when the probe could not measure (timeout), saying why', async () => {
    const { port } = await tcpServer(() => {});
    const dir = project(smtpProbe(port, '    timeout: 300ms\n    connectTimeout: 10s\n'));
    const result = await cli(['probe', 'run', 'smtp'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^smtp \(tcp\): FAILED PROBE_TIMEOUT: no result within the probe's timeout of 300 ms in \d+ ms, run 1\n/);
  });

  it('exits 2 for a probe id that does not exist, naming the known ones', async () => {
    const dir = project(smtpProbe(25));
    expect(await cli(['probe', 'run', 'smpt'], { cwd: dir })).toEqual({ code: 2, stdout: '', stderr: 'no probe "smpt" (known: smtp)\n' });
  });
});

describe('mailscope run', () => {
  it('exits 1 with the reason when its port is taken', async () => {
    const { port } = await tcpServer(() => {});
    const dir = project(smtpProbe(25), `dataDir: ./data\nhttp: { listen: "127.0.0.1:${port}" }\n`);
    const result = await cli(['run'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`mailscope: HTTP_LISTEN_FAILED: cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE) (set http.listen in ${join(dir, 'mailscope.yaml')})\n`);
  });
});

describe('the demo configuration', () => {
  it('is valid', async () => {
    const result = await cli(['--config', 'demo/mailscope.yaml', 'config', 'check'], { cwd: repoRoot });
    expect(result).toEqual({
      code: 0,
      stdout:
        'configuration ok: 10 probes in 2 files (blacklist: 1, dns-auth: 1, placement: 2, tcp: 3, http: 2, outbox: 1), 14 alert rules, 0 notifiers, 3 sources (postfix-log, mailbox, reports), 3 API tokens\n',
      stderr: '',
    });
  });
});

describe('mailscope usage', () => {
  it.each([
    [['frobnicate'], "error: unknown command 'frobnicate'"],
    [['probe', 'run'], "error: missing required argument 'id'"],
    [['probe', 'list', '--yaml'], "error: unknown option '--yaml'"],
  ])('%j exits 2 with the reason', async (argv, reason) => {
    const result = await cli(argv, { cwd: tempDir() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(reason);
  });

  it('prints help and the version, exit 0', async () => {
    const help = await cli(['--help'], { cwd: tempDir() });
    expect(help.code).toBe(0);
    for (const command of ['run', 'config', 'probe']) expect(help.stdout).toContain(command);
    expect(await cli(['--version'], { cwd: tempDir() })).toEqual({ code: 0, stdout: '0.0.0-test\n', stderr: '' });
  });
});
