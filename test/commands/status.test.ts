/** `mailscope status` on the default store (SQLite in the data dir): one line, one instance, no cluster; or the same as JSON. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { latestVersion } from '../../src/store/migrations.ts';
import { cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';

function project(): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'mailscope.yaml'), 'dataDir: ./data\n');
  mkdirSync(join(dir, 'probes'));
  return dir;
}

describe('mailscope status', () => {
  it('on SQLite: the store, and that this is one instance with no cluster', async () => {
    const dir = project();
    const store = join(dir, 'data', 'mailscope.db');
    const result = await cli(['status'], { cwd: dir });
    expect(result).toEqual({
      code: 0,
      stdout: `store: SQLite at ${store} (schema ${latestVersion}); one instance, no cluster (store: { kind: postgres } for several)\n`,
      stderr: '',
    });
    const json = await cli(['status', '--json'], { cwd: dir });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ store: { kind: 'sqlite', location: store, schema: latestVersion }, cluster: null });
  });
});
