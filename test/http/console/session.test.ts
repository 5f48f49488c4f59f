/**
 * Signing in to the console: a token checked once, a session cookie (HttpOnly,
 * SameSite=Strict, the token never in it) that expires and ends at sign-out;
 * forms refused without the session's form token or from another origin; the
 * security headers on every page; pages redirect to the sign-in when signed out.
 */
import { gunzipSync } from 'node:zlib';
import { describe, expect, it, onTestFinished } from 'vitest';
import { systemClock } from '../../../src/core/clock.ts';
import { buildApp } from '../../../src/http/app.ts';
import { storeQueries } from '../../../src/queries/index.ts';
import { captureLog } from '../../helpers/log.ts';
import { apiRig, tcpProbeYaml, tokens } from '../../helpers/api.ts';
import { formHeaders, signedIn } from '../../helpers/console.ts';
import { tcpServer } from '../../helpers/servers.ts';

async function rig() {
  const { port } = await tcpServer(() => {});
  return apiRig({ probesYaml: tcpProbeYaml(port) });
}

const cookieOf = (setCookie: string | string[] | undefined, name: string) => {
  const line = [setCookie ?? []].flat().find((cookie) => cookie.startsWith(`${name}=`));
  return line ? { value: line.slice(name.length + 1, line.indexOf(';')), line } : undefined;
};
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

async function signIn(app: Awaited<ReturnType<typeof rig>>['app'], token: string) {
  const page = await app.inject({ method: 'GET', url: '/login?next=%2Fprobes' });
  const login = cookieOf(page.headers['set-cookie'], 'mailscope_login')!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  return app.inject({ method: 'POST', url: '/login', headers: formHeaders(`mailscope_login=${login.value}`), payload: form({ _csrf: csrf, token, next: '/probes' }) });
}

describe('the console: signing in', () => {
  it('sends the signed-out to the sign-in page, and signs in with a token into a session cookie', async () => {
    const { app } = await rig();
    const home = await app.inject({ method: 'GET', url: '/' });
    expect(home.statusCode).toBe(303);
    expect(home.headers.location).toBe('/login?next=%2F');

    const page = await app.inject({ method: 'GET', url: '/login' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(page.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(page.headers['content-security-policy']).not.toMatch(/unsafe-inline/);
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)/);

    const signedIn = await signIn(app, tokens.viewer);
    expect(signedIn.statusCode).toBe(303);
    expect(signedIn.headers.location).toBe('/probes');
    const session = cookieOf(signedIn.headers['set-cookie'], 'mailscope_session')!;
    expect(session.line).toMatch(/HttpOnly/);
    expect(session.line).toMatch(/SameSite=Strict/);
    expect(session.line).toMatch(/Max-Age=43200/);
    expect(session.value).not.toContain(tokens.viewer);

    const overview = await app.inject({ method: 'GET', url: '/', headers: { cookie: `mailscope_session=${session.value}` } });
    expect(overview.statusCode).toBe(200);
    expect(overview.body).toMatch(/<h1>Overview<\/h1>/);
    expect(overview.body).toMatch(/grafana · viewer/);
    // A bearer token opens no page: a page is a browser's, signed in.
    expect((await app.inject({ method: 'GET', url: '/', headers: { authorization: `Bearer ${tokens.viewer}` } })).statusCode).toBe(303);
  });

  it('refuses a bad token, an ingest token, a sign-in without its form token, and a redirect off the site', async () => {
    const { app } = await rig();
    const bad = await signIn(app, 'not-a-token-of-this-observatory');
    expect(bad.statusCode).toBe(401);
    expect(bad.body).toMatch(/That token is not valid/);
    expect(cookieOf(bad.headers['set-cookie'], 'mailscope_session')).toBeUndefined();

    const page = await app.inject({ method: 'GET', url: '/login' });
    const login = cookieOf(page.headers['set-cookie'], 'mailscope_login')!;
    const forged = await app.inject({ method: 'POST', url: '/login', headers: formHeaders(`mailscope_login=${login.value}`), payload: form({ token: tokens.viewer }) });
    expect(forged.statusCode).toBe(403);
    const crossSite = await app.inject({
      method: 'POST',
      url: '/login',
      headers: { ...formHeaders(`mailscope_login=${login.value}`), 'sec-fetch-site': 'cross-site' },
      payload: form({ _csrf: /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!, token: tokens.viewer }),
    });
    expect(crossSite.statusCode).toBe(403);

    const offSite = await app.inject({ method: 'GET', url: '/login?next=//evil.example/x' });
    expect(offSite.body).toMatch(/name="next" value="\/"/);
  });

  it('ends the session at sign-out (only with the form token), and a viewer sees no buttons', async () => {
    const { app } = await rig();
    const session = cookieOf((await signIn(app, tokens.viewer)).headers['set-cookie'], 'mailscope_session')!.value;
    const cookie = `mailscope_session=${session}`;
    const page = await app.inject({ method: 'GET', url: '/', headers: { cookie } });
    expect(page.body).not.toMatch(/<button[^>]*>\s*(Resume|Pause|Throttle|Run now|Acknowledge)/);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;

    const forged = await app.inject({ method: 'POST', url: '/logout', headers: formHeaders(cookie), payload: form({}) });
    expect(forged.statusCode).toBe(403);
    expect((await app.inject({ method: 'GET', url: '/', headers: { cookie } })).statusCode).toBe(200);

    const out = await app.inject({ method: 'POST', url: '/logout', headers: formHeaders(cookie), payload: form({ _csrf: csrf }) });
    expect(out.statusCode).toBe(303);
    expect(out.headers.location).toBe('/login');
    expect(cookieOf(out.headers['set-cookie'], 'mailscope_session')?.line).toMatch(/Max-Age=0/);
    expect((await app.inject({ method: 'GET', url: '/', headers: { cookie } })).statusCode).toBe(303);
  });
});

describe('the console: a token taken out of the configuration', () => {
  it('ends the sessions signed in with it, and no other', async () => {
    const { app, db, config, runner } = await rig();
    const viewer = await signedIn(app, tokens.viewer);
    const operator = await signedIn(app, tokens.operator);
    // The same store, served with the viewer's token removed (a rotation: a restart with the new configuration).
    const without = { ...config, instance: { ...config.instance, tokens: config.instance.tokens.filter((token) => token.name !== 'grafana') } };
    const next = await buildApp({ config: without, probes: config.probes, queries: storeQueries(db), runner, clock: systemClock }, { log: captureLog().log, version: 'test' });
    onTestFinished(() => next.close());
    expect((await next.inject({ method: 'GET', url: '/', headers: { cookie: viewer.cookie } })).statusCode).toBe(303);
    expect((await next.inject({ method: 'GET', url: '/', headers: { cookie: operator.cookie } })).statusCode).toBe(200);
  });
});

describe('the console: pages on the wire', () => {
  it('gzips a page for a browser that takes it, and says it varies by what the browser takes', async () => {
    const { app } = await rig();
    const { cookie } = await signedIn(app, tokens.viewer);
    const plain = await app.inject({ method: 'GET', url: '/', headers: { cookie } });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toMatch(/accept-encoding/);
    const zipped = await app.inject({ method: 'GET', url: '/', headers: { cookie, 'accept-encoding': 'gzip, deflate, br' } });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.rawPayload.length).toBeLessThan(plain.rawPayload.length / 2);
    const strip = (html: string) => html.replace(/\d+s ago/g, '');
    expect(strip(gunzipSync(zipped.rawPayload).toString('utf8'))).toBe(strip(plain.body));
    expect(zipped.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
  });
});
