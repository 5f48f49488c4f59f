import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { binary, spawnCli } from './helpers/cli.ts';
import { waitFor } from './helpers/probes.ts';
import { tcpServer } from './helpers/servers.ts';
import { tempDir } from './helpers/temp.ts';

const token = 'process-test-viewer-token-01';

function logLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('mailscope as a process', () => {
  it('exits 2 on a bad config, with the problem on stderr', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'mailscope.yaml'), 'tokens: [{ name: a, role: viewer, token: "${UNSET_TOKEN}" }]\n');
    const result = await spawnCli(['config', 'check'], { cwd: dir }).exited;
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('invalid configuration (1 problem):\n  mailscope.yaml: tokens[0].token: environment variable UNSET_TOKEN is not set (set it, or write ${UNSET_TOKEN:-default})\n');
  });

  it('SIGTERM during a run: stops cleanly, records the interrupted run as aborted, loses nothing recorded', async () => {
    const { port: answering } = await tcpServer((socket) => socket.write('220 fast ESMTP\r\n'));
    const { port: silent } = await tcpServer(() => {});
    const dir = tempDir();
    writeFileSync(join(dir, 'mailscope.yaml'), `dataDir: ./data\nhttp: { listen: "127.0.0.1:0" }\ntokens: [{ name: t, role: viewer, token: "${token}" }]\n`);
    mkdirSync(join(dir, 'probes'));
    writeFileSync(
      join(dir, 'probes', 'p.yaml'),
      `probes:
  - id: fast
    kind: tcp
    schedule: "* * * * * *"
    targets: ["127.0.0.1:${answering}"]
    expectBanner: "^220 "
  - id: slow
    kind: tcp
    schedule: "* * * * * *"
    timeout: 60s
    targets: ["127.0.0.1:${silent}"]
    expectBanner: "^220 "
    connectTimeout: 50s
`,
    );
    const mailscope = spawnCli(['run'], { cwd: dir });
    await waitFor(() => logLines(mailscope.stdout()).some((line) => line.msg === 'mailscope running'), 'mailscope to start', 15_000);
    const listen = String(logLines(mailscope.stdout()).find((line) => line.msg === 'mailscope running')?.listen);
    const api = async (path: string): Promise<any> => (await fetch(`http://${listen}${path}`, { headers: { authorization: `Bearer ${token}` } })).json();

    expect(await (await fetch(`http://${listen}/readyz`)).json()).toEqual({ ready: true, store: 'open', scheduler: 'running' });
    let seenFast = 0;
    for (let i = 0; i < 100 && seenFast < 2; i++) {
      seenFast = (await api('/v1/runs?probe=fast')).runs.length;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(seenFast).toBeGreaterThanOrEqual(2);
    const probes = (await api('/v1/probes')).probes as { id: string; running: boolean }[];
    expect(probes.find((probe) => probe.id === 'slow')?.running).toBe(true);
    const recordedBefore = (await api('/v1/runs?limit=1000')).runs as { id: number }[];

    mailscope.child.kill('SIGTERM');
    const result = await mailscope.exited;
    expect(result.code).toBe(0);
    expect(logLines(result.stdout).map((line) => line.msg)).toEqual(expect.arrayContaining(['shutting down', 'scheduler stopped', 'stopped']));

    const db = new DatabaseSync(join(dir, 'data', 'mailscope.db'), { readOnly: true });
    expect(db.prepare('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' });
    const ids = (db.prepare('SELECT id FROM probe_runs').all() as { id: number }[]).map((row) => row.id);
    for (const run of recordedBefore) expect(ids).toContain(run.id);
    // One run of the slow probe was going: aborted and recorded. The ticks it blocked are overlaps.
    const slowRuns = db.prepare("SELECT error_code AS code, count(*) AS n FROM probe_runs WHERE probe_id = 'slow' GROUP BY error_code ORDER BY code").all();
    expect(slowRuns).toEqual([
      { code: 'PROBE_ABORTED', n: 1 },
      { code: 'PROBE_OVERLAP', n: expect.any(Number) },
    ]);
    // Every run has its observations and their outbox lines: nothing half-written.
    const perRun = db
      .prepare(
        `SELECT r.id, r.observation_count + 1 AS expected, (SELECT count(*) FROM observations o WHERE o.run_id = r.id) AS actual
         FROM probe_runs r`,
      )
      .all() as { id: number; expected: number; actual: number }[];
    for (const row of perRun) expect(row.actual, `run ${row.id}`).toBe(row.expected);
    const observations = Number((db.prepare('SELECT count(*) AS n FROM observations').get() as { n: number }).n);
    expect(db.prepare('SELECT count(*) AS n FROM outbox').get()).toEqual({ n: observations });
    db.close();
  });
});

/** A directory with a config `mailscope run` starts on (no probes), with `extra` appended. */
function quietInstance(extra = ''): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'mailscope.yaml'), `dataDir: ./data\nhttp: { listen: "127.0.0.1:0" }\ntokens: [{ name: t, role: viewer, token: "${token}" }]\n${extra}`);
  mkdirSync(join(dir, 'probes'));
  writeFileSync(join(dir, 'probes', 'none.yaml'), 'probes: []\n');
  return dir;
}

describe('mailscope run: its log for people at a terminal, JSON for everything else', () => {
  it('on a terminal (a pty, through script(1)): pretty lines, coloured', async () => {
    const dir = quietInstance();
    // The shell prints its pid and becomes mailscope: that is the pid to stop.
    const command = `echo "pid $$"; exec '${process.execPath}' '${binary}' run`;
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: dir, env: { PATH: process.env.PATH ?? '', TERM: 'xterm' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await waitFor(() => output.includes('mailscope running'), 'mailscope to start', 15_000);
    process.kill(Number(/pid (\d+)/.exec(output)![1]), 'SIGTERM');
    expect(await exited).toBe(0);
    const lines = output.split(/\r?\n/).filter((line) => line.startsWith('['));
    expect(lines.find((line) => line.includes('mailscope running'))).toMatch(/^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}\] \u001b\[32mINFO\u001b\[39m: \u001b\[36mmailscope running\u001b\[39m$/);
    expect(output).toMatch(/\n {4}\u001b\[35mlisten\u001b\[39m: "127\.0\.0\.1:\d+"/);
    expect(lines.at(-1)).toMatch(/INFO\u001b\[39m: \u001b\[36mstopped\u001b\[39m$/);
    expect(output).not.toContain('{"level"');
  });

  it('on a pipe: JSON, unless log.format says pretty (then uncoloured)', async () => {
    const json = spawnCli(['run'], { cwd: quietInstance() });
    await waitFor(() => json.stdout().includes('mailscope running'), 'mailscope to start', 15_000);
    json.child.kill('SIGTERM');
    const jsonRun = await json.exited;
    expect(jsonRun.code).toBe(0);
    expect(logLines(jsonRun.stdout).map((line) => line.msg)).toEqual(expect.arrayContaining(['mailscope running', 'stopped']));
    expect(jsonRun.stdout.split('\n').filter((line) => line !== '' && !line.startsWith('{'))).toEqual([]);

    const pretty = spawnCli(['run'], { cwd: quietInstance('log: { format: pretty }\n') });
    await waitFor(() => pretty.stdout().includes('mailscope running'), 'mailscope to start', 15_000);
    pretty.child.kill('SIGTERM');
    const prettyRun = await pretty.exited;
    expect(prettyRun.code).toBe(0);
    expect(prettyRun.stdout).toMatch(/^\[[^\]]+\] INFO: mailscope running\n {4}listen: "127\.0\.0\.1:\d+"/m);
    expect(prettyRun.stdout).not.toContain('\u001b');
    expect(logLines(prettyRun.stdout)).toEqual([]);
  });
});
