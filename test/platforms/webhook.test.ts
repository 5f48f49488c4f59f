/**
 * The control webhook against a receiver on loopback: the body and headers as
 * documented, a signature a receiver can verify with the documented recipe
 * (`sha256=` + hex HMAC-SHA256 over `${timestamp}.${body}`), and failures classified.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { errorMap } from '../../src/core/zod-messages.ts';
import type { ControlSnapshot, PushContext } from '../../src/platforms/define.ts';
import { controlWebhookBody, webhook } from '../../src/platforms/webhook.ts';
import { closedPort, httpServer } from '../helpers/servers.ts';
import { controlSnapshot, pushFailure } from '../helpers/platforms.ts';

const now = new Date('2026-11-23T10:00:00.000Z');
const ctx: PushContext = { signal: new AbortController().signal, delivery: 'push-42', now };
const push = webhook.push!;
const signingKey = 'whsec-0123456789abcdef';
const urlToken = 'tok-9f8e7d6c5b4a';

const control = (overrides: Partial<ControlSnapshot> = {}) =>
  controlSnapshot(
    { scope: { ip: '192.0.2.91', rcpt_domain: 'gmail.com' }, reason: 'ip-listed: 192.0.2.91 listed on lab-zen', source: 'rule:ip-listed' },
    { expiresAt: '2026-11-23T10:30:00.000Z', ...overrides },
  );

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

async function receiver(answer?: (res: ServerResponse) => void) {
  const received: Received[] = [];
  const { url, port } = await httpServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (answer) return answer(res);
      res.writeHead(204).end();
    });
  });
  return { url: `${url}/hooks/mailscope?token=${urlToken}`, port, received };
}

function config(url: string, extra: Record<string, unknown> = {}) {
  return webhook.configSchema.parse({ id: 'hook', kind: 'webhook', url, secret: signingKey, headers: { 'x-team': 'deliverability' }, timeout: '2s', ...extra });
}

/** What a receiver does, written from the README's recipe, not from Mailscope's code. */
function verifies(request: Received, key: string): boolean {
  const timestamp = String(request.headers['x-mailscope-timestamp']);
  const expected = Buffer.from(`sha256=${createHmac('sha256', key).update(`${timestamp}.${request.body}`).digest('hex')}`);
  const given = Buffer.from(String(request.headers['x-mailscope-signature']));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

describe('webhook platform: one signed POST per control applied or lifted', () => {
  it('posts a pause, then its resume, each signed, with the control as Mailscope holds it', async () => {
    const hook = await receiver();
    const cfg = config(hook.url);
    const paused = control();
    expect(await push.apply(cfg, paused, ctx)).toBeUndefined();
    await push.lift(cfg, paused, undefined, { ...ctx, delivery: 'push-43', now: new Date('2026-11-23T10:05:00.000Z') });

    expect(hook.received).toHaveLength(2);
    const [pause, resume] = hook.received as [Received, Received];
    expect(pause.method).toBe('POST');
    expect(pause.url).toBe(`/hooks/mailscope?token=${urlToken}`);
    expect(JSON.parse(pause.body)).toEqual({ version: 1, type: 'control', event: 'pause', at: '2026-11-23T10:00:00.000Z', control: paused });
    expect(pause.body).toBe(controlWebhookBody('pause', paused, '2026-11-23T10:00:00.000Z'));
    expect(pause.headers).toMatchObject({
      'content-type': 'application/json',
      'x-mailscope-event': 'control.pause',
      'x-mailscope-delivery': 'push-42',
      'x-mailscope-timestamp': String(now.getTime() / 1000),
      'x-team': 'deliverability',
    });
    expect(verifies(pause, signingKey)).toBe(true);
    expect(verifies(pause, 'another-key-0123456789')).toBe(false);
    expect(verifies({ ...pause, body: pause.body.replace('gmail.com', 'yahoo.com') }, signingKey)).toBe(false);

    expect(JSON.parse(resume.body)).toEqual({ version: 1, type: 'control', event: 'resume', at: '2026-11-23T10:05:00.000Z', control: paused });
    expect(resume.headers).toMatchObject({ 'x-mailscope-event': 'control.resume', 'x-mailscope-delivery': 'push-43', 'x-mailscope-timestamp': '1795428300' });
    expect(verifies(resume, signingKey)).toBe(true);
  });

  it('posts a throttle with its rate', async () => {
    const hook = await receiver();
    const throttled = control({ action: 'throttle', ratePerMinute: 120, scope: { pool: 'shared', provider: 'outlook' } });
    await push.apply(config(hook.url), throttled, ctx);
    const [request] = hook.received;
    expect(request!.headers['x-mailscope-event']).toBe('control.throttle');
    expect(JSON.parse(request!.body)).toMatchObject({ event: 'throttle', control: { action: 'throttle', ratePerMinute: 120, scope: { pool: 'shared', provider: 'outlook' } } });
  });

  it('sends no signature without a secret', async () => {
    const hook = await receiver();
    await push.apply(config(hook.url, { secret: undefined }), control(), ctx);
    expect(hook.received[0]!.headers['x-mailscope-signature']).toBeUndefined();
    expect(hook.received[0]!.headers['x-mailscope-event']).toBe('control.pause');
  });

  it('takes every scope key and both actions: the receiver decides', () => {
    const cfg = config('https://hooks.example.com/x');
    for (const scope of [{ ip: '192.0.2.0/28' }, { pool: 'a' }, { from_domain: 'news.example.com' }, { rcpt_domain: 'gmail.com' }, { provider: 'gmail' }, { campaign: 'spring' }, { tenant: 'acme' }]) {
      expect(push.unsupported(cfg, control({ scope }))).toBeUndefined();
      expect(push.unsupported(cfg, control({ scope, action: 'throttle', ratePerMinute: 10 }))).toBeUndefined();
    }
  });
});

describe('webhook platform: failures', () => {
  it('is retryable on a 5xx and not on a 4xx', async () => {
    const down = await receiver((res) => res.writeHead(503).end('maintenance'));
    const retry = await pushFailure(push.apply(config(down.url), control(), ctx));
    expect(retry.retryable).toBe(true);
    expect(retry.message).toBe('control webhook: HTTP 503: maintenance');

    const refusing = await receiver((res) => res.writeHead(401).end('bad signature'));
    const final = await pushFailure(push.lift(config(refusing.url), control(), undefined, ctx));
    expect(final.retryable).toBe(false);
    expect(final.message).toBe('control webhook: HTTP 401: bad signature');
  });

  it('is retryable when the receiver cannot be reached', async () => {
    const port = await closedPort();
    const error = await pushFailure(push.apply(config(`http://127.0.0.1:${port}/x?token=${urlToken}`), control(), ctx));
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/^control webhook: .*ECONNREFUSED/);
  });

  it('never puts the URL token or the signing key in an error', async () => {
    const port = await closedPort();
    const refused = await pushFailure(push.apply(config(`http://127.0.0.1:${port}/x?token=${urlToken}`), control(), ctx));
    const hook = await receiver((res) => res.writeHead(500).end('oops'));
    const failed = await pushFailure(push.apply(config(hook.url), control(), ctx));
    const slow = await receiver(() => {});
    const timedOut = await pushFailure(push.apply(config(slow.url, { timeout: '200ms' }), control(), ctx));
    expect(timedOut.retryable).toBe(true);
    for (const error of [refused, failed, timedOut]) {
      const text = `${error.message} ${String(error.stack)} ${JSON.stringify(error)}`;
      expect(text).not.toContain(urlToken);
      expect(text).not.toContain(signingKey);
    }
  });
});

describe('webhook platform: config', () => {
  const issues = (input: Record<string, unknown>) => {
    const result = webhook.configSchema.safeParse({ id: 'hook', kind: 'webhook', ...input }, { error: errorMap });
    expect(result.success).toBe(false);
    return result.error!.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  };

  it('says what is wrong, and never echoes a secret', () => {
    expect(issues({})).toEqual(['url: expected a URL (not shown: it is a secret)']);
    expect(issues({ url: 'hooks.example.com/x' })).toEqual(['url: expected an http:// or https:// URL (not shown: it is a secret)']);
    expect(issues({ url: 'https://hooks.example.com/x', secret: 'short-key' })).toEqual(['secret: too short: a secret of at least 16 characters is expected']);
    expect(issues({ url: 'https://hooks.example.com/x', event: 'pause' })).toEqual([': unknown key "event" (expected one of: id, kind, url, secret, headers, timeout)']);
    const credentials = issues({ url: 'https://user:pa55word-secret@hooks.example.com/x' });
    expect(credentials).toEqual(['url: must not carry credentials (user:password@; not shown: it is a secret): send them in headers']);
    expect(credentials.join()).not.toContain('pa55word-secret');
  });

  it('has defaults: no extra headers, a 10s timeout', () => {
    const parsed = webhook.configSchema.parse({ id: 'hook', kind: 'webhook', url: 'https://hooks.example.com/x' });
    expect(parsed).toMatchObject({ headers: {}, timeout: 10_000 });
    expect(String(parsed.url)).toBe('[redacted]');
  });
});
