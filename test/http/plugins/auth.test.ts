import { describe, expect, it } from 'vitest';
import { apiRig, tcpProbeYaml, tokens, type TokenName } from '../../helpers/api.ts';
import { tcpServer } from '../../helpers/servers.ts';

const callers: TokenName[] = ['none', 'viewer', 'operator', 'admin'];
const rank = { viewer: 0, operator: 1, admin: 2 } as const;

/** Every route of the API, the role it requires, and a request that reaches it. */
const routes = [
  { method: 'GET', url: '/healthz', access: 'public' },
  { method: 'GET', url: '/readyz', access: 'public' },
  { method: 'GET', url: '/v1/probes', access: 'viewer' },
  { method: 'GET', url: '/v1/probes/:id', access: 'viewer', path: '/v1/probes/smtp' },
  { method: 'POST', url: '/v1/probes/:id/run', access: 'operator', path: '/v1/probes/smtp/run' },
  { method: 'GET', url: '/v1/runs', access: 'viewer' },
  { method: 'GET', url: '/v1/runs/:id', access: 'viewer', path: '/v1/runs/1' },
  { method: 'GET', url: '/v1/observations', access: 'viewer' },
  { method: 'GET', url: '/v1/series', access: 'viewer' },
  { method: 'GET', url: '/v1/config', access: 'admin' },
  { method: 'GET', url: '/v1/outbox', access: 'viewer' },
  { method: 'GET', url: '/v1/outbox/quarantine', access: 'viewer' },
  { method: 'GET', url: '/metrics', access: 'viewer' },
  { method: 'GET', url: '/v1/alerts', access: 'viewer' },
  // Reaching the handler (past auth) is what counts: no such alert or silence is 404.
  { method: 'GET', url: '/v1/alerts/:id', access: 'viewer', path: '/v1/alerts/0123456789abcdef', ok: 404 },
  { method: 'POST', url: '/v1/alerts/:id/ack', access: 'operator', path: '/v1/alerts/0123456789abcdef/ack', ok: 404 },
  { method: 'GET', url: '/v1/notifications', access: 'viewer' },
  { method: 'GET', url: '/v1/silences', access: 'viewer' },
  { method: 'POST', url: '/v1/silences', access: 'operator', body: { matchers: { rule: 'x' }, until: '1h', comment: 'auth matrix' }, ok: 201 },
  { method: 'DELETE', url: '/v1/silences/:id', access: 'operator', path: '/v1/silences/no-such-silence', ok: 404 },
  { method: 'GET', url: '/v1/policy', access: 'viewer', path: '/v1/policy?ip=192.0.2.1&rcpt_domain=gmail.com' },
  { method: 'GET', url: '/v1/controls', access: 'viewer' },
  { method: 'GET', url: '/v1/controls/:id', access: 'viewer', path: '/v1/controls/no-such-control', ok: 404 },
  // The same control again is the same control: 201 for the first caller allowed, 200 after; both reach the handler.
  { method: 'POST', url: '/v1/controls', access: 'operator', body: { action: 'pause', scope: { pool: 'auth-matrix' }, reason: 'auth matrix' }, ok: [200, 201] },
  { method: 'DELETE', url: '/v1/controls/:id', access: 'operator', path: '/v1/controls/no-such-control', ok: 404 },
  { method: 'GET', url: '/v1/audit', access: 'viewer' },
  { method: 'GET', url: '/v1/traffic', access: 'viewer' },
  { method: 'GET', url: '/v1/reports', access: 'viewer' },
  { method: 'GET', url: '/v1/reports/quarantine', access: 'viewer' },
  { method: 'GET', url: '/v1/reports/:id', access: 'viewer', path: '/v1/reports/99', ok: 404 },
  { method: 'GET', url: '/v1/dmarc/sources', access: 'viewer', path: '/v1/dmarc/sources?domain=sender.test' },
  { method: 'GET', url: '/v1/sources', access: 'viewer' },
] as const;

function expectedStatus(access: string, caller: TokenName, ok: number | readonly number[] = 200): number[] {
  if (access === 'public') return [200, 503];
  if (caller === 'none') return [401];
  return rank[caller] >= rank[access as keyof typeof rank] ? [ok].flat() : [403];
}

describe('auth matrix: every route × no token / viewer / operator / admin', async () => {
  it('covers every route the API registers (docs aside)', async () => {
    const { port } = await tcpServer(() => {});
    const { app } = await apiRig({ probesYaml: tcpProbeYaml(port) });
    const registered = app.routeAccess
      .filter((route) => route.method !== 'HEAD' && !route.url.startsWith('/docs') && !route.console)
      .map((route) => `${route.method} ${route.url} ${route.access}`)
      .sort();
    expect(registered).toEqual(routes.map((route) => `${route.method} ${route.url} ${route.access}`).sort());
  });

  it('answers each caller as its role allows', async () => {
    const { port } = await tcpServer(() => {});
    const rig = await apiRig({ probesYaml: tcpProbeYaml(port) });
    // Run id 1 exists for /v1/runs/:id.
    expect((await rig.request({ method: 'POST', url: '/v1/probes/smtp/run', as: 'admin' })).statusCode).toBe(200);
    const outcomes: string[] = [];
    const expected: string[] = [];
    for (const route of routes) {
      for (const caller of callers) {
        const response = await rig.request({ method: route.method, url: 'path' in route ? route.path : route.url, as: caller, ...('body' in route ? { payload: route.body } : {}) });
        const allowed = expectedStatus(route.access, caller, 'ok' in route ? route.ok : 200);
        const label = `${route.method} ${route.url} as ${caller}`;
        outcomes.push(`${label}: ${allowed.includes(response.statusCode) ? 'as expected' : response.statusCode}`);
        expected.push(`${label}: as expected`);
        if (response.statusCode === 401) {
          expect(response.json()).toEqual({ error: { code: 'UNAUTHORIZED', message: 'missing bearer token (Authorization: Bearer <token>)' } });
          expect(response.headers['www-authenticate']).toBe('Bearer realm="mailscope"');
        }
        if (response.statusCode === 403) expect(response.json().error.code).toBe('FORBIDDEN');
      }
    }
    expect(outcomes).toEqual(expected);
  });

  it('says which role is needed and which the token has', async () => {
    const { port } = await tcpServer(() => {});
    const rig = await apiRig({ probesYaml: tcpProbeYaml(port) });
    const response = await rig.request({ method: 'GET', url: '/v1/config', as: 'operator' });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toEqual({ error: { code: 'FORBIDDEN', message: 'requires the admin role; token "ops" has operator' } });
  });

  it.each([
    ['an unknown token', { authorization: 'Bearer not-a-configured-token-000' }, 'invalid token'],
    ['a token of another scheme', { authorization: `Basic ${Buffer.from(`u:${tokens.admin}`).toString('base64')}` }, 'malformed Authorization header: expected "Bearer <token>"'],
    ['an empty bearer', { authorization: 'Bearer ' }, 'malformed Authorization header: expected "Bearer <token>"'],
    ['a token with a suffix', { authorization: `Bearer ${tokens.admin}x` }, 'invalid token'],
  ])('refuses %s with 401', async (_name, headers, message) => {
    const { port } = await tcpServer(() => {});
    const rig = await apiRig({ probesYaml: tcpProbeYaml(port) });
    const response = await rig.app.inject({ method: 'GET', url: '/v1/probes', headers });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({ error: { code: 'UNAUTHORIZED', message } });
  });

  it('serves the docs UI and the OpenAPI document without a token', async () => {
    const { port } = await tcpServer(() => {});
    const rig = await apiRig({ probesYaml: tcpProbeYaml(port) });
    const ui = await rig.request({ method: 'GET', url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toContain('text/html');
    const spec = await rig.request({ method: 'GET', url: '/docs/json' });
    expect(spec.statusCode).toBe(200);
    const document = spec.json();
    expect(document.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' });
    expect(Object.keys(document.paths).sort()).toEqual(
      [
        '/healthz',
        '/metrics',
        '/readyz',
        '/v1/alerts',
        '/v1/alerts/{id}',
        '/v1/alerts/{id}/ack',
        '/v1/audit',
        '/v1/config',
        '/v1/controls',
        '/v1/controls/{id}',
        '/v1/notifications',
        '/v1/observations',
        '/v1/outbox',
        '/v1/outbox/quarantine',
        '/v1/policy',
        '/v1/probes',
        '/v1/probes/{id}',
        '/v1/probes/{id}/run',
        '/v1/runs',
        '/v1/runs/{id}',
        '/v1/series',
        '/v1/silences',
        '/v1/silences/{id}',
        '/v1/traffic',
        '/v1/reports',
        '/v1/reports/quarantine',
        '/v1/reports/{id}',
        '/v1/dmarc/sources',
        '/v1/sources',
      ].sort(),
    );
    expect(document.paths['/v1/runs'].get.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['cursor', 'limit', 'probe', 'since', 'until']);
  });
});
