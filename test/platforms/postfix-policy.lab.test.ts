/**
 * Send control end to end, with the real parts: the lab's Postfix consults the
 * running observatory's policy service for its two managed pools; rbldnsd lists
 * one pool's address, the blacklist probe finds it, the rule fires and pauses
 * that address; the next message from it waits in Postfix's hold queue while the
 * other pool delivers; the listing clears, the cool-down ends, the pause lifts,
 * and the held message is released (postsuper -H) and delivered to the seed.
 *
 * And adaptive throttling from the platform's own traffic: the observatory tails
 * the lab's Postfix log; a burst to limited.test (whose MX takes 10 messages per
 * 10 s from a client, then answers 450) is deferred, the deferral rate fires a
 * rule, which throttles that provider for that IP at half what it was sending and
 * steps down while it fires: the next submissions over the rate are refused by the
 * policy service; the queue drains, a clean minute resolves the alert, the rate
 * steps back up and the throttle lifts. What the API counts is what the log says.
 * (In one file with the pause: both use the policy port Postfix asks.)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Observatory } from '../../src/observatory.ts';
import { queueOf } from '../../src/platforms/postfix-policy.ts';
import { delist, list } from '../lab/dnsbl.ts';
import { findMessages, submit, waitForMessage } from '../lab/mail.ts';
import { lab, limitedProvider, sender } from '../lab/plan.ts';
import { runningObservatory } from '../helpers/observatory.ts';
import { tempDir } from '../helpers/temp.ts';

const operatorToken = 'send-control-operator-0001';
const postfixConfigDir = join(lab.stateDir, 'etc', 'postfix');
const release = { configDir: postfixConfigDir, postsuper: '/usr/sbin/postsuper', postqueue: '/usr/sbin/postqueue' };
const listedIp = sender.pools.managedA.source;
const cleanIp = sender.pools.managedB.source;

async function observatory(): Promise<{ observatory: Observatory; run: () => Promise<void>; api: (path: string, init?: RequestInit) => Promise<{ status: number; body: any }> }> {
  const dir = tempDir();
  writeFileSync(
    join(dir, 'mailscope.yaml'),
    `
dataDir: ./data
http: { listen: "127.0.0.1:0" }
tokens: [{ name: oncall, role: operator, token: "${operatorToken}" }]
dns: { resolvers: ["${lab.rbldnsd.host}:${lab.rbldnsd.port}"], cacheEntries: 0 }
blocklists:
  lists:
    - { id: lab-zen, zone: zen.dnsbl.test, kind: ip, codes: { "127.0.0.2": "lab SBL: spam source" } }
platforms:
  - id: mta
    kind: postfix-policy
    listen: "127.0.0.1:${lab.port.policy}"
    release: { configDir: "${postfixConfigDir}" }
controls: { interval: 200ms }
`,
  );
  mkdirSync(join(dir, 'probes'));
  writeFileSync(
    join(dir, 'probes', 'pools.yaml'),
    `
probes:
  - id: pool-blocklists
    kind: blacklist
    schedule: "0 0 1 1 *"
    targets: ["${listedIp}", "${cleanIp}"]
    lists: [lab-zen]
rules:
  - id: ip-listed
    condition: blacklist.listed == true
    where: { target_kind: ip }
    severity: critical
    summary: "{target} listed on {list}"
    action: { control: pause, scope: { ip: "{target}" }, liftAfter: 2s }
`,
  );
  const { observatory: started, config, api } = await runningObservatory(dir, { token: operatorToken, dnsServers: [lab.rbldnsd] });
  const definition = config.probes[0]!.definition;
  return { observatory: started, run: async () => void (await started.runner.run(definition, 'cli')), api };
}

const queuedAs = (response: string) => /queued as ([0-9A-Za-z]+)/.exec(response)?.[1];

describe('send control end to end: listed → rule → pause → held in Postfix → delisted → lifted → released and delivered', () => {
  it("holds exactly the listed address's mail, delivers the other pool's, and releases the held message after the cool-down", { timeout: 90_000 }, async () => {
    const { run, api } = await observatory();
    await list(listedIp, ':127.0.0.2:lab SBL');
    onTestFinished(() => delist(listedIp));
    const stamp = Date.now();
    const heldSubject = `send-control held ${stamp}`;
    const freeSubject = `send-control free ${stamp}`;
    const heldIds: string[] = [];
    onTestFinished(() => {
      // A failed run leaves nothing in the lab's hold queue.
      for (const id of heldIds) execFileSync('postsuper', ['-c', postfixConfigDir, '-d', id], { stdio: 'ignore' });
    });

    // rbldnsd rereads its files every second: run until the probe sees the listing.
    const runUntil = async (check: () => Promise<boolean>, what: string) => {
      for (let attempt = 0; attempt < 40; attempt++) {
        await run();
        if (await check()) return;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      throw new Error(`timed out waiting for ${what}`);
    };
    await runUntil(async () => (await api('/v1/alerts?state=firing')).body.alerts.length > 0, 'the listing');
    const firing = await api('/v1/controls?active=true');
    expect(firing.body.controls).toEqual([
      expect.objectContaining({ action: 'pause', scope: { ip: listedIp }, source: 'rule:ip-listed', reason: `ip-listed: ${listedIp} listed on lab-zen`, active: true }),
    ]);
    const controlId = firing.body.controls[0].id as string;

    // The next message from the listed address waits in the hold queue; the other pool delivers.
    const held = await submit('managedA', { to: 'seed2@outlook.test', subject: heldSubject, text: 'held until the listing clears' });
    const heldId = queuedAs(held.response);
    expect(heldId).toMatch(/^[0-9A-F]+$/);
    heldIds.push(heldId!);
    const free = await submit('managedB', { to: 'seed2@outlook.test', subject: freeSubject, text: 'not paused' });
    await waitForMessage('seed2@outlook.test', { header: { subject: freeSubject } });
    expect((await queueOf(release)).get(heldId!)).toBe('hold');
    expect(queuedAs(free.response)).not.toBe(heldId);
    let control = (await api(`/v1/controls/${controlId}`)).body.control;
    expect(control.held).toEqual({ held: 1, released: 0 });
    expect(await findMessages('seed2@outlook.test', { header: { subject: heldSubject } })).toEqual([]);

    // Delisted: the alert resolves, the cool-down (2 s) runs, the pause lifts, the message is released and delivered.
    await delist(listedIp);
    await runUntil(async () => (await api('/v1/alerts?state=firing')).body.alerts.length === 0, 'the delisting');
    control = (await api(`/v1/controls/${controlId}`)).body.control;
    expect(control.liftAt).toEqual(expect.any(String));
    expect(control.active).toBe(true);
    const delivered = await waitForMessage('seed2@outlook.test', { header: { subject: heldSubject } }, 30_000);
    expect(delivered.headers).toContain(`[${listedIp}]`);
    let after = (await api(`/v1/controls/${controlId}`)).body.control;
    for (const deadline = Date.now() + 10_000; after.held.released !== 1 && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = (await api(`/v1/controls/${controlId}`)).body.control;
    }
    expect(after).toMatchObject({ active: false, liftedBy: 'rule:ip-listed', held: { held: 0, released: 1 } });
    expect((await queueOf(release)).has(heldId!)).toBe(false);
    const audit = (await api(`/v1/audit?subject=${controlId}`)).body.entries.map((entry: { action: string }) => entry.action);
    expect(audit).toEqual(['control.released', 'control.lifted', 'control.lift-scheduled', 'control.created']);
    heldIds.length = 0;
  });
});

const trafficToken = 'traffic-operator-0001';
const postfixLog = join(lab.stateDir, 'log', 'postfix.log');
const throttledIp = sender.pools.managedA.source;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Queue ids of mail waiting for limited.test (any queue). */
function queuedForLimited(): string[] {
  const output = execFileSync('/usr/sbin/postqueue', ['-c', postfixConfigDir, '-j'], { encoding: 'utf8' });
  return output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { queue_id: string; recipients: { address: string }[] })
    .filter((entry) => entry.recipients.some((recipient) => recipient.address.endsWith(`@${limitedProvider.domain}`)))
    .map((entry) => entry.queue_id);
}

/** What the log says about managedA's deliveries to limited.test from `offset` on, counted here with a regexp of its own. */
function loggedAttempts(offset: number): { delivered: number; deferred: number; bounced: number } {
  const text = readFileSync(postfixLog).subarray(offset).toString('utf8');
  const counts = { delivered: 0, deferred: 0, bounced: 0 };
  const line = new RegExp(String.raw`postfix/pool-managedA/smtp\[\d+\]: [0-9A-F]+: to=<[^>]+@${limitedProvider.domain.replace('.', '\\.')}>,.* status=(sent|deferred|bounced) `);
  for (const entry of text.split('\n')) {
    const status = line.exec(entry)?.[1];
    if (status === 'sent') counts.delivered++;
    else if (status === 'deferred') counts.deferred++;
    else if (status === 'bounced') counts.bounced++;
  }
  return counts;
}

async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 250): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; ; await sleep(everyMs)) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

describe("adaptive throttling end to end: the lab's Postfix log → deferrals → rule → throttle at the policy service → recovered → lifted", () => {
  it('throttles limited.test for the managed IP from its own deferrals, refuses what is over the rate, and lifts once the traffic is clean', { timeout: 240_000 }, async () => {
    // Nothing left for limited.test from an earlier run: every attempt counted below is this test's.
    const clear = () => {
      for (const id of queuedForLimited()) execFileSync('/usr/sbin/postsuper', ['-c', postfixConfigDir, '-d', id], { stdio: 'ignore' });
    };
    clear();
    onTestFinished(clear);
    const dir = tempDir();
    writeFileSync(
      join(dir, 'mailscope.yaml'),
      `
dataDir: ./data
http: { listen: "127.0.0.1:0" }
tokens: [{ name: oncall, role: operator, token: "${trafficToken}" }]
platforms:
  - id: mta
    kind: postfix-policy
    listen: "127.0.0.1:${lab.port.policy}"
    release: { configDir: "${postfixConfigDir}" }
sources:
  - id: maillog
    kind: postfix-log
    path: "${postfixLog}"
    services: { "postfix/pool-managedA": { pool: managedA, ip: "${throttledIp}" } }
    pollInterval: 200ms
controls: { interval: 200ms, providers: { limited: ["${limitedProvider.domain}"] } }
traffic: { flushInterval: 300ms, mxLookup: false }
`,
    );
    mkdirSync(join(dir, 'probes'));
    writeFileSync(
      join(dir, 'probes', 'traffic.yaml'),
      `
rules:
  - id: limited-deferring
    condition: traffic.deferral_rate > 0.3
    where: { provider: limited, pool: managedA }
    minimum: { attempts: 5 }
    severity: warning
    summary: "{provider} defers {ip}'s mail"
    action: { control: throttle, scope: { provider: "{provider}", ip: "{ip}" }, adaptive: { every: 3s, down: 0.5, up: 2, floor: 2 } }
`,
    );
    const offset = statSync(postfixLog).size;
    const { api } = await runningObservatory(dir, { token: trafficToken });
    const base = 100 + Math.floor(Math.random() * 800);
    const stamp = Date.now();
    const send = (i: number, to = `user${base + (i % 100)}@${limitedProvider.domain}`) => submit('managedA', { to, subject: `traffic ${stamp} ${i}`, text: 'a burst' });

    // Refusals by the policy service (450, over the throttle's rate); what it accepted goes to limited.test.
    const refused: string[] = [];
    let accepted = 0;
    const attempt = (i: number, to?: string) =>
      send(i, to).then(
        () => {
          accepted++;
          return true;
        },
        (error: unknown) => {
          refused.push(String(error));
          return false;
        },
      );

    // One unknown recipient, then a burst over what limited.test takes in its window: the throttle may begin during it.
    expect(await attempt(0, `nobody@${limitedProvider.domain}`)).toBe(true);
    for (let i = 1; i < 25; i++) await attempt(i);
    // The tailed log's deferrals fire the rule: a throttle for limited.test from that IP, starting at half what it sent.
    const alert = await until('the deferral alert', async () => (await api('/v1/alerts?state=firing')).body.alerts[0], 60_000);
    expect(alert).toMatchObject({ rule: 'limited-deferring', labels: expect.objectContaining({ provider: 'limited', ip: throttledIp, pool: 'managedA' }) });
    const [throttle] = (await api('/v1/controls?active=true')).body.controls;
    expect(throttle).toMatchObject({ action: 'throttle', scope: { provider: 'limited', ip: throttledIp }, source: 'rule:limited-deferring', adaptive: { floor: 2, down: 0.5, up: 2, everyMs: 3_000 } });
    const { ceiling } = throttle.adaptive as { ceiling: number };
    expect(ceiling).toBeGreaterThanOrEqual(2);
    // It began at half the rate the log showed for that scope over the last minute (its ceiling).
    const began = /\(adaptive: sending (\d+)\/min, from (\d+)\/min\)$/.exec(throttle.reason);
    expect(began && [Number(began[1]), Number(began[2])]).toEqual([ceiling, Math.max(2, Math.floor(ceiling * 0.5))]);

    // While it fires, the rate steps down to the floor.
    await until('the floor', async () => (await api(`/v1/controls/${throttle.id}`)).body.control.ratePerMinute === 2, 60_000);

    // Over the rate, Postfix's submission is refused by the policy service (450); within it, mail goes.
    const before = refused.length;
    await Promise.all(Array.from({ length: 6 }, (_, i) => attempt(100 + i)));
    expect(refused.length - before).toBeGreaterThanOrEqual(4);
    for (const reason of refused) expect(reason).toMatch(/450 4\.7\.1 .*Mailscope throttle \(ip=127\.0\.0\.14 provider=limited, \d+\/min\)/);

    // Postfix retries what was deferred until the queue is empty.
    await until('the queue to drain', async () => queuedForLimited().length === 0, 120_000, 1_000);
    // A minute without deferrals: one message in the next minute is delivered, the alert resolves.
    await sleep(60_000 - (Date.now() % 60_000) + 500);
    await until('a message through the throttle', () => attempt(200), 40_000, 5_000);
    // Resolved once that minute is over (a minute still being counted is no evidence below the rule's minimum).
    await until('the alert to resolve', async () => (await api('/v1/alerts?state=firing')).body.alerts.length === 0, 90_000);

    // Then it steps back up, and lifts at its ceiling.
    const lifted = await until(
      'the lift',
      async () => {
        const control = (await api(`/v1/controls/${throttle.id}`)).body.control;
        return control.active ? undefined : control;
      },
      60_000,
    );
    expect(lifted).toMatchObject({ liftedBy: 'rule:limited-deferring', liftReason: `the traffic recovered: the rate stepped back up to ${ceiling}/min` });
    const audit = (await api(`/v1/audit?subject=${throttle.id}`)).body.entries as { action: string; details: { ratePerMinute?: { from: number; to: number } } }[];
    const steps = audit.filter((entry) => entry.action === 'control.updated').map((entry) => entry.details.ratePerMinute!);
    expect(steps.some((step) => step.to < step.from)).toBe(true);
    expect(steps.some((step) => step.to > step.from)).toBe(true);
    expect(audit.map((entry) => entry.action)).toEqual(expect.arrayContaining(['control.created', 'control.recovering', 'control.lifted']));

    // Every attempt the log shows for managedA to limited.test is in the API's totals, and nothing else.
    const logged = loggedAttempts(offset);
    expect(logged.bounced).toBe(1);
    expect(logged.deferred).toBeGreaterThan(0);
    expect(logged.delivered).toBe(accepted - 1);
    const counted = async () =>
      (await api(`/v1/traffic?since=${new Date(stamp - 120_000).toISOString()}&provider=limited&by=pool`)).body.rows.find((row: { key: string }) => row.key === 'managedA')?.counts;
    await until('the counts to catch up', async () => JSON.stringify(await counted()) === JSON.stringify({ ...logged, expired: 0, complained: 0 }), 10_000);
    expect(await counted()).toEqual({ ...logged, expired: 0, complained: 0 });
  });
});
