import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/probes.ts';
import { tempDir } from '../helpers/temp.ts';

describe('store under SIGKILL', () => {
  it('keeps every committed run whole: its observations and outbox lines, nothing half-written', async () => {
    const dir = tempDir();
    const child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures', 'record-forever.ts'), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let printed = '';
    child.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    await waitFor(() => printed.split('\n').length > 500, '500 committed runs', 20_000);
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    const committed = printed
      .split('\n')
      .filter((line) => /^\d+$/.test(line))
      .map(Number);
    const db = new DatabaseSync(join(dir, 'mailscope.db'));
    expect(db.prepare('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' });
    const runs = Number((db.prepare('SELECT count(*) AS n FROM probe_runs').get() as { n: number }).n);
    // Every run the child saw committed is there (a last one may have committed unprinted).
    expect(runs).toBeGreaterThanOrEqual(committed.length);
    expect(runs).toBeLessThanOrEqual(committed.length + 1);
    expect(db.prepare('SELECT count(*) AS n FROM probe_runs WHERE id = ?').get(committed.at(-1)!)).toEqual({ n: 1 });
    // 3 reachability observations + probe_run per run, an outbox line per observation.
    expect(db.prepare('SELECT count(*) AS n FROM observations').get()).toEqual({ n: runs * 4 });
    expect(db.prepare('SELECT count(*) AS n FROM outbox').get()).toEqual({ n: runs * 4 });
    expect(db.prepare('SELECT count(*) AS n FROM probe_runs r WHERE (SELECT count(*) FROM observations o WHERE o.run_id = r.id) <> 4').get()).toEqual({ n: 0 });
    db.close();
  });
});
