/**
 * Send control end to end, with the real parts: the lab's Postfix consults the
 * running observatory's policy service for its two managed pools; rbldnsd lists
 * one pool's address, the blacklist probe finds it, the rule fires and pauses
 * that address; the next message from it waits in Postfix's hold queue while the
 * other pool delivers; the listing clears, the cool-down ends, the pause lifts,
 * and the held message is released (postsuper -H) and delivered to the seed.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Observatory } from '../../src/observatory.ts';
import { queueOf } from '../../src/platforms/postfix-policy.ts';
import { delist, list } from '../lab/dnsbl.ts';
import { findMessages, submit, waitForMessage } from '../lab/mail.ts';
import { lab, sender } from '../lab/plan.ts';
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
