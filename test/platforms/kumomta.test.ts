/**
 * The KumoMTA adapter against a kumod stand-in on loopback that checks each request
 * against the admin API's documented shape (docs/reference/http/kumod/api_admin_suspend_v1_*.md,
 * crates/kumo-api-types SuspendV1Request) and answers like kumod: {"id": "<uuid>"} for a
 * suspension, "removed <id>" or a 404 "suspend entry <id> not found" for a cancel.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { errorMap } from '../../src/core/zod-messages.ts';
import type { ControlSnapshot, PushContext } from '../../src/platforms/define.ts';
import { kumomta, suspendRequest } from '../../src/platforms/kumomta.ts';
import { closedPort, httpServer } from '../helpers/servers.ts';
import { controlSnapshot, pushFailure } from '../helpers/platforms.ts';

const now = new Date('2026-11-23T10:00:00.000Z');
const ctx: PushContext = { signal: new AbortController().signal, delivery: 'push-1', now };
const push = kumomta.push!;

const control = (overrides: Partial<ControlSnapshot> = {}) =>
  controlSnapshot({ scope: { rcpt_domain: 'gmail.com' }, reason: 'ip-listed: 192.0.2.91 listed on lab-zen', source: 'rule:ip-listed' }, overrides);

function config(url: string, extra: Record<string, unknown> = {}) {
  return kumomta.configSchema.parse({ id: 'mta', kind: 'kumomta', url, timeout: '2s', ...extra });
}

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

const suspendKeys = new Set(['campaign', 'tenant', 'domain', 'reason', 'duration', 'expires', 'queue_names']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A kumod admin API: suspensions kept in memory, requests checked against the documented shape. */
async function kumod(options: { answer?: (seen: Seen, res: ServerResponse) => boolean } = {}) {
  const seen: Seen[] = [];
  const problems: string[] = [];
  const suspensions = new Map<string, Record<string, unknown>>();
  const { url } = await httpServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
      const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      seen.push(request);
      if (options.answer?.(request, res)) return;
      const reply = (status: number, payload: string, type = 'text/plain') => {
        res.writeHead(status, { 'content-type': type });
        res.end(payload);
      };
      if (req.url !== '/api/admin/suspend/v1') return reply(404, 'no route');
      if (req.headers['content-type'] !== 'application/json') return reply(415, 'Expected request with `Content-Type: application/json`');
      if (typeof body !== 'object' || body === null) return reply(400, 'not a JSON object');
      const fields = body as Record<string, unknown>;
      if (req.method === 'POST') {
        for (const key of Object.keys(fields)) if (!suspendKeys.has(key)) problems.push(`unknown field ${key}`);
        if (typeof fields.reason !== 'string' || fields.reason === '') problems.push('reason must be a non-empty string');
        for (const key of ['domain', 'campaign', 'tenant']) if (key in fields && typeof fields[key] !== 'string') problems.push(`${key} must be a string`);
        // duration_serde: a humantime string ("604800s") or a number of seconds.
        if (typeof fields.duration !== 'string' || !/^\d+s$/.test(fields.duration)) problems.push(`duration ${JSON.stringify(fields.duration)} is not a humantime string of seconds`);
        if (problems.length > 0) return reply(422, `Failed to deserialize the JSON body: ${problems.join('; ')}`);
        const id = randomUUID();
        suspensions.set(id, fields);
        return reply(200, JSON.stringify({ id }), 'application/json');
      }
      if (req.method === 'DELETE') {
        if (Object.keys(fields).join() !== 'id' || typeof fields.id !== 'string' || !UUID.test(fields.id)) return reply(422, 'Failed to deserialize the JSON body: expected {id: uuid}');
        if (!suspensions.delete(fields.id)) return reply(404, `suspend entry ${fields.id} not found`);
        return reply(200, `removed ${fields.id}`);
      }
      return reply(405, 'method not allowed');
    });
  });
  return { url, seen, problems, suspensions };
}

describe('kumomta platform: suspensions through the admin API', () => {
  it('suspends the scope and lifts exactly the suspension it made: the id kumod returned is the ref', async () => {
    const server = await kumod();
    const cfg = config(server.url);
    const paused = control({ scope: { rcpt_domain: 'gmail.com', campaign: 'spring', tenant: 'acme' } });
    const ref = await push.apply(cfg, paused, ctx);

    expect(server.problems).toEqual([]);
    expect(ref).toMatch(UUID);
    expect([...server.suspensions.keys()]).toEqual([ref]);
    const [post] = server.seen;
    expect(post).toMatchObject({ method: 'POST', url: '/api/admin/suspend/v1' });
    expect(post!.body).toEqual({
      reason: 'mailscope control c-7f3a (rule:ip-listed): ip-listed: 192.0.2.91 listed on lab-zen',
      domain: 'gmail.com',
      campaign: 'spring',
      tenant: 'acme',
      duration: '604800s',
    });
    // kumod admits trusted hosts only when no Authorization header is sent.
    expect(post!.headers.authorization).toBeUndefined();

    await push.lift(cfg, paused, ref, ctx);
    expect(server.seen[1]).toMatchObject({ method: 'DELETE', url: '/api/admin/suspend/v1', body: { id: ref } });
    expect(server.suspensions.size).toBe(0);
  });

  it('lasts until the control expires, and never longer than maxDuration', async () => {
    const soon = control({ expiresAt: new Date(now.getTime() + 30 * 60_000).toISOString() });
    expect(suspendRequest(soon, now, 7 * 86_400_000).duration).toBe('1800s');
    const late = control({ expiresAt: '2026-12-31T00:00:00.000Z' });
    expect(suspendRequest(late, now, 3_600_000).duration).toBe('3600s');
    // An expiry already reached still sends a valid duration: the shortest.
    expect(suspendRequest(control({ expiresAt: '2026-11-23T09:00:00.000Z' }), now, 3_600_000).duration).toBe('1s');

    const server = await kumod();
    await push.apply(config(server.url, { maxDuration: '2h' }), control(), ctx);
    expect(server.seen[0]!.body).toMatchObject({ duration: '7200s' });
    expect(server.problems).toEqual([]);
  });

  it('counts lifting a suspension kumod no longer has (expired, replaced) as success', async () => {
    const server = await kumod();
    await expect(push.lift(config(server.url), control(), randomUUID(), ctx)).resolves.toBeUndefined();
    expect(server.seen).toHaveLength(1);
    expect(server.seen[0]!.method).toBe('DELETE');
  });

  it('lifts nothing when apply recorded no ref', async () => {
    const server = await kumod();
    await push.lift(config(server.url), control(), undefined, ctx);
    expect(server.seen).toEqual([]);
  });

  it('says why it cannot apply a throttle or a scope kumod cannot single out', () => {
    const cfg = config('http://127.0.0.1:8000');
    expect(push.unsupported(cfg, control({ action: 'throttle', ratePerMinute: 60 }))).toBe(
      'KumoMTA throttles through its shaping config (max_message_rate per site or source, loaded by kumo.shaping.load); its admin API has no rate to set. Serve a shaping overlay through a webhook platform, or throttle with the postfix-policy platform',
    );
    expect(push.unsupported(cfg, control({ scope: { ip: '192.0.2.91' } }))).toBe(
      'KumoMTA suspends queues by recipient domain, campaign and tenant only; it cannot single out ip (scope ip=192.0.2.91), and suspending the whole domain, campaign or tenant would pause more traffic than asked. A postfix-policy or webhook platform can apply this scope',
    );
    expect(push.unsupported(cfg, control({ scope: { from_domain: 'news.example.com', rcpt_domain: 'gmail.com' } }))).toBe(
      'KumoMTA suspends queues by recipient domain, campaign and tenant only; it cannot single out from_domain (scope from_domain=news.example.com rcpt_domain=gmail.com), and suspending the whole domain, campaign or tenant would pause more traffic than asked. A postfix-policy or webhook platform can apply this scope',
    );
    expect(push.unsupported(cfg, control({ scope: { pool: 'shared', provider: 'gmail' } }))).toContain('it cannot single out pool, provider (scope pool=shared provider=gmail)');
    expect(push.unsupported(cfg, control({ scope: { rcpt_domain: 'gmail.com' } }))).toBeUndefined();
    expect(push.unsupported(cfg, control({ scope: { campaign: 'spring', tenant: 'acme' } }))).toBeUndefined();
  });
});

describe('kumomta platform: failures', () => {
  it('is retryable on a 5xx, on apply and on lift', async () => {
    const server = await kumod({
      answer: (_seen, res) => {
        res.writeHead(500).end('try again later');
        return true;
      },
    });
    const applied = await pushFailure(push.apply(config(server.url), control(), ctx));
    expect(applied.retryable).toBe(true);
    expect(applied.message).toBe('KumoMTA: HTTP 500: try again later');
    const lifted = await pushFailure(push.lift(config(server.url), control(), randomUUID(), ctx));
    expect(lifted.retryable).toBe(true);
  });

  it('is not retryable on a 4xx: an untrusted host, or a body kumod refuses', async () => {
    const server = await kumod({
      answer: (_seen, res) => {
        res.writeHead(401).end('Trusted IP required');
        return true;
      },
    });
    const error = await pushFailure(push.apply(config(server.url), control(), ctx));
    expect(error.retryable).toBe(false);
    expect(error.message).toBe('KumoMTA: HTTP 401: Trusted IP required');
  });

  it('is retryable when kumod cannot be reached', async () => {
    const port = await closedPort();
    const error = await pushFailure(push.apply(config(`http://127.0.0.1:${port}`), control(), ctx));
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/^KumoMTA: .*ECONNREFUSED/);
  });

  it('is retryable when kumod does not answer within the timeout', async () => {
    const server = await kumod({ answer: () => true });
    const began = performance.now();
    const error = await pushFailure(push.apply(config(server.url, { timeout: '200ms' }), control(), ctx));
    expect(error.retryable).toBe(true);
    expect(performance.now() - began).toBeLessThan(5_000);
  });

  it('says so, without retrying, when a 200 carries no suspension id', async () => {
    for (const [body, shown] of [
      ['{"ok":true}', '"{\\"ok\\":true}"'],
      ['<html>proxy</html>', '"<html>proxy</html>"'],
      ['{"id":"not-a-uuid"}', '"{\\"id\\":\\"not-a-uuid\\"}"'],
    ] as const) {
      const server = await kumod({
        answer: (_seen, res) => {
          res.writeHead(200, { 'content-type': 'application/json' }).end(body);
          return true;
        },
      });
      const error = await pushFailure(push.apply(config(server.url), control(), ctx));
      expect(error.retryable).toBe(false);
      expect(error.message).toBe(`KumoMTA: the suspension answer has no id (expected {"id": "<uuid>"}, got ${shown})`);
    }
  });

  it('sends a bearer token or basic credentials when configured, and never puts them in an error', async () => {
    const token = 'kumo-bearer-0123456789abcdef';
    const password = 'basic-password-fedcba9876543210';
    const server = await kumod({
      answer: (_seen, res) => {
        res.writeHead(401).end('Invalid Authorization');
        return true;
      },
    });
    const bearer = await pushFailure(push.apply(config(server.url, { token }), control(), ctx));
    expect(server.seen[0]!.headers.authorization).toBe(`Bearer ${token}`);
    const basic = await pushFailure(push.lift(config(server.url, { basicAuth: { username: 'mailscope', password } }), control(), randomUUID(), ctx));
    expect(server.seen[1]!.headers.authorization).toBe(`Basic ${Buffer.from(`mailscope:${password}`).toString('base64')}`);
    for (const error of [bearer, basic]) {
      expect(error.retryable).toBe(false);
      expect(`${error.message} ${String(error.stack)}`).not.toContain(token);
      expect(`${error.message} ${String(error.stack)}`).not.toContain(password);
    }
  });
});

describe('kumomta platform: config', () => {
  const issues = (input: Record<string, unknown>) => {
    const result = kumomta.configSchema.safeParse({ id: 'mta', kind: 'kumomta', ...input }, { error: errorMap });
    expect(result.success).toBe(false);
    return result.error!.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  };

  it('has defaults: a week-long suspension at most, a 10s timeout', () => {
    const parsed = kumomta.configSchema.parse({ id: 'mta', kind: 'kumomta', url: 'http://127.0.0.1:8000' });
    expect(parsed).toEqual({ id: 'mta', kind: 'kumomta', url: 'http://127.0.0.1:8000', maxDuration: 604_800_000, timeout: 10_000 });
  });

  it('says what is wrong, and never echoes a secret', () => {
    expect(issues({})).toEqual(['url: required: expected an http:// or https:// URL']);
    expect(issues({ url: 'ftp://127.0.0.1' })).toEqual(['url: expected an http:// or https:// URL']);
    expect(issues({ url: 'http://admin:hunter2@127.0.0.1:8000' })).toEqual(['url: must not carry credentials (user:password@): use token or basicAuth']);
    expect(issues({ url: 'http://127.0.0.1:8000', maxDuration: 'forever' })).toEqual(['maxDuration: "forever" is not a duration (expected a number and a unit: 500ms, 30s, 5m, 1h, 7d)']);
    expect(issues({ url: 'http://127.0.0.1:8000', suspend: true })).toEqual([': unknown key "suspend" (expected one of: id, kind, url, token, basicAuth, maxDuration, timeout)']);
    const both = issues({ url: 'http://127.0.0.1:8000', token: 'secret-token-value', basicAuth: { username: 'u', password: 'secret-password-value' } });
    expect(both).toEqual(['basicAuth: give token or basicAuth, not both']);
    const empty = issues({ url: 'http://127.0.0.1:8000', token: '' });
    expect(empty).toEqual(['token: too short: a secret of at least 1 characters is expected']);
  });
});
