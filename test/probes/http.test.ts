import { describe, expect, it } from 'vitest';
import { http } from '../../src/probes/http.ts';
import { probeContext } from '../helpers/context.ts';
import { closedPort, httpServer } from '../helpers/servers.ts';

function config(targets: string[], extra: Record<string, unknown> = {}) {
  return http.configSchema.parse({ id: 'p', kind: 'http', schedule: '* * * * *', targets, ...extra });
}

describe('http probe against a real HTTP server on loopback', () => {
  it('is up on an expected status', async () => {
    const { url } = await httpServer((_req, res) => res.end('ok'));
    const [observation] = await http.run(config([`${url}/healthz`]), probeContext());
    expect(observation).toMatchObject({
      measurement: 'reachability',
      tags: { target: `${url}/healthz`, protocol: 'http' },
      fields: { status: 'up', up: true, status_code: 200 },
    });
  });

  it('is down on another status, saying which was expected', async () => {
    const { url } = await httpServer((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    const [observation] = await http.run(config([url], { expectStatus: [200, 204] }), probeContext());
    expect(observation?.fields).toMatchObject({ status: 'down', up: false, status_code: 503, reason: 'status 503, expected 200 or 204' });
  });

  it('does not follow redirects: a 301 is what the endpoint answers', async () => {
    const { url } = await httpServer((_req, res) => {
      res.writeHead(301, { location: '/elsewhere' });
      res.end();
    });
    const [down] = await http.run(config([url]), probeContext());
    expect(down?.fields).toMatchObject({ status: 'down', status_code: 301 });
    const [up] = await http.run(config([url], { expectStatus: [301] }), probeContext());
    expect(up?.fields).toMatchObject({ status: 'up', status_code: 301 });
  });

  it('uses the configured method', async () => {
    const methods: string[] = [];
    const { url } = await httpServer((req, res) => {
      methods.push(req.method ?? '');
      res.end();
    });
    await http.run(config([url], { method: 'HEAD' }), probeContext());
    expect(methods).toEqual(['HEAD']);
  });

  it('is down when no response comes within requestTimeout', async () => {
    const { url } = await httpServer(() => {});
    const [observation] = await http.run(config([url], { requestTimeout: '200ms' }), probeContext());
    expect(observation?.fields).toMatchObject({ status: 'down', up: false, reason: 'no response within 200 ms' });
  });

  it('is down when the connection is refused', async () => {
    const port = await closedPort();
    const [observation] = await http.run(config([`http://127.0.0.1:${port}/`]), probeContext());
    expect(observation?.fields).toMatchObject({ status: 'down', up: false, reason: 'connection refused (ECONNREFUSED)' });
  });

  it('gives up when its run is aborted', async () => {
    const { url } = await httpServer(() => {});
    const controller = new AbortController();
    const running = http.run(config([url]), probeContext(controller.signal));
    setTimeout(() => controller.abort(new Error('deadline')), 50);
    await expect(running).rejects.toThrow('deadline');
  });
});

describe('http probe: HTTPS with a private CA', () => {
  const policy = 'https://mta-sts.sender.test/.well-known/mta-sts.txt';

  it('refuses a caFile it cannot read, at load', () => {
    const result = http.configSchema.safeParse({ id: 'p', kind: 'http', schedule: '* * * * *', targets: [policy], caFile: '/nonexistent/ca.pem' });
    expect(result.error?.issues.map((issue) => issue.message)).toEqual(['cannot read "/nonexistent/ca.pem" (absolute, or relative to the working directory)']);
  });
});
