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
    expect((await cli(['control', 'pause', 'rcpt_domain=gmail.com', 'ip=192.0.2.11', '--reason', 'again'], { cwd: dir, env })).stdout).toBe(`already active: pause ip=192.0.2.11 rcpt_domain=gmail.com (${id})\n`);
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
    const json = (await cli(['control', 'list', '--json'], { cwd: dir })).stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
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
    [['pause', 'ip=192.0.2.1', '--reason', 'x', '--expires', 'soon'], '--expires: "soon" is neither an ISO 8601 time nor a duration such as 2h'],
    [['throttle', 'pool=a', '--rate', '-5', '--reason', 'x'], `error: option '--rate <per-minute>' argument '-5' is invalid. "-5" is not a whole number of messages per minute (0 or more)`],
    [['throttle', 'pool=a', '--rate', '1.5', '--reason', 'x'], `error: option '--rate <per-minute>' argument '1.5' is invalid. "1.5" is not a whole number of messages per minute (0 or more)`],
    [['pause', 'ip=192.0.2.1'], "error: required option '--reason <text>' not specified"],
  ])('control %j → exit 2, %s, nothing stored', async (args, message) => {
    const dir = project();
    const result = await cli(['control', ...args], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')[0]).toBe(message);
    const db = Database.open(join(dir, 'data'));
    onTestFinished(() => db.close());
    expect(listControls(db, { limit: 10 })).toEqual([]);
  });

  it('a running observatory on the same store enforces what the CLI wrote, within controls.interval', async () => {
    const dir = project();
    const { observatory } = await runningObservatory(dir, { token: viewerToken, logLevel: 'warn' });
    const policy = async () => (await (await fetch(`http://127.0.0.1:${observatory.address.port}/v1/policy?pool=shared`, { headers: { authorization: `Bearer ${viewerToken}` } })).json()) as { action: string };
    expect((await policy()).action).toBe('allow');
    expect((await cli(['control', 'pause', 'pool=shared', '--reason', 'by hand'], { cwd: dir, env: { USER: 'dana' } })).code).toBe(0);
    let seen = 'allow';
    for (let attempt = 0; attempt < 50 && seen !== 'pause'; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      seen = (await policy()).action;
    }
    expect(seen).toBe('pause');
  });
});
