/**
 * The webhook notifier against a receiver on loopback: the JSON body and headers as
 * documented (`{ version, type: 'alert', ...notification }`; X-Mailscope-Event,
 * -Delivery, -Timestamp and -Signature), a signature a receiver can verify with the
 * documented recipe (`sha256=` + hex HMAC-SHA256 over `${timestamp}.${body}`), and
 * every way a delivery fails, classified as worth retrying or not.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { DeliveryError, type AlertNotification } from '../../src/notifiers/define.ts';
import { webhook, webhookBody } from '../../src/notifiers/webhook.ts';
import { closedPort, httpServer } from '../helpers/servers.ts';

const signingKey = 'whsec-alerts-0123456789abcdef';
const urlToken = 'tok-SECRET-9f8e7d6c5b4a';
const bearerToken = 'bearer-SECRET-00000000001';

const notification: AlertNotification = {
  delivery: 17,
  event: 'firing',
  at: '2026-11-23T10:00:00.000Z',
  alert: {
    id: '9f2c4e1a0b7d3c55',
    rule: 'ip-listed',
    severity: 'critical',
    state: 'firing',
    summary: '192.0.2.91 listed on lab-zen',
    condition: 'blacklist.listed == true',
    value: true,
    labels: { probe: 'pool', target: '192.0.2.91', target_kind: 'ip', list: 'lab-zen' },
    since: '2026-11-23T10:00:00.000Z',
    firedAt: '2026-11-23T10:00:00.000Z',
    details: { delist_url: 'https://dnsbl.test/delist', reason: 'Listed by a test' },
  },
  links: { alert: 'https://mailscope.example.com/v1/alerts/9f2c4e1a0b7d3c55' },
};

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

async function receiver(answer: (res: ServerResponse) => void = (res) => res.writeHead(204).end()) {
  const received: Received[] = [];
  const { url } = await httpServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      answer(res);
    });
  });
  return { url: `${url}/hooks/mailscope?token=${urlToken}`, received };
}

function config(url: string, extra: Record<string, unknown> = {}) {
  return webhook.configSchema.parse({ id: 'ops-hook', kind: 'webhook', url, secret: signingKey, headers: { Authorization: `Bearer ${bearerToken}` }, ...extra });
}

const ctx = { signal: new AbortController().signal };

/** What a receiver does, written from the README's recipe, not from Mailscope's code. */
function verifies(request: Received, key: string): boolean {
  const timestamp = String(request.headers['x-mailscope-timestamp']);
  const expected = Buffer.from(`sha256=${createHmac('sha256', key).update(`${timestamp}.${request.body}`).digest('hex')}`);
  const given = Buffer.from(String(request.headers['x-mailscope-signature']));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function failure(promise: Promise<unknown>): Promise<DeliveryError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(DeliveryError);
  expect((error as DeliveryError).code).toBe('NOTIFY_FAILED');
  return error as DeliveryError;
}

/** Nothing configured as a secret reaches the error, its stack or its JSON. */
function expectNoSecret(error: DeliveryError): void {
  const text = `${error.message} ${String(error.stack)} ${JSON.stringify(error)}`;
  for (const secret of [urlToken, signingKey, bearerToken]) expect(text).not.toContain(secret);
}

describe('webhook notifier: the request', () => {
  it('POSTs the notification as documented, signed over timestamp and body, with its event, delivery id and extra headers', async () => {
    const hook = await receiver();
    const before = Math.floor(Date.now() / 1000);
    await webhook.send(config(hook.url), notification, ctx);
    const after = Math.floor(Date.now() / 1000);

    expect(hook.received).toHaveLength(1);
    const [request] = hook.received as [Received];
    expect(request.method).toBe('POST');
    expect(request.url).toBe(`/hooks/mailscope?token=${urlToken}`);
    expect(JSON.parse(request.body)).toEqual({ version: 1, type: 'alert', ...notification });
    expect(request.body).toBe(webhookBody(notification));
    expect(request.headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': 'mailscope',
      'x-mailscope-event': 'alert.firing',
      'x-mailscope-delivery': '17',
      authorization: `Bearer ${bearerToken}`,
    });
    const timestamp = Number(request.headers['x-mailscope-timestamp']);
    expect(String(timestamp)).toMatch(/^\d{10}$/);
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(after);
    expect(request.headers['x-mailscope-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifies(request, signingKey)).toBe(true);
    expect(verifies(request, 'another-key-0123456789')).toBe(false);
    expect(verifies({ ...request, body: request.body.replace('192.0.2.91', '192.0.2.92') }, signingKey)).toBe(false);
    expect(verifies({ ...request, headers: { ...request.headers, 'x-mailscope-timestamp': String(timestamp - 3_600) } }, signingKey)).toBe(false);
  });

  it('names each event in X-Mailscope-Event, and keeps the delivery id a receiver drops duplicates by', async () => {
    const hook = await receiver();
    const cfg = config(hook.url);
    await webhook.send(cfg, { ...notification, event: 'reminder' }, ctx);
    await webhook.send(cfg, { ...notification, delivery: 18, event: 'resolved', alert: { ...notification.alert, state: 'resolved', value: false, resolvedAt: '2026-11-23T11:00:00.000Z' } }, ctx);
    // A retry of delivery 18 carries the same id.
    await webhook.send(cfg, { ...notification, delivery: 18, event: 'resolved', alert: { ...notification.alert, state: 'resolved', value: false, resolvedAt: '2026-11-23T11:00:00.000Z' } }, ctx);

    expect(hook.received.map((request) => `${request.headers['x-mailscope-event']} ${request.headers['x-mailscope-delivery']}`)).toEqual([
      'alert.reminder 17',
      'alert.resolved 18',
      'alert.resolved 18',
    ]);
    expect(JSON.parse(hook.received[1]!.body)).toMatchObject({
      version: 1,
      type: 'alert',
      delivery: 18,
      event: 'resolved',
      alert: { state: 'resolved', value: false, resolvedAt: '2026-11-23T11:00:00.000Z' },
    });
    for (const request of hook.received) expect(verifies(request, signingKey)).toBe(true);
  });

  it('sends no signature without a secret, and no extra headers unless configured', async () => {
    const hook = await receiver();
    await webhook.send(webhook.configSchema.parse({ id: 'plain', kind: 'webhook', url: hook.url }), notification, ctx);
    const [request] = hook.received as [Received];
    expect(request.headers['x-mailscope-signature']).toBeUndefined();
    expect(request.headers.authorization).toBeUndefined();
    expect(request.headers['x-mailscope-event']).toBe('alert.firing');
    expect(request.headers['x-mailscope-timestamp']).toMatch(/^\d{10}$/);
  });
});

describe('webhook notifier: failures', () => {
  it.each([
    [500, true],
    [502, true],
    [503, true],
    [429, true],
    [408, true],
    [400, false],
    [401, false],
    [404, false],
    [410, false],
  ])('HTTP %i is a failed delivery (retryable: %s)', async (status, retryable) => {
    const hook = await receiver((res) => res.writeHead(status, { 'content-type': 'text/plain' }).end(`said ${status}`));
    const error = await failure(webhook.send(config(hook.url), notification, ctx));
    expect(error.retryable).toBe(retryable);
    expect(error.message).toBe(`webhook: HTTP ${status}: said ${status}`);
    expectNoSecret(error);
  });

  it('is delivered on any 2xx', async () => {
    for (const status of [200, 201, 202, 204]) {
      const hook = await receiver((res) => res.writeHead(status).end());
      await expect(webhook.send(config(hook.url), notification, ctx)).resolves.toBeUndefined();
    }
  });

  it('is retryable when the receiver cannot be reached; the error names neither the URL token nor the keys', async () => {
    const port = await closedPort();
    const error = await failure(webhook.send(config(`http://127.0.0.1:${port}/hooks/mailscope?token=${urlToken}`), notification, ctx));
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/^webhook: .*ECONNREFUSED/);
    expectNoSecret(error);
  });

  it('gives up when its signal ends (the dispatcher’s timeout): retryable, without waiting on the silent receiver', async () => {
    const silent = await receiver(() => {});
    const started = performance.now();
    const error = await failure(webhook.send(config(silent.url), notification, { signal: AbortSignal.timeout(200) }));
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/^webhook: /);
    expectNoSecret(error);
    expect(silent.received).toHaveLength(1);
  });

  it('stops when aborted by its caller (shutdown)', async () => {
    const silent = await receiver(() => {});
    const controller = new AbortController();
    const sending = webhook.send(config(silent.url), notification, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const error = await failure(sending);
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/^webhook: .*abort/i);
  });

  it('keeps of an error body that echoes the request (Authorization header and all) no secret and no control characters', async () => {
    const hook = await receiver((res) => res.writeHead(400).end(`\u001b[31mbad request\u0000 authorization: Bearer ${bearerToken}\r\nurl: /hooks/mailscope?token=${urlToken}\u001b[0m`));
    const error = await failure(webhook.send(config(hook.url), notification, ctx));
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/^webhook: HTTP 400: bad request/);
    expect(error.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expectNoSecret(error);
  });
});
