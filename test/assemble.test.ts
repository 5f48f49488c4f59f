/**
 * The one assembly of the services: each built when first asked for and once (a
 * command that needs no DNS never creates a client), closing only what was
 * opened; a command's rules write controls the same way `mailscope run`'s do.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assembleServices } from '../src/assemble.ts';
import { loadConfig } from '../src/config/load.ts';
import { ManualClock } from '../src/core/clock.ts';
import { DnsClient } from '../src/protocols/dns/client.ts';
import { listControls } from '../src/store/controls.ts';
import { Database } from '../src/store/database.ts';
import { noResolver } from './helpers/services.ts';
import { captureLog } from './helpers/log.ts';
import { tcpServer } from './helpers/servers.ts';
import { tempDir } from './helpers/temp.ts';

async function setup(probesYaml = 'probes: []\n') {
  const dir = tempDir();
  writeFileSync(join(dir, 'mailscope.yaml'), 'dataDir: ./data\n');
  mkdirSync(join(dir, 'probes'));
  writeFileSync(join(dir, 'probes', 'p.yaml'), probesYaml);
  const config = loadConfig('mailscope.yaml', { cwd: dir, env: {} });
  const opened = { store: 0, dns: 0, storeClosed: 0, dnsClosed: 0 };
  const open = {
    store() {
      opened.store++;
      const db = Database.open(config.dataDir);
      const close = db.close.bind(db);
      db.close = () => {
        opened.storeClosed++;
        close();
      };
      return db;
    },
    dns() {
      opened.dns++;
      const dns = new DnsClient({ servers: [noResolver] });
      const close = dns.close.bind(dns);
      dns.close = () => {
        opened.dnsClosed++;
        close();
      };
      return dns;
    },
  };
  return { config, open, opened };
}

describe('the assembly of the services', () => {
  it('opens the store when a service first needs it, once, and never a DNS client a command does not use', async () => {
    const { config, open, opened } = await setup();
    const services = assembleServices({ config, log: captureLog().log, clock: new ManualClock('2026-11-24T10:00:00Z'), open, role: 'command' });
    expect(opened).toEqual({ store: 0, dns: 0, storeClosed: 0, dnsClosed: 0 });
    expect(services.controls).toBe(services.controls);
    expect(services.alerts).toBe(services.alerts);
    expect(opened).toMatchObject({ store: 1, dns: 0 });
    services.close();
    expect(opened).toEqual({ store: 1, dns: 0, storeClosed: 1, dnsClosed: 0 });
  });

  it("a command's run records, evaluates the rules and writes their control actions; close closes the store and the DNS client", async () => {
    const { port } = await tcpServer((socket) => socket.end('554 go away\r\n'));
    const { config, open, opened } = await setup(`probes:
  - { id: smtp, kind: tcp, schedule: "0 0 1 1 *", expectBanner: "^220", targets: ["127.0.0.1:${port}"] }
rules:
  - id: smtp-down
    condition: reachability.up == false
    severity: critical
    action: { control: pause, scope: { ip: "192.0.2.25" } }
`);
    const services = assembleServices({ config, log: captureLog().log, clock: new ManualClock('2026-11-24T10:00:00Z'), open, role: 'command' });
    try {
      const completed = await services.runner.run(config.probes[0]!.definition, 'cli');
      expect(completed.success).toBe(true);
      expect(listControls(services.store, { active: true, limit: 10 }).map((control) => [control.action, control.scope, control.source])).toEqual([['pause', { ip: '192.0.2.25' }, 'rule:smtp-down']]);
    } finally {
      services.close();
    }
    expect(opened).toEqual({ store: 1, dns: 1, storeClosed: 1, dnsClosed: 1 });
  });
});
