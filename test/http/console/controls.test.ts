/**
 * Controls in the console: the lists and a control's page, with data and with
 * an empty store; pausing and throttling a scope from the form (checked by the
 * API's schema, acted on through the control service, so the policy answers it
 * and the audit log names the person's token); resuming; and every refusal —
 * a viewer, a form without its token, bad input — changing nothing.
 */
import { describe, expect, it } from 'vitest';
import { apiRig, tcpProbeYaml, tokens } from '../../helpers/api.ts';
import { signedIn } from '../../helpers/console.ts';

async function rig() {
  const rig = await apiRig({ probesYaml: tcpProbeYaml(9) });
  const policy = async (query: string) => (await rig.request({ method: 'GET', url: `/v1/policy?${query}`, as: 'viewer' })).json() as { action: string; rate?: number };
  const controlCount = () => (rig.db.statement('SELECT count(*) AS n FROM controls').get() as { n: number }).n;
  return { ...rig, policy, controlCount };
}

const pause = { action: 'pause', 'scope.ip': '192.0.2.10', reason: 'spamhaus listing', expires: '2h' };

describe('the console: controls', () => {
  it('renders the lists and the audit log with an empty store', async () => {
    const { app } = await rig();
    const ops = await signedIn(app, tokens.operator);
    const list = await ops.get('/controls');
    expect(list.statusCode).toBe(200);
    expect(list.body).toMatch(/No traffic is paused or throttled/);
    expect(list.body).toMatch(/action="\/controls"/);
    const audit = await ops.get('/audit');
    expect(audit.statusCode).toBe(200);
    expect(audit.body).toMatch(/Nothing recorded/);
    expect((await ops.get('/controls/nope')).statusCode).toBe(404);
  });

  it('pauses a scope from the form: the policy answers pause, the audit log names the token; resume allows again', async () => {
    const { app, policy } = await rig();
    const ops = await signedIn(app, tokens.operator);
    expect((await policy('ip=192.0.2.10')).action).toBe('allow');

    const paused = await ops.post('/controls', pause);
    expect(paused.statusCode).toBe(303);
    const location = paused.headers.location as string;
    expect(location).toMatch(/^\/controls\/[^/?]+\?done=paused$/);
    expect((await policy('ip=192.0.2.10')).action).toBe('pause');

    const page = await ops.get(location);
    expect(page.statusCode).toBe(200);
    expect(page.body).toMatch(/Paused: the policy answers pause/);
    expect(page.body).toMatch(/spamhaus listing/);
    expect(page.body).toMatch(/control\.created/);
    expect(page.body).toMatch(/<a href="\/audit\?actor=ops">ops<\/a>/);
    expect(page.body).toMatch(/<button type="submit">Resume<\/button>/);

    const id = location.split('/')[2]!.split('?')[0]!;
    const audit = (await (await app.inject({ method: 'GET', url: `/v1/audit?subject=${id}`, headers: { authorization: `Bearer ${tokens.viewer}` } })).json()) as {
      entries: { actor: string; action: string }[];
    };
    expect(audit.entries).toEqual([expect.objectContaining({ actor: 'ops', action: 'control.created' })]);
    const list = await ops.get('/controls');
    expect(list.body).toMatch(/ip=192\.0\.2\.10/);
    expect((await ops.get('/audit?actor=ops')).body).toMatch(/control\.created/);

    // A throttle of another scope, with a rate.
    const throttled = await ops.post('/controls', { action: 'throttle', 'scope.provider': 'gmail', 'scope.pool': 'bulk', rate: '120', reason: 'deferrals' });
    expect(throttled.headers.location).toMatch(/\?done=throttled$/);
    expect(await policy('provider=gmail&pool=bulk')).toMatchObject({ action: 'throttle', rate: 120 });

    const resumed = await ops.post(`/controls/${id}/resume`, { reason: 'delisted' });
    expect(resumed.statusCode).toBe(303);
    expect(resumed.headers.location).toBe(`/controls/${id}?done=resumed`);
    expect((await policy('ip=192.0.2.10')).action).toBe('allow');
    const after = await ops.get(`/controls/${id}`);
    expect(after.body).toMatch(/lifted/);
    expect(after.body).toMatch(/delisted/);
    expect(after.body).not.toMatch(/<button type="submit">Resume<\/button>/);
    // Resuming again: already done.
    expect((await ops.post(`/controls/${id}/resume`, { reason: 'again' })).statusCode).toBe(409);
  });

  it('goes back to the page the form was on (and never off the site)', async () => {
    const { app, policy } = await rig();
    const ops = await signedIn(app, tokens.operator);
    const back = await ops.post('/controls', { ...pause, back: '/targets/192.0.2.10' });
    expect(back.headers.location).toBe('/targets/192.0.2.10?done=paused');
    expect((await policy('ip=192.0.2.10')).action).toBe('pause');
    const offSite = await ops.post('/controls', { ...pause, 'scope.ip': '192.0.2.11', back: '//evil.example/' });
    expect(offSite.headers.location).toBe('/?done=paused');
  });

  it('refuses a viewer and a form without its token, and changes nothing', async () => {
    const { app, policy, controlCount, controls } = await rig();
    const viewer = await signedIn(app, tokens.viewer);
    const page = await viewer.get('/controls');
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toMatch(/action="\/controls"/);
    expect(page.body).not.toMatch(/<button[^>]*>\s*(Resume|Pause)/);
    const refused = await viewer.post('/controls', pause);
    expect(refused.statusCode).toBe(403);
    expect(refused.headers['content-type']).toMatch(/^text\/html/);
    expect(refused.body).toMatch(/Not allowed/);
    expect(controlCount()).toBe(0);

    const ops = await signedIn(app, tokens.operator);
    const forged = await app.inject({
      method: 'POST',
      url: '/controls',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: ops.cookie, 'sec-fetch-site': 'same-origin' },
      payload: new URLSearchParams(pause).toString(),
    });
    expect(forged.statusCode).toBe(403);
    expect((await ops.post('/controls', { ...pause, _csrf: 'not-the-token' })).statusCode).toBe(403);
    expect(controlCount()).toBe(0);

    const { control } = controls.create({ action: 'pause', scope: { ip: '192.0.2.10' }, reason: 'test', source: 'token:ops', actor: 'ops' });
    expect((await viewer.post(`/controls/${control.id}/resume`, { reason: 'viewer' })).statusCode).toBe(403);
    const noToken = await app.inject({
      method: 'POST',
      url: `/controls/${control.id}/resume`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: ops.cookie, 'sec-fetch-site': 'same-origin' },
      payload: 'reason=forged',
    });
    expect(noToken.statusCode).toBe(403);
    expect((await policy('ip=192.0.2.10')).action).toBe('pause');
  });

  it.each([
    ['an unknown scope key', { 'scope.color': 'red' }, /color: unknown scope key "color"/],
    ['no scope at all', { 'scope.ip': '' }, /a scope needs at least one of/],
    ['an address that is not one', { 'scope.ip': '10.1' }, /ip: "10\.1" is not an IP address/],
    ['a negative rate', { action: 'throttle', rate: '-5' }, /rate: must be 0 or more/],
    ['a rate that is not a number', { action: 'throttle', rate: 'fast' }, /rate: /],
    ['a throttle without a rate', { action: 'throttle' }, /a throttle needs a rate/],
    ['a pause with a rate', { rate: '10' }, /a pause has no rate/],
    ['an expiry in the past', { expires: '2001-01-01T00:00:00Z' }, /expires: 2001-01-01T00:00:00\.000Z is not in the future/],
    ['an expiry that is no time', { expires: 'soon' }, /expires: "soon" is neither/],
    ['an empty reason', { reason: '   ' }, /reason: must not be empty/],
    ['a reason with a control character', { reason: 'listed\u001b[2J' }, /reason: contains a control character \(U\+001B/],
    ['a scope value with a line break', { 'scope.pool': 'a\nb' }, /pool: contains a control character/],
    ['an unknown action', { action: 'drop' }, /action: /],
  ])('refuses %s with a 400 page naming it, and stores nothing', async (_name, fields, message) => {
    const { app, controlCount, policy } = await rig();
    const ops = await signedIn(app, tokens.operator);
    const refused = await ops.post('/controls', { ...pause, ...(fields as Record<string, string>) });
    expect(refused.statusCode).toBe(400);
    expect(refused.headers['content-type']).toMatch(/^text\/html/);
    expect(refused.body).toMatch(/Not done/);
    expect(refused.body.replaceAll('&quot;', '"')).toMatch(message);
    expect(controlCount()).toBe(0);
    expect((await policy('ip=192.0.2.10')).action).toBe('allow');
  });

  it('refuses a resume without a reason, and the control stays', async () => {
    const { app, controls, policy } = await rig();
    const ops = await signedIn(app, tokens.operator);
    const { control } = controls.create({ action: 'pause', scope: { ip: '192.0.2.10' }, reason: 'test', source: 'token:ops', actor: 'ops' });
    const refused = await ops.post(`/controls/${control.id}/resume`, { reason: '' });
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toMatch(/reason: must not be empty/);
    expect((await policy('ip=192.0.2.10')).action).toBe('pause');
    expect((await ops.post('/controls/no-such-control/resume', { reason: 'x' })).statusCode).toBe(404);
  });

  it("the overview's resume form lifts the control", async () => {
    const { app, controls, policy } = await rig();
    const ops = await signedIn(app, tokens.operator);
    const { control } = controls.create({ action: 'pause', scope: { ip: '192.0.2.10' }, reason: 'test', source: 'token:ops', actor: 'ops' });
    const overview = await ops.get('/');
    expect(overview.body).toContain(`action="/controls/${control.id}/resume"`);
    const resumed = await ops.post(`/controls/${control.id}/resume`, { reason: 'from the overview' });
    expect(resumed.statusCode).toBe(303);
    expect((await policy('ip=192.0.2.10')).action).toBe('allow');
  });

  it('pages the lifted controls', async () => {
    const { app, controls } = await rig();
    const ops = await signedIn(app, tokens.operator);
    for (let i = 0; i < 55; i++) {
      const { control } = controls.create({ action: 'pause', scope: { pool: `p${i}` }, reason: 'test', source: 'token:ops', actor: 'ops' });
      controls.lift(control.id, 'ops', 'done');
    }
    const first = await ops.get('/controls');
    const older = /href="(\/controls\?cursor=[^"]+)"/.exec(first.body)?.[1];
    expect(older).toBeDefined();
    const second = await ops.get(older!.replaceAll('&amp;', '&'));
    expect(second.statusCode).toBe(200);
    expect(second.body).toMatch(/pool=p0</);
    expect(second.body).not.toMatch(/href="\/controls\?cursor=/);
    expect((await ops.get('/controls?cursor=forged')).statusCode).toBe(400);
  });
});
