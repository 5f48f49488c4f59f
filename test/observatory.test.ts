import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
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
    const observatory = await startObservatory({
      config,
      log: captureLog().log,
      clock: systemClock,
      db: Database.open(config.dataDir),
      dns: new DnsClient({ servers: [noResolver] }),
      version: 'test',
    });
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

describe('observatory with platforms that have a runtime', () => {
  const start = (dir: string) => {
    const config = loadConfig('mailscope.yaml', { cwd: dir, env: {} });
    return startObservatory({ config, log: captureLog().log, clock: systemClock, db: Database.open(config.dataDir), dns: new DnsClient({ servers: [noResolver] }), version: 'test' });
  };

  it('starts each one, whatever its kind, answering from the controls; stops it with the rest', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'mailscope.yaml'),
      `http: { listen: "127.0.0.1:0" }\ntokens: [{ name: ops, role: operator, token: "${token}" }]\nplatforms:\n  - { id: mta-a, kind: postfix-policy, listen: "127.0.0.1:0" }\n  - { id: mta-b, kind: postfix-policy, listen: "127.0.0.1:0" }\n  - { id: hook, kind: webhook, url: "http://127.0.0.1:9/controls" }\n`,
    );
    const observatory = await start(dir);
    try {
      expect(Object.keys(observatory.platformAddresses)).toEqual(['mta-a', 'mta-b']);
      const created = await fetch(`http://127.0.0.1:${observatory.address.port}/v1/controls`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'pause', scope: { ip: '192.0.2.7' }, reason: 'listed' }),
      });
      expect(created.status).toBe(201);
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = connect(observatory.platformAddresses['mta-b']!.port, '127.0.0.1', () => socket.write('protocol_state=RCPT\npolicy_context=ip=192.0.2.7\nrecipient=a@example.com\n\n'));
        socket.setEncoding('utf8');
        socket.on('data', (text: string) => {
          socket.destroy();
          resolve(text);
        });
        socket.on('error', reject);
      });
      expect(reply).toBe('action=HOLD paused by Mailscope (ip=192.0.2.7): listed\n\n');
    } finally {
      await observatory.stop();
    }
    const refused = await new Promise<string | undefined>((resolve) => {
      const socket = connect(observatory.platformAddresses['mta-a']!.port, '127.0.0.1', () => resolve(undefined));
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  it('fails to start with the reason when one cannot listen', async () => {
    const { port } = await tcpServer(() => {});
    const dir = tempDir();
    writeFileSync(join(dir, 'mailscope.yaml'), `http: { listen: "127.0.0.1:0" }\nplatforms: [{ id: mta, kind: postfix-policy, listen: "127.0.0.1:${port}" }]\n`);
    await expect(start(dir)).rejects.toMatchObject({
      code: 'HTTP_LISTEN_FAILED',
      message: `the Postfix policy service cannot listen: address already in use (EADDRINUSE) (set platforms[].listen in ${join(dir, 'mailscope.yaml')})`,
    });
  });
});
