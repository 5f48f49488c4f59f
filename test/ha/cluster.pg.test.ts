/**
 * Several `mailscope run` (the real binary, child processes) on one PostgreSQL:
 * the work done once is done once — each scheduled tick run by one instance, each
 * notification and each push delivered once, under the leader's fencing token —
 * every instance answers the policy from the same controls, a killed leader is
 * replaced within a tick, and an instance cut off from the database stops leading
 * before the database lets another take over.
 *
 * The closed loop: a blacklist probe asks a DNSBL (an in-process DNS server) about
 * 192.0.2.7 every 2 s; the rule `listed` fires once it is listed, notifies a webhook
 * and pauses the address, pushed to a webhook platform; the instances' Postfix
 * policy services hold its mail.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { type Instance, startInstance } from '../helpers/mailscope-process.ts';
import { a, fakeDns } from '../helpers/dns-server.ts';
import { freshDatabase } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/probes.ts';
import { closedPort, httpServer } from '../helpers/servers.ts';
import { tcpProxy } from '../helpers/tcp-proxy.ts';
import { tempDir } from '../helpers/temp.ts';

const token = 'cluster-admin-token-000001';
const tickMs = 2_000;

interface Delivery {
  path: string;
  headers: IncomingHttpHeaders;
  body: any;
}

async function receiver() {
  const deliveries: Delivery[] = [];
  const { url } = await httpServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      deliveries.push({ path: request.url ?? '', headers: request.headers, body: JSON.parse(body || '{}') });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return { url, deliveries };
}

/** The DNSBL: 192.0.2.7 listed while `listed.now` (127.0.0.2), else NXDOMAIN; no answer at all while `listed.silent`. */
async function dnsbl() {
  const listed = { now: false, silent: false };
  const dns = await fakeDns((query) => {
    if (listed.silent) return { drop: true };
    return listed.now && query.name === '7.2.0.192.bl.test' && query.type === 'A' ? { answers: [a(query.name, '127.0.0.2', 1)] } : { rcode: 'NXDOMAIN' as const };
  });
  return { listed, port: dns.server.port };
}

async function project(options: { schedule?: string; probeTimeout?: string } = {}) {
  const dir = tempDir();
  writeFileSync(
    join(dir, 'mailscope.yaml'),
    `http: { listen: "127.0.0.1:0" }
tokens: [{ name: ops, role: admin, token: "${token}" }]
store: { kind: postgres, url: "\${DATABASE_URL}", leaseTtl: 3s, heartbeat: 500ms, statementTimeout: 2s, connectTimeout: 1s }
dns: { resolvers: ["127.0.0.1:\${DNS_PORT}"], timeout: 500ms, attempts: 1, cacheEntries: 0 }
blocklists: { lists: [{ id: test-bl, zone: bl.test, kind: ip, testPoints: false }] }
notifiers: [{ id: hook, kind: webhook, url: "\${HOOK_URL}/notify" }]
platforms:
  - { id: mta, kind: postfix-policy, listen: "127.0.0.1:\${POLICY_PORT}" }
  - { id: hook-platform, kind: webhook, url: "\${HOOK_URL}/push" }
alerts: { retry: { min: 100ms, max: 200ms, attempts: 3 } }
controls: { interval: 500ms, retry: { min: 100ms, max: 200ms, attempts: 3 } }
log: { level: info, format: json }
`,
  );
  mkdirSync(join(dir, 'probes'));
  writeFileSync(
    join(dir, 'probes', 'blocklists.yaml'),
    `probes:
  - { id: bl, kind: blacklist, schedule: "${options.schedule ?? '*/2 * * * * *'}", timeout: ${options.probeTimeout ?? '1500ms'}, targets: ["192.0.2.7"], lists: [test-bl] }
rules:
  - { id: listed, condition: "blacklist.listed == true", severity: critical, notify: [hook], action: { control: pause, scope: { ip: "{target}" } }, summary: "{target} listed" }
`,
  );
  return join(dir, 'mailscope.yaml');
}

async function cluster(count: number, options: { schedule?: string; probeTimeout?: string; proxied?: number } = {}) {
  const database = await freshDatabase();
  const hook = await receiver();
  const bl = await dnsbl();
  const config = await project(options);
  const instances: Instance[] = [];
  const policyPorts: number[] = [];
  let proxy: Awaited<ReturnType<typeof tcpProxy>> | undefined;
  for (let n = 0; n < count; n++) {
    const policyPort = await closedPort();
    let url = database.url;
    if (options.proxied === n) {
      const server = new URL(database.url);
      proxy = await tcpProxy({ host: server.hostname, port: Number(server.port) });
      server.port = String(proxy.port);
      url = server.href;
    }
    policyPorts.push(policyPort);
    instances.push(await startInstance(`instance ${n}`, config, { DATABASE_URL: url, DNS_PORT: String(bl.port), HOOK_URL: hook.url, POLICY_PORT: String(policyPort) }, token));
  }
  const pool = database.pool();
  return { database, hook, bl, instances, policyPorts, pool, proxy };
}

/** Which instance leads, by its /readyz. */
async function leaderOf(instances: readonly Instance[]): Promise<Instance | undefined> {
  for (const instance of instances) {
    if (instance.child.exitCode !== null || instance.child.signalCode !== null) continue;
    const ready = await instance.api('/readyz').catch(() => undefined);
    if (ready?.body?.cluster?.leader) return instance;
  }
  return undefined;
}

async function scheduledRuns(pool: pg.Pool): Promise<number[]> {
  const { rows } = await pool.query<{ started_at: string }>(`SELECT started_at FROM probe_runs WHERE probe_id = 'bl' AND trigger = 'schedule' ORDER BY started_at`);
  return rows.map((row) => Number(row.started_at));
}

/** The ticks the runs belong to (the schedule's 2 s slots): each should appear once. */
const slots = (times: number[]) => times.map((time) => Math.floor(time / tickMs));

function policy(port: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () =>
      socket.write('request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=192.0.2.7\npolicy_context=ip=192.0.2.7\nrecipient=a@example.com\n\n'),
    );
    socket.setEncoding('utf8');
    let text = '';
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.endsWith('\n\n')) {
        socket.destroy();
        resolve(text);
      }
    });
    socket.on('error', reject);
  });
}

async function countRows(pool: pg.Pool, sql: string): Promise<number> {
  return Number((await pool.query<{ n: string }>(sql)).rows[0]!.n);
}

describe('a cluster of instances on one PostgreSQL', () => {
  it('three instances: each tick run once, the listing paused once and notified once, under the leader’s epoch, and every instance answers the pause', async () => {
    const { hook, bl, instances, policyPorts, pool } = await cluster(3);
    await waitFor(() => instances.some((instance) => instance.logged('this instance leads the cluster')), 'a leader', 10_000);
    const leaders = instances.filter((instance) => instance.logged('this instance leads the cluster'));
    expect(leaders).toHaveLength(1);
    const leader = leaders[0]!;
    const epoch = Number(leader.logged('this instance leads the cluster')!.epoch);
    // Ticks while unlisted.
    await sleep(4 * tickMs);
    bl.listed.now = true;
    await waitFor(() => hook.deliveries.some((delivery) => delivery.path === '/push'), 'the pause pushed', 15_000);
    const pushedAt = Date.now();
    // Every instance answers the pause within a second of the push (they all read the same control).
    const answers = await Promise.all(policyPorts.map(policy));
    for (const answer of answers) expect(answer).toMatch(/^action=HOLD paused by Mailscope \(ip=192\.0\.2\.7\)/);
    for (const instance of instances) {
      const { body } = await instance.api('/v1/policy?ip=192.0.2.7');
      expect(body.action).toBe('pause');
    }
    expect(Date.now() - pushedAt).toBeLessThan(5_000);
    // More ticks while listed: the alert stays firing, nothing more is sent.
    await sleep(4 * tickMs);

    const runs = slots(await scheduledRuns(pool));
    expect(runs.length).toBeGreaterThanOrEqual(6);
    // Each tick once, none skipped between the first and the last.
    expect(new Set(runs).size).toBe(runs.length);
    expect(runs.at(-1)! - runs[0]! + 1).toBe(runs.length);
    const byInstance = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM probe_runs`);
    expect(Number(byInstance.rows[0]!.n)).toBe(runs.length);

    const notifications = hook.deliveries.filter((delivery) => delivery.path === '/notify');
    const pushes = hook.deliveries.filter((delivery) => delivery.path === '/push');
    expect(notifications.map((delivery) => delivery.body.event)).toEqual(['firing']);
    expect(pushes).toHaveLength(1);
    expect(pushes[0]!.body).toMatchObject({ event: 'pause', control: { action: 'pause', scope: { ip: '192.0.2.7' } } });
    for (const delivery of [...notifications, ...pushes]) expect(delivery.headers['x-mailscope-fencing-token']).toBe(String(epoch));
    expect(await countRows(pool, `SELECT count(*) AS n FROM controls WHERE lifted_at IS NULL`)).toBe(1);
    expect(await countRows(pool, `SELECT count(*) AS n FROM notifications WHERE status = 'sent'`)).toBe(1);
    expect(await countRows(pool, `SELECT count(*) AS n FROM control_pushes WHERE status = 'done'`)).toBe(1);
    // The work was the leader's alone; the others only served.
    for (const instance of instances) {
      const ready = await instance.api('/readyz');
      expect(ready.body.cluster).toMatchObject({ leader: instance === leader });
      const metrics = await fetch(`http://127.0.0.1:${instance.port}/metrics`, { headers: { authorization: `Bearer ${token}` } }).then((response) => response.text());
      expect(metrics).toContain(`mailscope_cluster_leader ${instance === leader ? 1 : 0}\n`);
      expect(metrics).toContain(`mailscope_cluster_lease_epoch ${instance === leader ? epoch : 0}\n`);
      if (instance === leader) expect(ready.body.cluster.leases).toEqual([expect.objectContaining({ name: 'leader', epoch })]);
      else expect(instance.logs.filter((line) => line.msg === 'run recorded')).toEqual([]);
    }
  }, 90_000);

  it('a manual pause made on one instance is answered by the others within a second', async () => {
    const { instances } = await cluster(2);
    const [one, two] = instances as [Instance, Instance];
    const created = await one.api('/v1/controls', { method: 'POST', body: JSON.stringify({ action: 'pause', scope: { ip: '198.51.100.9' }, reason: 'by hand' }) });
    expect(created.status).toBe(201);
    const madeAt = Date.now();
    let answered = 0;
    for (;;) {
      const { body } = await two.api('/v1/policy?ip=198.51.100.9');
      if (body.action === 'pause') {
        answered = Date.now() - madeAt;
        break;
      }
      if (Date.now() - madeAt > 5_000) break;
      await sleep(20);
    }
    expect(answered).toBeGreaterThan(0);
    expect(answered).toBeLessThan(1_000);
    console.log(`cluster: a pause made on one instance answered by the other after ${answered} ms`);
    const lifted = await two.api(`/v1/controls/${created.body.control.id}`, { method: 'DELETE', body: JSON.stringify({ reason: 'done' }) });
    expect(lifted.status).toBe(200);
    const liftedAt = Date.now();
    for (;;) {
      const { body } = await one.api('/v1/policy?ip=198.51.100.9');
      if (body.action === 'allow') break;
      expect(Date.now() - liftedAt).toBeLessThan(1_000);
      await sleep(20);
    }
  }, 60_000);

  it('SIGKILL the leader in the middle of a run: another takes over within a tick, the killed run is run again at the next tick, nothing acknowledged is lost', async () => {
    // Runs that take 1.5 s (the DNSBL does not answer), every 5 s; the lease lasts 3 s.
    const { instances, pool, bl } = await cluster(2, { schedule: '*/5 * * * * *', probeTimeout: '1500ms' });
    bl.listed.silent = true;
    await waitFor(() => instances.some((instance) => instance.logged('this instance leads the cluster')), 'a leader', 10_000);
    const leader = (await leaderOf(instances))!;
    const other = instances.find((instance) => instance !== leader)!;
    // Acknowledged by the leader: a control made through its API.
    const created = await leader.api('/v1/controls', { method: 'POST', body: JSON.stringify({ action: 'throttle', rate: 60, scope: { ip: '203.0.113.4' }, reason: 'kept' }) });
    expect(created.status).toBe(201);
    // Wait for the leader to be in the middle of a run, then kill it.
    await waitFor(() => leader.logs.some((line) => line.msg === 'run recorded'), 'a first run', 15_000);
    const before = (await scheduledRuns(pool)).length;
    const nextTick = Math.ceil(Date.now() / 5_000) * 5_000;
    await sleep(nextTick - Date.now() + 500);
    const killedAt = Date.now();
    leader.child.kill('SIGKILL');
    await leader.exited;
    await waitFor(() => other.logged('this instance leads the cluster') !== undefined, 'the other instance to take over', 10_000);
    const tookOver = other.logged('this instance leads the cluster')!.time;
    expect(tookOver - killedAt).toBeLessThan(5_000);
    console.log(`cluster: leader SIGKILLed mid-run, taken over after ${tookOver - killedAt} ms (lease 3 s, heartbeat 500 ms, tick 5 s)`);
    // Two more ticks under the new leader.
    await waitFor(() => other.logs.filter((line) => line.msg === 'run recorded').length >= 2, 'runs by the new leader', 20_000);
    const runs = await scheduledRuns(pool);
    const killedSlot = Math.floor(killedAt / 5_000);
    const slotsOf = runs.map((time) => Math.floor(time / 5_000));
    // The killed run was never recorded; the next tick ran on the new leader; no tick ran twice.
    expect(slotsOf).not.toContain(killedSlot);
    expect(slotsOf).toContain(killedSlot + 1);
    expect(new Set(slotsOf).size).toBe(slotsOf.length);
    expect(runs.length).toBeGreaterThan(before);
    // What the killed leader acknowledged is there, and the survivor answers it.
    const { body } = await other.api('/v1/policy?ip=203.0.113.4');
    expect(body).toMatchObject({ action: 'throttle', rate: 60 });
    const status = await other.api('/readyz');
    expect(status.body.cluster.leases[0].epoch).toBe(2);
  }, 90_000);

  it('a leader stopped with SIGTERM hands the lease over at once: the other leads within a heartbeat, not a lease', async () => {
    const { instances, pool } = await cluster(2, { schedule: '0 0 1 1 *' });
    const [first, second] = instances as [Instance, Instance];
    await waitFor(() => first.logged('this instance leads the cluster') !== undefined, 'the first instance to lead', 10_000);
    const stoppedAt = Date.now();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    await waitFor(() => second.logged('this instance leads the cluster') !== undefined, 'the second instance to lead', 10_000);
    // Released, not expired: within a heartbeat (500 ms) and well before the lease's 3 s.
    expect(second.logged('this instance leads the cluster')!.time - stoppedAt).toBeLessThan(2_000);
    console.log(`cluster: leader stopped with SIGTERM, taken over after ${second.logged('this instance leads the cluster')!.time - stoppedAt} ms`);
    const { rows } = await pool.query<{ id: string; stopped: boolean }>('SELECT id, stopped_at IS NOT NULL AS stopped FROM instances ORDER BY started_at');
    expect(rows.map((row) => row.stopped)).toEqual([true, false]);
  }, 60_000);

  it('an instance cut off from the database stops leading before the database lets another take over', async () => {
    const { instances, proxy } = await cluster(2, { schedule: '0 0 1 1 *', proxied: 0 });
    const [cut, other] = instances as [Instance, Instance];
    // Started first, the proxied instance leads.
    await waitFor(() => cut.logged('this instance leads the cluster') !== undefined, 'the proxied instance to lead', 10_000);
    expect(other.logged('this instance leads the cluster')).toBeUndefined();
    // Packets lost, not refused: its queries hang.
    await sleep(1_000);
    const stalledAt = Date.now();
    proxy!.stall();
    await waitFor(() => other.logged('this instance leads the cluster') !== undefined, 'the other instance to take over', 15_000);
    const tookOver = other.logged('this instance leads the cluster')!;
    expect(tookOver.epoch).toBe(2);
    // The cut instance notices when its event loop gets to it (a statement to the stalled database may hold it).
    await waitFor(() => cut.logged('this instance no longer leads the cluster') !== undefined, 'the cut instance to say it stopped', 15_000);
    const lost = cut.logged('this instance no longer leads the cluster')!;
    expect(lost.reason).toBe('expired');
    // It stopped acting (active() false from then on) before the database handed the lease over: at most
    // ttl − margin (2.25 s) after its last renewal, which was at most a renewal interval (1 s) before the stall.
    const stoppedActing = Date.parse(String(lost.stoppedActingAt));
    expect(stoppedActing).toBeLessThan(tookOver.time);
    expect(stoppedActing - stalledAt).toBeLessThan(2_500);
    console.log(
      `cluster: partitioned leader stopped acting ${stoppedActing - stalledAt} ms after the stall (noticed at ${lost.time - stalledAt} ms); the other took over at ${tookOver.time - stalledAt} ms`,
    );
    expect(tookOver.time - stoppedActing).toBeGreaterThan(500);
    await proxy!.flow();
  }, 60_000);
});
