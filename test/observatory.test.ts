import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import { systemClock } from '../src/core/clock.ts';
import { startObservatory } from '../src/observatory.ts';
import { DnsClient } from '../src/protocols/dns/client.ts';
import { Database } from '../src/store/database.ts';
import { captureLog } from './helpers/log.ts';
import { waitFor } from './helpers/probes.ts';
import { tcpServer } from './helpers/servers.ts';
import { noResolver } from './helpers/services.ts';
import { tempDir } from './helpers/temp.ts';

const token = 'observatory-operator-token-1';

describe('observatory stop()', () => {
  it('aborts a run an API request is waiting on, answers that request, then closes', async () => {
    const { port } = await tcpServer(() => {});
    const dir = tempDir();
    writeFileSync(join(dir, 'mailscope.yaml'), `http: { listen: "127.0.0.1:0" }\ntokens: [{ name: ops, role: operator, token: "${token}" }]\n`);
    mkdirSync(join(dir, 'probes'));
    writeFileSync(
      join(dir, 'probes', 'slow.yaml'),
      `probes:\n  - { id: slow, kind: tcp, schedule: "0 0 1 1 *", timeout: 60s, connectTimeout: 50s, expectBanner: "^220", targets: ["127.0.0.1:${port}"] }\n`,
    );
    const config = loadConfig('mailscope.yaml', { cwd: dir, env: {} });
    const observatory = await startObservatory({ config, log: captureLog().log, clock: systemClock, db: Database.open(config.dataDir), dns: new DnsClient({ servers: [noResolver] }), version: 'test' });
    const pending = fetch(`http://127.0.0.1:${observatory.address.port}/v1/probes/slow/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    await waitFor(() => observatory.runner.isRunning('slow'), 'the run to start');
    await observatory.stop();
    const response = await pending;
    expect(response.status).toBe(200);
    expect(((await response.json()) as { run: unknown }).run).toMatchObject({ probe: 'slow', success: false, error: { code: 'PROBE_ABORTED' } });
  });
});
