/**
 * `mailscope control`: pause, throttle, list and resume from the command line,
 * written to the store with the person in the audit log; bad input exits 2 and
 * stores nothing; a running observatory on the same store enforces what the CLI
 * wrote.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { listAudit, listControls } from '../../src/store/controls.ts';
import { Database } from '../../src/store/database.ts';
import { cli } from '../helpers/cli.ts';
import { runningObservatory } from '../helpers/observatory.ts';
import { tempDir } from '../helpers/temp.ts';

const viewerToken = 'control-cli-viewer-token-01';

function project(): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'mailscope.yaml'), `dataDir: ./data\nhttp: { listen: "127.0.0.1:0" }\ntokens: [{ name: grafana, role: viewer, token: "${viewerToken}" }]\ncontrols: { interval: 100ms }\n`);
  mkdirSync(join(dir, 'probes'));
  writeFileSync(join(dir, 'probes', 'p.yaml'), 'probes:\n  - { id: smtp, kind: tcp, schedule: "0 0 1 1 *", targets: ["127.0.0.1:25"] }\n');
  return dir;
}

const uuid = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

describe('mailscope control', () => {
  it('pause, throttle, list, resume: idempotent, audited with the person, exit codes as documented', async () => {
    const dir = project();
    const env = { USER: 'dana' };
    const paused = await cli(['control', 'pause', 'ip=192.0.2.11', 'rcpt_domain=GMail.com', '--reason', 'listed on Spamhaus', '--expires', '6h'], { cwd: dir, env });
    expect(paused.code).toBe(0);
    expect(paused.stdout).toMatch(new RegExp(`^created: pause ip=192.0.2.11 rcpt_domain=gmail.com \\((${uuid})\\)\\n$`));
    const id = /\(([^)]+)\)/.exec(paused.stdout)![1]!;
    expect((await cli(['control', 'pause', 'rcpt_domain=gmail.com', 'ip=192.0.2.11', '--reason', 'again'], { cwd: dir, env })).stdout).toBe(
      `already active: pause ip=192.0.2.11 rcpt_domain=gmail.com (${id})\n`,
    );
    const throttled = await cli(['control', 'throttle', 'pool=shared', '--rate', '120', '--reason', 'warming up'], { cwd: dir, env });
    expect(throttled.stdout).toMatch(/^created: throttle pool=shared at 120\/min \(/);

    const listed = await cli(['control', 'list'], { cwd: dir });
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+ACTION\s+SCOPE\s+RATE\s+SOURCE\s+CREATED\s+ENDS\s+HELD\/RELEASED\s+REASON$/);
    expect(lines.slice(1).map((line) => line.split(/\s{2,}/).slice(1, 5))).toEqual([
      ['throttle', 'pool=shared', '120/min', 'cli:dana'],
      ['pause', 'ip=192.0.2.11 rcpt_domain=gmail.com', 'cli:dana', expect.any(String)],
    ]);
    expect(lines[2]).toMatch(/expires \d{4}-\d\d-\d\dT/);
    const json = (await cli(['control', 'list', '--json'], { cwd: dir })).stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(json.map((control) => control.action)).toEqual(['throttle', 'pause']);
    expect(json[1]).toMatchObject({ id, scope: { ip: '192.0.2.11', rcpt_domain: 'gmail.com' }, source: 'cli:dana', createdBy: 'cli:dana', held: { held: 0, released: 0 } });

    expect(await cli(['control', 'resume', id, '--reason', 'delisted'], { cwd: dir, env })).toEqual({ code: 0, stdout: `lifted: pause ip=192.0.2.11 rcpt_domain=gmail.com (${id})\n`, stderr: '' });
    const again = await cli(['control', 'resume', id, '--reason', 'delisted'], { cwd: dir, env });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`^control "${id}" was lifted at .* by cli:dana\\n$`));
    expect(await cli(['control', 'resume', 'no-such-id', '--reason', 'x'], { cwd: dir, env })).toEqual({ code: 2, stdout: '', stderr: 'no control "no-such-id"\n' });
    expect((await cli(['control', 'list'], { cwd: dir })).stdout.trimEnd().split('\n')).toHaveLength(2);
    expect((await cli(['control', 'list', '--all'], { cwd: dir })).stdout).toContain('lifted ');

    const db = Database.open(join(dir, 'data'));
    onTestFinished(() => db.close());
    expect(listAudit(db, { subject: id, limit: 10 }).map((entry) => `${entry.action} ${entry.actor}`)).toEqual(['control.lifted cli:dana', 'control.created cli:dana']);
  });

  it.each([
    [['pause', 'ipaddress=192.0.2.1', '--reason', 'x'], 'ipaddress: unknown scope key "ipaddress" (expected one of: ip, pool, from_domain, rcpt_domain, provider, campaign, tenant)'],
    [['pause', 'ip=192.0.2.300', '--reason', 'x'], 'ip: "192.0.2.300" is not an IP address or CIDR range'],
    [['pause', 'gmail.com', '--reason', 'x'], '"gmail.com" is not key=value (keys: ip, pool, from_domain, rcpt_domain, provider, campaign, tenant)'],
    [['pause', 'ip=192.0.2.1', '--reason', 'x', '--expires', '2020-01-01T00:00:00Z'], '--expires: 2020-01-01T00:00:00.000Z is not in the future'],
    [['pause', 'ip=192.0.2.1', '--reason', 'x', '--expires', 'soon'], '--expires: "soon" is neither an ISO 8601 time nor a duration such as 2h (at most 366d)'],
    [['throttle', 'pool=a', '--rate', '-5', '--reason', 'x'], `error: option '--rate <per-minute>' argument '-5' is invalid. "-5" is not a whole number of messages per minute (0 or more)`],
    [['throttle', 'pool=a', '--rate', '1.5', '--reason', 'x'], `error: option '--rate <per-minute>' argument '1.5' is invalid. "1.5" is not a whole number of messages per minute (0 or more)`],
    [['pause', 'ip=192.0.2.1'], "error: required option '--reason <text>' not specified"],
    // The API refuses these; so does the CLI, with the same schema.
    [['pause', 'ip=192.0.2.1', '--reason', ''], '--reason: must not be empty'],
    [['pause', 'ip=192.0.2.1', '--reason', 'x'.repeat(100_000)], '--reason: at most 1000 characters'],
    [['pause', 'ip=192.0.2.1', 'ip=192.0.2.2', '--reason', 'x'], 'ip: given twice ("192.0.2.1" and "192.0.2.2"); a scope has one value per key'],
    [['pause', 'ip=192.0.2.1', '--reason', 'listed\u001b[2J'], '--reason: contains a control character (U+001B at position 7): write plain text on one line'],
    [['pause', 'ip=192.0.2.1', '--reason', 'x\nID  pause  ip=0.0.0.0/0'], '--reason: contains a control character (U+000A at position 2): write plain text on one line'],
    [['pause', 'campaign=a\u0000b', '--reason', 'x'], 'campaign: contains a control character (U+0000 at position 2): write plain text on one line'],
    [['pause', 'ip=10.1', '--reason', 'x'], 'ip: "10.1" is not an IP address or CIDR range'],
    [['pause', 'ip=192.0.2.1', '--reason', 'x', '--expires', '100000000d'], '--expires: "100000000d" is neither an ISO 8601 time nor a duration such as 2h (at most 366d)'],
    [['pause', 'ip=192.0.2.1', '--reason', 'x', '--expires', '400d'], expect.stringMatching(/^--expires: .* is more than a year ahead \(at most 366d\)$/)],
    [
      ['throttle', 'pool=a', '--rate', '99999999999', '--reason', 'x'],
      `error: option '--rate <per-minute>' argument '99999999999' is invalid. "99999999999" is not a whole number of messages per minute (0 or more)`,
    ],
    [['resume', 'some-id', '--reason', ' '], '--reason: must not be empty'],
  ])('control %j → exit 2, %s, nothing stored', async (args, message) => {
    const dir = project();
    const result = await cli(['control', ...args], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')[0]).toEqual(message);
    const db = Database.open(join(dir, 'data'));
    onTestFinished(() => db.close());
    expect(listControls(db, { limit: 10 })).toEqual([]);
  });

  it('every problem at once: duplicate keys, a bad value, an empty reason and a past expiry in one call', async () => {
    const dir = project();
    const result = await cli(['control', 'pause', 'ip=192.0.2.1', 'ip=192.0.2.2', 'rcpt_domain=not a domain', '--reason', '', '--expires', '2020-01-01T00:00:00Z'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      'ip: given twice ("192.0.2.1" and "192.0.2.2"); a scope has one value per key',
      'rcpt_domain: "not a domain" is not a domain name',
      '--reason: must not be empty',
      '--expires: 2020-01-01T00:00:00.000Z is not in the future',
    ]);
  });

  it('stored text is printed escaped: a control written with escapes before they were refused cannot drive the terminal or fake a row', async () => {
    const dir = project();
    expect((await cli(['control', 'pause', 'pool=a', '--reason', 'first'], { cwd: dir })).code).toBe(0);
    const db = Database.open(join(dir, 'data'));
    db.statement('UPDATE controls SET reason = ?, scope = ?').run('listed\u001b[2J\nFAKE  pause  ip=0.0.0.0/0', JSON.stringify({ pool: 'a\u001b[31m' }));
    db.close();
    const listed = await cli(['control', 'list'], { cwd: dir });
    expect(listed.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('pool=a\\x1b[31m');
    expect(lines[1]).toContain('listed\\x1b[2J\\nFAKE  pause  ip=0.0.0.0/0');
  });

  it('lists every control, however many: paged through the store, not cut at 1,000', async () => {
    const dir = project();
    expect((await cli(['control', 'pause', 'pool=first', '--reason', 'x'], { cwd: dir })).code).toBe(0);
    const db = Database.open(join(dir, 'data'));
    const now = Date.now();
    db.transaction(() => {
      for (let i = 0; i < 1_203; i++) {
        db.statement("INSERT INTO controls (id, action, scope, reason, source, created_by, created_at, updated_at, keep_until_resumed) VALUES (?, 'pause', ?, 'x', 'cli:dana', 'dana', ?, ?, 0)").run(
          `id-${i}`,
          JSON.stringify({ campaign: `c${i}` }),
          now,
          now,
        );
      }
    });
    db.close();
    const listed = await cli(['control', 'list', '--json'], { cwd: dir });
    const ids = listed.stdout
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as { id: string }).id);
    expect(ids).toHaveLength(1_204);
    expect(new Set(ids).size).toBe(1_204);
    expect((await cli(['control', 'list'], { cwd: dir })).stdout.trimEnd().split('\n')).toHaveLength(1_205);
  });

  it('a running observatory on the same store enforces what the CLI wrote, within controls.interval', async () => {
    const dir = project();
    const { observatory } = await runningObservatory(dir, { token: viewerToken, logLevel: 'warn' });
    const policy = async () =>
      (await (await fetch(`http://127.0.0.1:${observatory.address.port}/v1/policy?pool=shared`, { headers: { authorization: `Bearer ${viewerToken}` } })).json()) as { action: string };
    expect((await policy()).action).toBe('allow');
    expect((await cli(['control', 'pause', 'pool=shared', '--reason', 'by hand'], { cwd: dir, env: { USER: 'dana' } })).code).toBe(0);
    let seen = 'allow';
    for (let attempt = 0; attempt < 50 && seen !== 'pause'; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      seen = (await policy()).action;
    }
    expect(seen).toBe('pause');
  });

  it('needs no DNS: the control commands work on a machine without a resolver', async () => {
    const dir = project();
    const host = {
      systemResolvers: [],
      createDnsClient: () => {
        throw new Error('no DNS client for a control command');
      },
    };
    const paused = await cli(['control', 'pause', 'pool=shared', '--reason', 'by hand'], { cwd: dir, host });
    expect(paused).toMatchObject({ code: 0, stderr: '' });
    const id = /\(([^)]+)\)$/.exec(paused.stdout.trimEnd())![1]!;
    expect(await cli(['control', 'list'], { cwd: dir, host })).toMatchObject({ code: 0, stderr: '' });
    expect(await cli(['control', 'resume', id, '--reason', 'done'], { cwd: dir, host })).toMatchObject({ code: 0, stderr: '' });
  });
});
