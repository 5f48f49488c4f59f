/**
 * The listmonk adapter against a listmonk stand-in on loopback that keeps campaigns,
 * checks auth (`Authorization: token user:token`), wraps answers as {"data": ...} and
 * enforces listmonk's status transitions (internal/core/campaigns.go UpdateCampaignStatus):
 * paused only from running; running from paused or draft; draft only from scheduled;
 * scheduled from draft or paused; cancelled from running or paused. A missing campaign
 * is a 400 "Campaign not found", as listmonk answers.
 */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { errorMap } from '../../src/core/zod-messages.ts';
import type { ControlSnapshot, PushContext } from '../../src/platforms/define.ts';
import { listmonk } from '../../src/platforms/listmonk.ts';
import { closedPort, httpServer } from '../helpers/servers.ts';
import { controlSnapshot, pushFailure } from '../helpers/platforms.ts';

const now = new Date('2026-11-23T10:00:00.000Z');
const ctx: PushContext = { signal: new AbortController().signal, delivery: 'push-1', now };
const push = listmonk.push!;
const apiToken = 'lm-token-5f4e3d2c1b0a';

const control = (overrides: Partial<ControlSnapshot> = {}) => controlSnapshot({ scope: { campaign: '12' }, reason: 'complaint rate 0.4% on campaign 12', source: 'rule:complaints' }, overrides);

function config(url: string, extra: Record<string, unknown> = {}) {
  return listmonk.configSchema.parse({ id: 'newsletters', kind: 'listmonk', url, username: 'mailscope', token: apiToken, timeout: '2s', ...extra });
}

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

const allowedFrom: Record<string, string[]> = {
  draft: ['scheduled'],
  scheduled: ['draft', 'paused'],
  running: ['paused', 'draft'],
  paused: ['running'],
  cancelled: ['running', 'paused'],
};

/** listmonk's campaign API, in memory. `sticky` keeps a campaign running whatever PUT says (a pause that does not take). */
async function listmonkServer(campaigns: Record<string, string>, options: { sticky?: boolean; fail?: number; raw?: string } = {}) {
  const seen: Seen[] = [];
  const problems: string[] = [];
  const { url } = await httpServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    req.on('end', () => {
      const body: unknown = text === '' ? undefined : JSON.parse(text);
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const reply = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(payload));
      };
      if (options.fail) return reply(options.fail, { message: 'Something unexpected went wrong' });
      if (req.headers.authorization !== `token mailscope:${apiToken}`) return reply(403, { message: 'invalid API credentials' });
      const match = /^\/api\/campaigns\/(\d+)(\/status)?$/.exec(req.url ?? '');
      if (!match) return reply(404, { message: 'Unknown URL' });
      const id = match[1]!;
      const campaign = () => ({
        id: Number(id),
        uuid: '57702beb-6fae-4355-a324-c2fd5b59a549',
        name: 'Spring sale',
        status: campaigns[id],
        send_at: '2026-11-24T09:00:00+01:00',
        sent: 1200,
        to_send: 50_000,
      });
      if (campaigns[id] === undefined) return reply(400, { message: 'Campaign not found' });
      if (req.method === 'GET' && !match[2]) {
        if (options.raw !== undefined) {
          res.writeHead(200, { 'content-type': 'text/html' });
          return res.end(options.raw);
        }
        return reply(200, { data: campaign() });
      }
      if (req.method === 'PUT' && match[2]) {
        if (!String(req.headers['content-type']).startsWith('application/json')) problems.push('PUT without a JSON content-type');
        const status = (body as { status?: unknown } | undefined)?.status;
        if (typeof status !== 'string' || Object.keys(body as object).join() !== 'status') {
          problems.push(`PUT body ${text}`);
          return reply(400, { message: 'Invalid status' });
        }
        if (!allowedFrom[status]?.includes(campaigns[id]!)) return reply(400, { message: `Cannot change status from ${campaigns[id]} to ${status}` });
        if (!options.sticky) campaigns[id] = status;
        // listmonk echoes the status asked for, not the one stored.
        return reply(200, { data: { ...campaign(), status } });
      }
      return reply(405, { message: 'Method Not Allowed' });
    });
  });
  return { url, seen, problems, campaigns };
}

const calls = (seen: Seen[]) => seen.map((request) => `${request.method} ${request.url}${request.body === undefined ? '' : ` ${JSON.stringify(request.body)}`}`);

describe('listmonk platform: pausing and resuming a campaign', () => {
  it('pauses a running campaign, confirms it reads back paused, and resumes it on lift', async () => {
    const server = await listmonkServer({ '12': 'running' });
    const cfg = config(server.url);
    const ref = await push.apply(cfg, control(), ctx);
    expect(ref).toBe('running');
    expect(server.campaigns['12']).toBe('paused');
    expect(calls(server.seen)).toEqual(['GET /api/campaigns/12', 'PUT /api/campaigns/12/status {"status":"paused"}', 'GET /api/campaigns/12']);
    expect(server.seen[0]!.headers.authorization).toBe(`token mailscope:${apiToken}`);

    await push.lift(cfg, control(), ref, ctx);
    expect(server.campaigns['12']).toBe('running');
    expect(calls(server.seen).slice(3)).toEqual(['GET /api/campaigns/12', 'PUT /api/campaigns/12/status {"status":"running"}']);
    expect(server.problems).toEqual([]);
  });

  it('unschedules a scheduled campaign (listmonk pauses only running ones) and reschedules it on lift', async () => {
    const server = await listmonkServer({ '12': 'scheduled' });
    const cfg = config(server.url);
    const ref = await push.apply(cfg, control(), ctx);
    expect(ref).toBe('scheduled');
    expect(server.campaigns['12']).toBe('draft');
    await push.lift(cfg, control(), ref, ctx);
    expect(server.campaigns['12']).toBe('scheduled');
    expect(server.problems).toEqual([]);
  });

  it('refuses to resume a campaign a person cancelled (or resumed) while it was paused', async () => {
    const server = await listmonkServer({ '12': 'running' });
    const cfg = config(server.url);
    const ref = await push.apply(cfg, control(), ctx);
    server.campaigns['12'] = 'cancelled';
    const before = server.seen.length;
    await push.lift(cfg, control(), ref, ctx);
    expect(server.campaigns['12']).toBe('cancelled');
    expect(calls(server.seen.slice(before))).toEqual(['GET /api/campaigns/12']);

    server.campaigns['12'] = 'running';
    await push.lift(cfg, control(), ref, ctx);
    expect(calls(server.seen.slice(before))).toEqual(['GET /api/campaigns/12', 'GET /api/campaigns/12']);
  });

  it('leaves a campaign someone else paused to them: no change on apply, nothing to resume on lift', async () => {
    const server = await listmonkServer({ '12': 'paused' });
    const cfg = config(server.url);
    const ref = await push.apply(cfg, control(), ctx);
    expect(ref).toBeUndefined();
    await push.lift(cfg, control(), ref, ctx);
    expect(calls(server.seen)).toEqual(['GET /api/campaigns/12']);
    expect(server.campaigns['12']).toBe('paused');
  });

  it('has nothing to pause in a finished or cancelled campaign, and refuses a draft', async () => {
    const server = await listmonkServer({ '12': 'finished', '13': 'cancelled', '14': 'draft' });
    const cfg = config(server.url);
    expect(await push.apply(cfg, control(), ctx)).toBeUndefined();
    expect(await push.apply(cfg, control({ scope: { campaign: '13' } }), ctx)).toBeUndefined();
    const draft = await pushFailure(push.apply(cfg, control({ scope: { campaign: '14' } }), ctx));
    expect(draft.retryable).toBe(false);
    expect(draft.message).toBe('listmonk campaign 14 is a draft: listmonk pauses only running campaigns, and nothing would hold this one if someone started it');
    expect(server.seen.filter((request) => request.method === 'PUT')).toEqual([]);
  });

  it('fails, to be retried, when the pause does not take: listmonk still says running', async () => {
    const server = await listmonkServer({ '12': 'running' }, { sticky: true });
    const error = await pushFailure(push.apply(config(server.url), control(), ctx));
    expect(error.retryable).toBe(true);
    expect(error.message).toBe('listmonk campaign 12: still "running" after setting it to "paused"');
    expect(calls(server.seen)).toEqual(['GET /api/campaigns/12', 'PUT /api/campaigns/12/status {"status":"paused"}', 'GET /api/campaigns/12']);
  });

  it('counts lifting a campaign that no longer exists as success', async () => {
    const server = await listmonkServer({});
    await expect(push.lift(config(server.url), control(), 'running', ctx)).resolves.toBeUndefined();
    expect(calls(server.seen)).toEqual(['GET /api/campaigns/12']);
  });

  it('says why it cannot throttle, nor pause a scope that is not exactly one listmonk campaign', () => {
    const cfg = config('http://127.0.0.1:9000');
    expect(push.unsupported(cfg, control({ action: 'throttle', ratePerMinute: 100 }))).toBe(
      'listmonk has no per-campaign rate: its sending rate (concurrency, message rate, sliding window) is one setting for every campaign. Pause the campaign instead, or throttle at the MTA (postfix-policy)',
    );
    expect(push.unsupported(cfg, control({ scope: { rcpt_domain: 'gmail.com' } }))).toBe(
      'listmonk pauses campaigns; scope rcpt_domain=gmail.com names none. A postfix-policy or webhook platform can apply it',
    );
    expect(push.unsupported(cfg, control({ scope: { campaign: '12', rcpt_domain: 'gmail.com' } }))).toBe(
      'listmonk can pause only a whole campaign: pausing campaign 12 would pause more than scope rcpt_domain=gmail.com campaign=12. A postfix-policy or webhook platform can apply it',
    );
    expect(push.unsupported(cfg, control({ scope: { campaign: 'spring-sale' } }))).toBe(
      'listmonk names campaigns by number: "spring-sale" is not a listmonk campaign id (the number in the campaign\'s URL)',
    );
    expect(push.unsupported(cfg, control({ scope: { campaign: '012' } }))).toContain('is not a listmonk campaign id');
    expect(push.unsupported(cfg, control({ scope: { campaign: '12' } }))).toBeUndefined();
  });
});

describe('listmonk platform: failures', () => {
  it('is retryable on a 5xx', async () => {
    const server = await listmonkServer({ '12': 'running' }, { fail: 502 });
    const error = await pushFailure(push.apply(config(server.url), control(), ctx));
    expect(error.retryable).toBe(true);
    expect(error.message).toBe('listmonk campaign 12: HTTP 502: {"message":"Something unexpected went wrong"}');
  });

  it('is not retryable on a 4xx (bad credentials), and never shows the token', async () => {
    const server = await listmonkServer({ '12': 'running' });
    const error = await pushFailure(push.apply(config(server.url, { token: 'lm-wrong-token-77aa' }), control(), ctx));
    expect(error.retryable).toBe(false);
    expect(error.message).toBe('listmonk campaign 12: HTTP 403: {"message":"invalid API credentials"}');
    expect(`${error.message} ${String(error.stack)}`).not.toContain('lm-wrong-token-77aa');
    expect(server.seen[0]!.headers.authorization).toBe('token mailscope:lm-wrong-token-77aa');
  });

  it('is retryable when listmonk cannot be reached, and never shows the token', async () => {
    const port = await closedPort();
    const error = await pushFailure(push.apply(config(`http://127.0.0.1:${port}`), control(), ctx));
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/^listmonk campaign 12: .*ECONNREFUSED/);
    expect(`${error.message} ${String(error.stack)}`).not.toContain(apiToken);
  });

  it('says so, without retrying, when a 200 carries no campaign status', async () => {
    const server = await listmonkServer({ '12': 'running' }, { raw: '<html>login</html>' });
    const error = await pushFailure(push.apply(config(server.url), control(), ctx));
    expect(error.retryable).toBe(false);
    expect(error.message).toBe('listmonk campaign 12: the answer has no campaign status (expected {"data": {"status": ...}}, got "<html>login</html>")');
    expect(server.seen.filter((request) => request.method === 'PUT')).toEqual([]);
  });

  it('sends HTTP Basic with authScheme basic (listmonk before v4)', async () => {
    const server = await listmonkServer({ '12': 'running' });
    await pushFailure(push.apply(config(server.url, { authScheme: 'basic' }), control(), ctx));
    expect(server.seen[0]!.headers.authorization).toBe(`Basic ${Buffer.from(`mailscope:${apiToken}`).toString('base64')}`);
  });
});

describe('listmonk platform: config', () => {
  const issues = (input: Record<string, unknown>) => {
    const result = listmonk.configSchema.safeParse({ id: 'newsletters', kind: 'listmonk', ...input }, { error: errorMap });
    expect(result.success).toBe(false);
    return result.error!.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  };

  it('says what is wrong, and never echoes a secret', () => {
    expect(issues({ username: 'mailscope', token: 't' })).toEqual(['url: required: expected an http:// or https:// URL']);
    expect(issues({ url: 'http://127.0.0.1:9000', token: 't' })).toEqual(['username: required: expected a string']);
    expect(issues({ url: 'http://127.0.0.1:9000', username: 'mailscope' })).toEqual(['token: expected a string (not shown: it is a secret)']);
    expect(issues({ url: 'http://127.0.0.1:9000', username: 'mailscope', token: 't', authScheme: 'bearer' })).toEqual(['authScheme: expected one of: token, basic; got "bearer"']);
    expect(issues({ url: 'http://127.0.0.1:9000', username: 'mailscope', token: 't', password: 'p4ss-secret' })).toEqual([
      ': unknown key "password" (expected one of: id, kind, url, username, token, authScheme, timeout)',
    ]);
    const leaked = issues({ url: 'http://mailscope:p4ss-secret@127.0.0.1:9000', username: 'mailscope', token: 't' });
    expect(leaked).toEqual(['url: must not carry credentials (user:password@): use username and token']);
  });

  it('uses API-user tokens by default', () => {
    const parsed = listmonk.configSchema.parse({ id: 'newsletters', kind: 'listmonk', url: 'http://127.0.0.1:9000', username: 'mailscope', token: apiToken });
    expect(parsed).toMatchObject({ authScheme: 'token', timeout: 10_000 });
    expect(JSON.stringify(parsed)).not.toContain(apiToken);
  });
});
