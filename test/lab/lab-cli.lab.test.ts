import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp.ts';
import { lab, labDir } from './plan.ts';

function runLab(args: string[], options: { env?: Record<string, string>; asUser?: number } = {}) {
  const command = options.asUser === undefined ? process.execPath : 'setpriv';
  const argv = [join(labDir, 'lab.ts'), ...args];
  // Not root, but allowed to read the checkout wherever it is (it may sit under /root, mode 700).
  const unprivileged = [`--reuid=${options.asUser}`, `--regid=${options.asUser}`, '--clear-groups', '--inh-caps=+dac_read_search', '--ambient-caps=+dac_read_search'];
  const fullArgs = options.asUser === undefined ? argv : [...unprivileged, process.execPath, ...argv];
  // The lab this run uses (MAILSCOPE_LAB_STATE, when a checkout borrows another's), and nothing else of this environment.
  const inherited = Object.fromEntries(['MAILSCOPE_LAB_STATE', 'MAILSCOPE_LAB_PORTS'].flatMap((name) => (process.env[name] ? [[name, process.env[name]!]] : [])));
  const result = spawnSync(command, fullArgs, { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...inherited, ...options.env }, timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the lab command', () => {
  it('reports every service ready, and the memory it takes', () => {
    const result = runLab(['status']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines.filter((line) => / ready /.test(line))).toHaveLength(13);
    expect(lines).toContain(`state: ${lab.stateDir}`);
    expect(lines.at(-1)).toMatch(/^memory: \d+ MiB PSS in \d+ processes$/);
  });

  it('is idempotent: up on a running lab changes nothing', () => {
    const result = runLab(['up']);
    expect(result).toMatchObject({ code: 0, stderr: 'lab: already up\n' });
  });

  it('says which ports are taken instead of starting half a lab', () => {
    // Another state dir: none of its services run, and the running lab holds every port.
    const result = runLab(['up'], { env: { MAILSCOPE_LAB_STATE: tempDir() } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('lab: lab ports are not free (move them with MAILSCOPE_LAB_PORTS=name=port,...):');
    expect(result.stderr).toContain('127.0.0.1:53/udp (unbound): taken by another process');
    expect(result.stderr).toContain('127.0.0.23:25/tcp (postfix): taken by another process');
  });

  it('refuses to run without root, saying why', () => {
    const result = runLab(['status'], { asUser: 65534 });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('lab: the lab must run as root: it binds ports 25 and 53, installs Debian packages and mounts a private resolv.conf\n');
  });

  it.each([
    ['imap=99999', 'MAILSCOPE_LAB_PORTS: "imap=99999" is not name=port with a name among'],
    ['smtp=2525', 'MAILSCOPE_LAB_PORTS: "smtp=2525" is not name=port with a name among'],
  ])('rejects MAILSCOPE_LAB_PORTS=%s', (ports, message) => {
    const result = runLab(['status'], { env: { MAILSCOPE_LAB_PORTS: ports } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(message);
  });

  it('explains its usage', () => {
    expect(runLab(['restart'])).toMatchObject({ code: 2, stderr: 'usage: node test/lab/lab.ts up|down|status|list <entry>|delist <entry>|break-dmarc|fix-dmarc\n' });
  });
});
