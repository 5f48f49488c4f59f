/**
 * The controls API over a real store: create (idempotent), list, lift, the audit
 * log and the policy question; bad input is a 400 with the reason, and nothing
 * is stored.
 */
import { describe, expect, it } from 'vitest';
import { apiRig, tcpProbeYaml } from '../../helpers/api.ts';
import { closedPort } from '../../helpers/servers.ts';

async function rig() {
  return apiRig({ probesYaml: tcpProbeYaml(await closedPort()) });
}

const count = (db: { statement(sql: string): { get(): unknown } }, table: string) => Number((db.statement(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n);

describe('controls API', () => {
  it('pause by hand: created once (201, then 200 for the same scope), answered by the policy, lifted, all in the audit log', async () => {
    const api = await rig();
    const body = { action: 'pause', scope: { ip: '192.0.2.11', rcpt_domain: 'Gmail.com' }, reason: 'listed on lab-zen', expires: '2h' };
    const created = await api.request({ method: 'POST', url: '/v1/controls', as: 'operator', payload: body });
    expect(created.statusCode).toBe(201);
    const control = created.json().control;
    expect(control).toMatchObject({
      action: 'pause',
      scope: { ip: '192.0.2.11', rcpt_domain: 'gmail.com' },
      reason: 'listed on lab-zen',
      source: 'token:ops',
      createdBy: 'ops',
      active: true,
      pushes: [],
      pushFailed: false,
      held: { held: 0, released: 0 },
    });
    // 2h from the request (the control is created a moment later, on the same clock).
    expect(Date.parse(control.expiresAt) - Date.parse(control.createdAt)).toBeGreaterThan(7_190_000);
    expect(Date.parse(control.expiresAt) - Date.parse(control.createdAt)).toBeLessThanOrEqual(7_200_000);
    const again = await api.request({ method: 'POST', url: '/v1/controls', as: 'operator', payload: body });
    expect(again.statusCode).toBe(200);
    expect(again.json().control.id).toBe(control.id);
    expect(count(api.db, 'controls')).toBe(1);

    const policy = async (query: string) => (await api.request({ method: 'GET', url: `/v1/policy?${query}`, as: 'viewer' })).json();
    expect(await policy('ip=192.0.2.11&rcpt_domain=gmail.com&campaign=spring')).toEqual({
      action: 'pause',
      controls: [{ id: control.id, action: 'pause', scope: { ip: '192.0.2.11', rcpt_domain: 'gmail.com' }, reason: 'listed on lab-zen' }],
      unsure: [],
      unsureCount: 0,
      missing: [],
    });
    expect(await policy('ip=192.0.2.11&rcpt_domain=outlook.com')).toEqual({ action: 'allow', controls: [], unsure: [], unsureCount: 0, missing: [] });
    expect(await policy('ip=192.0.2.11')).toEqual({ action: 'allow', controls: [], unsure: [{ id: control.id, missing: ['rcpt_domain'] }], unsureCount: 1, missing: ['rcpt_domain'] });

    const throttle = await api.request({ method: 'POST', url: '/v1/controls', as: 'operator', payload: { action: 'throttle', scope: { provider: 'gmail' }, rate: 120, reason: 'deferrals at gmail' } });
    expect(throttle.statusCode).toBe(201);
    expect(await policy('ip=192.0.2.10&rcpt_domain=googlemail.com')).toMatchObject({ action: 'throttle', rate: 120, controls: [{ id: throttle.json().control.id }] });

    const listed = await api.request({ method: 'GET', url: '/v1/controls?active=true', as: 'viewer' });
    expect(listed.json().controls.map((one: { id: string }) => one.id)).toEqual([throttle.json().control.id, control.id]);

    const lifted = await api.request({ method: 'DELETE', url: `/v1/controls/${control.id}`, as: 'operator', payload: { reason: 'delisted' } });
    expect(lifted.statusCode).toBe(200);
    expect(lifted.json().control).toMatchObject({ active: false, liftedBy: 'ops', liftReason: 'delisted' });
    expect(await policy('ip=192.0.2.11&rcpt_domain=gmail.com')).toMatchObject({ action: 'throttle' });
    const twice = await api.request({ method: 'DELETE', url: `/v1/controls/${control.id}`, as: 'operator' });
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error).toMatchObject({ code: 'CONTROL_NOT_ACTIVE' });

    const audit = await api.request({ method: 'GET', url: `/v1/audit?subject=${control.id}`, as: 'viewer' });
    expect(audit.json().entries.map((entry: { action: string; actor: string; details: { reason?: string } }) => `${entry.action} ${entry.actor} ${entry.details.reason}`)).toEqual([
      'control.lifted ops delisted',
      // The second request's "2h" counts from its own time: the same control, its expiry moved (and audited).
      'control.updated ops listed on lab-zen',
      'control.created ops listed on lab-zen',
    ]);
  });

  it.each([
    [
      'an unknown scope key',
      { action: 'pause', scope: { ipaddress: '192.0.2.1' }, reason: 'x' },
      'body.scope.ipaddress: unknown scope key "ipaddress" (expected one of: ip, pool, from_domain, rcpt_domain, provider, campaign, tenant)',
    ],
    ['an empty scope', { action: 'pause', scope: {}, reason: 'x' }, 'body.scope: a scope needs at least one of: ip, pool, from_domain, rcpt_domain, provider, campaign, tenant'],
    ['a bad IP', { action: 'pause', scope: { ip: '192.0.2.300' }, reason: 'x' }, 'body.scope.ip: "192.0.2.300" is not an IP address or CIDR range'],
    ['a negative rate', { action: 'throttle', scope: { pool: 'a' }, rate: -5, reason: 'x' }, 'body.rate: must be 0 or more (messages per minute)'],
    ['a fractional rate', { action: 'throttle', scope: { pool: 'a' }, rate: 2.5, reason: 'x' }, 'body.rate: expected a whole number of messages per minute'],
    ['a throttle without a rate', { action: 'throttle', scope: { pool: 'a' }, reason: 'x' }, 'body.rate: a throttle needs a rate: a whole number of messages per minute, 0 or more'],
    ['a pause with a rate', { action: 'pause', scope: { pool: 'a' }, rate: 5, reason: 'x' }, 'body.rate: a pause has no rate (use action throttle)'],
    ['an expiry in the past', { action: 'pause', scope: { pool: 'a' }, reason: 'x', expires: '2020-01-01T00:00:00Z' }, 'expires: 2020-01-01T00:00:00.000Z is not in the future'],
    ['an expiry that is no time', { action: 'pause', scope: { pool: 'a' }, reason: 'x', expires: 'soon' }, 'expires: "soon" is neither an ISO 8601 time nor a duration such as 2h'],
    ['an unknown action', { action: 'stop', scope: { pool: 'a' }, reason: 'x' }, 'body.action: '],
    ['no reason', { action: 'pause', scope: { pool: 'a' } }, 'body.reason: '],
    ['an unknown field', { action: 'pause', scope: { pool: 'a' }, reason: 'x', until: '1h' }, 'body: '],
  ])('%s → 400 with the reason, nothing stored', async (_what, payload, reason) => {
    const api = await rig();
    const response = await api.request({ method: 'POST', url: '/v1/controls', as: 'operator', payload });
    expect(response.statusCode).toBe(400);
    const error = response.json().error as { code: string; message: string; issues?: { in: string; path: string; message: string }[] };
    expect(error.code).toBe('BAD_REQUEST');
    const said = [error.message, ...(error.issues ?? []).map((issue) => `${issue.in}${issue.path ? `.${issue.path}` : ''}: ${issue.message}`)];
    expect(
      said.some((line) => line.startsWith(reason)),
      said.join(' | '),
    ).toBe(true);
    expect(count(api.db, 'controls')).toBe(0);
    expect(count(api.db, 'audit_log')).toBe(0);
    expect(count(api.db, 'control_pushes')).toBe(0);
  });

  it('the policy answer for a question is kept only while the controls stay as they are: a change or an expiry shows at once', async () => {
    const api = await rig();
    const policy = async () => (await api.request({ method: 'GET', url: '/v1/policy?pool=shared&rcpt_domain=gmail.com', as: 'viewer' })).json().action as string;
    expect(await policy()).toBe('allow');
    const expiresAt = Date.now() + 400;
    api.controls.create({ action: 'pause', scope: { pool: 'shared' }, reason: 'short', expiresAt, source: 'token:ops', actor: 'ops' });
    expect(await policy()).toBe('pause');
    expect(await policy()).toBe('pause');
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 20));
    // No timer lifted it (the service is not started here): the expiry alone changes the answer.
    expect(api.controls.active).toHaveLength(1);
    expect(await policy()).toBe('allow');
    // Not logged per request: it is asked per message.
    await api.request({ method: 'GET', url: '/v1/controls', as: 'viewer' });
    const incoming = api.logs
      .entries()
      .filter((entry) => entry.msg === 'incoming request')
      .map((entry) => (entry.req as { url: string }).url);
    expect(incoming).toEqual(['/v1/controls']);
  });

  it('the policy question refuses unknown keys', async () => {
    const api = await rig();
    const response = await api.request({ method: 'GET', url: '/v1/policy?ipaddr=192.0.2.1', as: 'viewer' });
    expect(response.statusCode).toBe(400);
    expect(JSON.stringify(response.json())).toContain('ipaddr');
  });
});
