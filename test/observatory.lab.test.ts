import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import { systemClock } from '../src/core/clock.ts';
import { startObservatory } from '../src/observatory.ts';
import { DnsClient } from '../src/protocols/dns/client.ts';
import { lab } from './lab/plan.ts';
import { Database } from '../src/store/database.ts';
import { captureLog } from './helpers/log.ts';
import { tcpServer } from './helpers/servers.ts';
import { tempDir } from './helpers/temp.ts';

const token = 'observatory-operator-token-1';

describe('observatory with influx:', () => {
  it('ships what the probes record to InfluxDB and reports the outbox in /v1/outbox and /metrics', async () => {
    const { port } = await tcpServer((socket) => socket.end('220 ready\r\n'));
    const database = `observatory_${Date.now()}`;
    const query = async (q: string) => (await fetch(`${lab.influxdb.url}/query?db=${database}&q=${encodeURIComponent(q)}`, { method: 'POST' })).json();
    await query(`CREATE DATABASE ${database}`);
    const dir = tempDir();
    writeFileSync(
      join(dir, 'mailscope.yaml'),
      [
        'http: { listen: "127.0.0.1:0" }',
        `tokens: [{ name: ops, role: operator, token: "${token}" }]`,
        `influx: { api: v1, url: "${lab.influxdb.url}", database: ${database}, flushInterval: 200ms }`,
        '',
      ].join('\n'),
    );
    mkdirSync(join(dir, 'probes'));
    writeFileSync(join(dir, 'probes', 'smtp.yaml'), `probes:\n  - { id: smtp, kind: tcp, schedule: "* * * * * *", expectBanner: "^220", targets: ["127.0.0.1:${port}"] }\n`);
    const config = loadConfig('mailscope.yaml', { cwd: dir, env: {} });
    const observatory = await startObservatory({
      config,
      log: captureLog().log,
      clock: systemClock,
      db: Database.open(config.dataDir),
      dns: new DnsClient({ servers: [lab.resolver] }),
      version: 'test',
    });
    try {
      const count = async () => {
        const result = (await query("SELECT count(up) FROM reachability WHERE probe = 'smtp'")) as { results: { series?: { values: [string, number][] }[] }[] };
        return result.results[0]?.series?.[0]?.values[0]?.[1] ?? 0;
      };
      let seen = 0;
      const deadline = Date.now() + 15_000;
      while (seen < 2 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        seen = await count();
      }
      expect(seen).toBeGreaterThanOrEqual(2);
      const headers = { authorization: `Bearer ${token}` };
      const status = (await (await fetch(`http://127.0.0.1:${observatory.address.port}/v1/outbox`, { headers })).json()) as Record<string, unknown>;
      expect(status).toMatchObject({ configured: true, quarantined: 0, consecutiveFailures: 0, target: `http://127.0.0.1:${new URL(lab.influxdb.url).port} (database ${database})` });
      expect(status.delivered).toBeGreaterThanOrEqual(4);
      const metrics = await fetch(`http://127.0.0.1:${observatory.address.port}/metrics`, { headers });
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await metrics.text();
      expect(text).toMatch(/^# TYPE mailscope_outbox_depth gauge\nmailscope_outbox_depth \d+$/m);
      expect(text).toMatch(/^mailscope_outbox_delivered_total (\d+)$/m);
      expect(Number(/^mailscope_outbox_delivered_total (\d+)$/m.exec(text)![1])).toBeGreaterThanOrEqual(4);
      expect(text).toMatch(/^mailscope_outbox_configured 1$/m);
    } finally {
      await observatory.stop();
      await query(`DROP DATABASE ${database}`);
    }
  });
});
