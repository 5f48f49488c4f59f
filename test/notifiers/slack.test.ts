/**
 * The Slack notifier against an incoming-webhook receiver on loopback: the request
 * as Slack documents it (a JSON POST with `text`, the fallback, and Block Kit
 * `blocks`), and every way a delivery fails, classified as worth retrying or not.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { DeliveryError, type AlertNotification } from '../../src/notifiers/define.ts';
import { slack, slackPayload } from '../../src/notifiers/slack.ts';
import { closedPort, httpServer } from '../helpers/servers.ts';

/** The path of an incoming-webhook URL is its credential. */
const hookPath = '/services/T0SECRET/B0SECRET/x9Y8z7SECRET';

const notification: AlertNotification = {
  delivery: 7,
  event: 'firing',
  at: '2026-11-23T10:00:00.000Z',
  alert: {
    id: '9f2c4e1a0b7d3c55',
    rule: 'ip-listed',
    severity: 'critical',
    state: 'firing',
    summary: '192.0.2.91 listed on lab-zen',
    description: 'A sending IP is on a blocklist.',
    condition: 'blacklist.listed == true',
    value: true,
    labels: { target: '192.0.2.91', list: 'lab-zen' },
    since: '2026-11-23T09:58:00.000Z',
    firedAt: '2026-11-23T10:00:00.000Z',
    details: { delist_url: 'https://dnsbl.test/delist', reason: 'Listed by a test' },
  },
  links: { alert: 'https://mailscope.example.com/v1/alerts/9f2c4e1a0b7d3c55', dashboard: 'https://grafana.example.com/d/mailscope-overview' },
};

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A receiver that records every request and answers with `answer` (Slack's own: 200 "ok"). */
async function receiver(answer: (res: ServerResponse) => void = (res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')) {
  const received: Received[] = [];
  const { url } = await httpServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      answer(res);
    });
  });
  return { url: `${url}${hookPath}`, received };
}

const config = (webhookUrl: string) => slack.configSchema.parse({ id: 'chat', kind: 'slack', webhookUrl });
const ctx = { signal: new AbortController().signal };

async function failure(promise: Promise<unknown>): Promise<DeliveryError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(DeliveryError);
  expect((error as DeliveryError).code).toBe('NOTIFY_FAILED');
  return error as DeliveryError;
}

describe('slack notifier: the incoming-webhook request', () => {
  it('POSTs JSON with a text fallback and Block Kit blocks: what fired, the rule, where, since when, what to do, links', async () => {
    const hook = await receiver();
    await slack.send(config(hook.url), notification, ctx);

    expect(hook.received).toHaveLength(1);
    const [request] = hook.received as [Received];
    expect(request.method).toBe('POST');
    expect(request.url).toBe(hookPath);
    expect(request.headers['content-type']).toBe('application/json');
    const body = JSON.parse(request.body);
    expect(body).toEqual(slackPayload(notification));
    expect(Object.keys(body).sort()).toEqual(['blocks', 'text']);
    expect(body.text).toBe('FIRING [critical] 192.0.2.91 listed on lab-zen');
    expect(body.blocks.map((block: { type: string }) => block.type)).toEqual(['header', 'section', 'section', 'section', 'context']);
    expect(body.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Firing: 192.0.2.91 listed on lab-zen', emoji: true } });
    expect(body.blocks[1].text).toEqual({ type: 'mrkdwn', text: ':red_circle: *192.0.2.91 listed on lab-zen*\nA sending IP is on a blocklist.' });
    expect(body.blocks[2].fields).toEqual([
      { type: 'mrkdwn', text: '*Rule*\nip-listed' },
      { type: 'mrkdwn', text: '*Severity*\ncritical' },
      { type: 'mrkdwn', text: '*Condition*\n`blacklist.listed == true`' },
      { type: 'mrkdwn', text: '*Value*\ntrue' },
      { type: 'mrkdwn', text: '*Since*\n<!date^1795427880^{date_short_pretty} {time}|2026-11-23T09:58:00.000Z>' },
      { type: 'mrkdwn', text: '*target*\n192.0.2.91' },
      { type: 'mrkdwn', text: '*list*\nlab-zen' },
    ]);
    expect(body.blocks[3].text).toEqual({ type: 'mrkdwn', text: '*Delisting:* <https://dnsbl.test/delist|https://dnsbl.test/delist>\n*Reason:* Listed by a test' });
    expect(body.blocks[4]).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: '<https://mailscope.example.com/v1/alerts/9f2c4e1a0b7d3c55|Alert 9f2c4e1a0b7d3c55> · <https://grafana.example.com/d/mailscope-overview|Dashboard>' }],
    });
  });

  it('says resolved and reminder in words and icons; a value against its threshold; who acknowledged', async () => {
    const hook = await receiver();
    const resolved: AlertNotification = {
      ...notification,
      event: 'resolved',
      alert: { ...notification.alert, state: 'resolved', value: 0.62, threshold: 0.8, resolvedAt: '2026-11-23T11:00:00.000Z', details: {}, acknowledgedBy: 'dana' },
      links: {},
    };
    await slack.send(config(hook.url), resolved, ctx);
    await slack.send(config(hook.url), { ...notification, event: 'reminder' }, ctx);

    const [first, second] = hook.received.map((request) => JSON.parse(request.body));
    expect(first.text).toBe('RESOLVED [critical] 192.0.2.91 listed on lab-zen');
    expect(first.blocks.map((block: { type: string }) => block.type)).toEqual(['header', 'section', 'section', 'context']);
    expect(first.blocks[0].text.text).toBe('Resolved: 192.0.2.91 listed on lab-zen');
    expect(first.blocks[1].text.text).toMatch(/^:large_green_circle: /);
    const fields = first.blocks[2].fields.map((field: { text: string }) => field.text);
    expect(fields).toContain('*Value*\n0.62 (threshold 0.8)');
    expect(fields).toContain('*Resolved*\n<!date^1795431600^{date_short_pretty} {time}|2026-11-23T11:00:00.000Z>');
    expect(first.blocks[3].elements[0].text).toBe('Alert 9f2c4e1a0b7d3c55 · acknowledged by dana');
    expect(second.text).toBe('STILL FIRING [critical] 192.0.2.91 listed on lab-zen');
    expect(second.blocks[0].text.text).toBe('Still firing: 192.0.2.91 listed on lab-zen');
    expect(second.blocks[1].text.text).toMatch(/^:repeat: /);
  });

  it('escapes &, < and > in what came from elsewhere, so a label cannot make a link or a mention', async () => {
    const hook = await receiver();
    const hostile: AlertNotification = {
      ...notification,
      alert: { ...notification.alert, summary: 'a <!channel> & <https://evil.example|click>', labels: { target: '<@U123>' }, details: { reason: 'listed <b>&</b>' } },
    };
    await slack.send(config(hook.url), hostile, ctx);
    const body = JSON.parse(hook.received[0]!.body);
    expect(body.blocks[1].text.text).toContain('*a &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;*');
    expect(body.blocks[2].fields.map((field: { text: string }) => field.text)).toContain('*target*\n&lt;@U123&gt;');
    expect(body.blocks[3].text.text).toBe('*Reason:* listed &lt;b&gt;&amp;&lt;/b&gt;');
    // The header is plain_text: Slack shows it as written.
    expect(body.blocks[0].text.text).toBe('Firing: a <!channel> & <https://evil.example|click>');
  });

  it('keeps within Slack’s limits: at most 10 fields, a 150-character header, long details cut', async () => {
    const hook = await receiver();
    const labels = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`label${i}`, `value${i}`]));
    const long: AlertNotification = { ...notification, alert: { ...notification.alert, summary: 'x'.repeat(400), labels, details: { reason: 'r'.repeat(5_000) } } };
    await slack.send(config(hook.url), long, ctx);
    const body = JSON.parse(hook.received[0]!.body);
    expect(body.blocks[2].fields).toHaveLength(10);
    expect(body.blocks[0].text.text).toHaveLength(150);
    expect(body.blocks[0].text.text.endsWith('…')).toBe(true);
    expect(body.blocks[3].text.text.length).toBeLessThanOrEqual(3_000);
  });
});

describe('slack notifier: failures', () => {
  it.each([
    [500, 'internal_error', true],
    [503, 'service unavailable', true],
    [429, 'rate_limited', true],
    [408, 'request timeout', true],
    [400, 'invalid_payload', false],
    [403, 'invalid_token', false],
    [404, 'no_team', false],
    [410, 'channel_is_archived', false],
  ])('HTTP %i %s is a failed delivery (retryable: %s)', async (status, text, retryable) => {
    const hook = await receiver((res) => res.writeHead(status, { 'content-type': 'text/plain' }).end(text));
    const error = await failure(slack.send(config(hook.url), notification, ctx));
    expect(error.retryable).toBe(retryable);
    expect(error.message).toBe(`Slack webhook: HTTP ${status}: ${text}`);
    expect(hook.received).toHaveLength(1);
  });

  it('is retryable when Slack cannot be reached, and the error does not carry the URL', async () => {
    const port = await closedPort();
    const error = await failure(slack.send(config(`http://127.0.0.1:${port}${hookPath}`), notification, ctx));
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/^Slack webhook: .*ECONNREFUSED/);
    expect(`${error.message} ${String(error.stack)} ${JSON.stringify(error)}`).not.toContain('SECRET');
  });

  it('gives up when its signal ends (the dispatcher’s timeout): retryable, and nothing waits on the silent receiver', async () => {
    const silent = await receiver(() => {});
    const started = performance.now();
    const error = await failure(slack.send(config(silent.url), notification, { signal: AbortSignal.timeout(200) }));
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/^Slack webhook: /);
    expect(error.message).not.toContain('SECRET');
    expect(silent.received).toHaveLength(1);
  });

  it('stops when aborted by its caller (shutdown)', async () => {
    const silent = await receiver(() => {});
    const controller = new AbortController();
    const sending = slack.send(config(silent.url), notification, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const error = await failure(sending);
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/^Slack webhook: .*abort/i);
  });

  it('keeps of an error body that echoes the webhook URL with control characters neither the URL nor the characters', async () => {
    let echoed = '';
    const hook = await receiver((res) => res.writeHead(400).end(`\u001b[31minvalid_payload for POST ${echoed}\u0000\u001b[0m`));
    echoed = hook.url;
    const error = await failure(slack.send(config(hook.url), notification, ctx));
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/^Slack webhook: HTTP 400: invalid_payload for POST \[redacted\]/);
    expect(error.message).not.toContain('SECRET');
    expect(error.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });
});
