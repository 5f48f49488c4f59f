/**
 * Alerts end to end, with the real parts: the lab's rbldnsd lists an address,
 * the blacklist probe of a running observatory finds it, the rule fires, and
 * local HTTP receivers stand in for Slack and a webhook consumer.
 */
import { createHmac } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Observatory } from '../../src/observatory.ts';
import { delist, list } from '../lab/dnsbl.ts';
import { lab } from '../lab/plan.ts';
import type { CapturedLog } from '../helpers/log.ts';
import { runningObservatory } from '../helpers/observatory.ts';
import { waitFor } from '../helpers/probes.ts';
import { httpServer } from '../helpers/servers.ts';
import { tempDir } from '../helpers/temp.ts';

const operatorToken = 'alerts-operator-token-000001';
const hookSecret = 'webhook-signing-secret-0001';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/** An HTTP receiver: answers each request with the next status of `statuses` (then 200), keeps what it got. */
async function receiver(statuses: number[] = []): Promise<{ url: string; received: Received[]; accepted: Received[] }> {
  const received: Received[] = [];
  const accepted: Received[] = [];
  const { url } = await httpServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const status = statuses.shift() ?? 200;
      received.push({ headers: request.headers, body });
      if (status === 200) accepted.push({ headers: request.headers, body });
      response.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'temporarily broken');
    });
  });
  return { url, received, accepted };
}

async function observatoryWith(options: { ip: string; slack: string; hook: string; flaky: string }): Promise<{ observatory: Observatory; logs: CapturedLog; run: () => Promise<void> }> {
  const dir = tempDir();
  writeFileSync(
    join(dir, 'mailscope.yaml'),
    `
dataDir: ./data
http: { listen: "127.0.0.1:0" }
tokens: [{ name: oncall, role: operator, token: "${operatorToken}" }]
# rbldnsd itself, uncached: a delisting shows at once.
dns: { resolvers: ["${lab.rbldnsd.host}:${lab.rbldnsd.port}"], cacheEntries: 0 }
blocklists:
  lists:
    - { id: lab-zen, zone: zen.dnsbl.test, kind: ip, codes: { "127.0.0.2": "lab SBL: spam source" }, delistUrl: "https://dnsbl.test/delist" }
notifiers:
  - { id: slack-deliverability, kind: slack, webhookUrl: "\${SLACK_URL}" }
  - { id: ops-hook, kind: webhook, url: "\${HOOK_URL}", secret: "\${HOOK_SECRET}" }
  - { id: flaky-hook, kind: webhook, url: "\${FLAKY_URL}" }
alerts:
  externalUrl: https://mailscope.example.com
  retry: { min: 100ms, max: 400ms, attempts: 5 }
`,
  );
  mkdirSync(join(dir, 'probes'));
  writeFileSync(
    join(dir, 'probes', 'pool.yaml'),
    `
probes:
  - id: pool-blocklists
    kind: blacklist
    schedule: "0 0 1 1 *"
    targets: ["${options.ip}"]
    lists: [lab-zen]
rules:
  - id: ip-listed
    description: A sending IP is on a blocklist; mail from it is refused or filtered.
    condition: blacklist.listed == true
    where: { target_kind: ip }
    severity: critical
    summary: "{target} listed on {list}"
    labels: { team: deliverability }
    notify: [slack-deliverability, ops-hook, flaky-hook]
`,
  );
  const { observatory, logs, config } = await runningObservatory(dir, {
    token: operatorToken,
    env: { SLACK_URL: options.slack, HOOK_URL: options.hook, HOOK_SECRET: hookSecret, FLAKY_URL: options.flaky },
    dnsServers: [lab.rbldnsd],
    logLevel: 'debug',
  });
  const definition = config.probes[0]!.definition;
  return { observatory, logs, run: async () => void (await observatory.runner.run(definition, 'cli')) };
}

async function api(observatory: Observatory, path: string, init: RequestInit = {}): Promise<any> {
  const response = await fetch(`http://127.0.0.1:${observatory.address.port}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${operatorToken}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
  });
  return { status: response.status, body: await response.json() };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 700));

describe('alerts end to end: rbldnsd lists the IP → blacklist probe → rule → Slack and webhooks', () => {
  it('one firing message across three runs, one resolved message after delisting; signed webhooks; a flaky receiver gets it once', { timeout: 60_000 }, async () => {
    const ip = '192.0.2.91';
    await delist(ip);
    const slack = await receiver();
    const hook = await receiver();
    const flaky = await receiver([500, 500]);
    const { observatory, logs, run } = await observatoryWith({ ip, slack: `${slack.url}/services/T000/B000/XXXX`, hook: `${hook.url}/hooks/mailscope`, flaky: flaky.url });
    onTestFinished(() => delist(ip));

    await run();
    expect((await api(observatory, '/v1/alerts')).body.alerts).toEqual([]);

    await list(ip, ':127.0.0.2:Listed by the alerts test');
    // rbldnsd rereads its files every second: run until the probe sees the listing.
    for (let attempt = 0; attempt < 20; attempt++) {
      await run();
      if ((await api(observatory, '/v1/alerts?state=firing')).body.alerts.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await waitFor(() => slack.accepted.length >= 1 && hook.accepted.length >= 1 && flaky.accepted.length >= 1, 'the firing notifications');
    await run();
    await run();
    await settle();

    // Slack: exactly one message, well-formed Block Kit, saying what, where, since when, and what to do.
    expect(slack.received).toHaveLength(1);
    const firing = JSON.parse(slack.received[0]!.body);
    expect(firing.text).toBe(`FIRING [critical] ${ip} listed on lab-zen`);
    expect(firing.blocks.map((block: { type: string }) => block.type)).toEqual(['header', 'section', 'section', 'section', 'context']);
    expect(firing.blocks[0].text).toEqual({ type: 'plain_text', text: `Firing: ${ip} listed on lab-zen`, emoji: true });
    const fields = firing.blocks[2].fields.map((field: { text: string }) => field.text);
    expect(fields).toEqual(expect.arrayContaining(['*Rule*\nip-listed', '*Severity*\ncritical', '*Condition*\n`blacklist.listed == true`', '*Value*\ntrue', `*target*\n${ip}`, '*list*\nlab-zen']));
    expect(fields.find((text: string) => text.startsWith('*Since*'))).toMatch(/^\*Since\*\n<!date\^\d+\^\{date_short_pretty\} \{time\}\|\d{4}-\d{2}-\d{2}T/);
    expect(firing.blocks[3].text.text).toContain('*Delisting:* <https://dnsbl.test/delist|https://dnsbl.test/delist>');
    expect(firing.blocks[3].text.text).toContain('*Reason:* Listed by the alerts test');
    const alertId = (await api(observatory, '/v1/alerts?state=firing')).body.alerts[0].id as string;
    expect(firing.blocks[4].elements[0].text).toBe(`<https://mailscope.example.com/v1/alerts/${alertId}|Alert ${alertId}>`);

    // The webhook: one request, its signature verifies over timestamp + body.
    expect(hook.received).toHaveLength(1);
    const signed = hook.received[0]!;
    const expected = `sha256=${createHmac('sha256', hookSecret).update(`${signed.headers['x-mailscope-timestamp']}.${signed.body}`).digest('hex')}`;
    expect(signed.headers['x-mailscope-signature']).toBe(expected);
    expect(signed.headers['x-mailscope-event']).toBe('alert.firing');
    expect(JSON.parse(signed.body)).toMatchObject({
      version: 1,
      type: 'alert',
      event: 'firing',
      alert: { id: alertId, rule: 'ip-listed', state: 'firing', value: true, labels: { target: ip, list: 'lab-zen', team: 'deliverability' } },
    });

    // 500, 500, then 200: delivered once, on the third attempt, and the log says so.
    expect(flaky.received.map(() => 'try')).toHaveLength(3);
    expect(flaky.accepted).toHaveLength(1);
    const log = (await api(observatory, `/v1/notifications?alert=${alertId}`)).body.notifications as { channel: string; status: string; attempts: number; event: string }[];
    expect(log.map(({ channel, status, attempts, event }) => `${channel} ${event} ${status} ${attempts}`).sort()).toEqual([
      'flaky-hook firing sent 3',
      'ops-hook firing sent 1',
      'slack-deliverability firing sent 1',
    ]);

    // Delisted: exactly one resolved message, however many runs follow.
    await delist(ip);
    for (let attempt = 0; attempt < 20; attempt++) {
      await run();
      if ((await api(observatory, `/v1/alerts/${alertId}`)).body.alert.state === 'resolved') break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await waitFor(() => slack.accepted.length >= 2, 'the resolved message');
    await run();
    await settle();
    expect(slack.received).toHaveLength(2);
    const resolved = JSON.parse(slack.received[1]!.body);
    expect(resolved.text).toBe(`RESOLVED [critical] ${ip} listed on lab-zen`);
    expect(resolved.blocks[2].fields.map((field: { text: string }) => field.text)).toEqual(expect.arrayContaining(['*Value*\nfalse']));
    expect(hook.received.map((request) => request.headers['x-mailscope-event'])).toEqual(['alert.firing', 'alert.resolved']);

    // The webhook URLs carry tokens: they reach no log line.
    const logged = logs.text();
    expect(logged).not.toContain('/services/T000/B000/XXXX');
    expect(logged).not.toContain('/hooks/mailscope');
    expect(logged).not.toContain(hookSecret);
  });

  it('an acknowledged alert says so; a silence holds its messages back until it is deleted', { timeout: 60_000 }, async () => {
    const ip = '192.0.2.92';
    await delist(ip);
    const slack = await receiver();
    const hook = await receiver();
    const flaky = await receiver();
    const { observatory, run } = await observatoryWith({ ip, slack: slack.url, hook: hook.url, flaky: flaky.url });
    onTestFinished(() => delist(ip));

    const silence = await api(observatory, '/v1/silences', {
      method: 'POST',
      body: JSON.stringify({ matchers: { rule: 'ip-listed', target: ip }, until: '1h', comment: 'known: delisting requested' }),
    });
    expect(silence.status).toBe(201);
    expect(silence.body.silence).toMatchObject({ matchers: { rule: 'ip-listed', target: ip }, createdBy: 'oncall', active: true, comment: 'known: delisting requested' });

    await list(ip, ':127.0.0.2:Listed by the silence test');
    for (let attempt = 0; attempt < 20; attempt++) {
      await run();
      if ((await api(observatory, '/v1/alerts?state=firing')).body.alerts.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const [alert] = (await api(observatory, '/v1/alerts?state=firing')).body.alerts;
    expect(alert).toMatchObject({ rule: 'ip-listed', silenced: true, labels: { target: ip } });
    await settle();
    expect(slack.received).toHaveLength(0);

    const ack = await api(observatory, `/v1/alerts/${alert.id}/ack`, { method: 'POST', body: JSON.stringify({ comment: 'on it' }) });
    expect(ack.status).toBe(200);
    expect(ack.body.alert.acknowledged).toMatchObject({ by: 'oncall', comment: 'on it' });

    const ended = await api(observatory, `/v1/silences/${silence.body.silence.id}`, { method: 'DELETE' });
    expect(ended.body.silence).toMatchObject({ active: false, deletedBy: 'oncall' });
    await waitFor(() => slack.accepted.length === 1, 'the firing message once the silence ended');
    expect(JSON.parse(slack.accepted[0]!.body).blocks[4].elements[0].text).toContain('acknowledged by oncall');

    expect((await api(observatory, '/v1/alerts/0000000000000000/ack', { method: 'POST', body: '{}' })).body.error.code).toBe('ALERT_NOT_FOUND');
    expect((await api(observatory, `/v1/silences/${silence.body.silence.id}`, { method: 'DELETE' })).status).toBe(404);
    const bad = await api(observatory, '/v1/silences', { method: 'POST', body: JSON.stringify({ matchers: {}, until: '-1h', comment: '' }) });
    expect(bad.status).toBe(400);
    expect((await api(observatory, '/v1/silences')).body.silences).toHaveLength(1);
  });
});
