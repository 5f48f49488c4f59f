import { describe, expect, it, onTestFinished } from 'vitest';
import { DnsClient } from '../../src/protocols/dns/client.ts';
import { fakeDns } from '../helpers/dns-server.ts';
import { tcp } from '../../src/probes/tcp.ts';
import { probeContext } from '../helpers/context.ts';
import { closedPort, tcpServer } from '../helpers/servers.ts';

function config(targets: string[], extra: Record<string, unknown> = {}) {
  return tcp.configSchema.parse({ id: 'p', kind: 'tcp', schedule: '* * * * *', targets, ...extra });
}

describe('tcp probe against real sockets on loopback', () => {
  it('is up when the port accepts a connection', async () => {
    const { port } = await tcpServer(() => {});
    const [observation] = await tcp.run(config([`127.0.0.1:${port}`]), probeContext());
    expect(observation).toMatchObject({
      measurement: 'reachability',
      tags: { target: `127.0.0.1:${port}`, protocol: 'tcp' },
      fields: { status: 'up', up: true },
      time: new Date('2026-11-23T10:00:00Z'),
    });
    expect(observation?.fields.duration_ms).toBeGreaterThan(0);
  });

  it('checks the banner, even when it arrives in pieces', async () => {
    const { port } = await tcpServer((socket) => {
      socket.write('22');
      setTimeout(() => socket.write('0 mx.example.test ESMTP Postfix\r\nmore'), 30);
    });
    const [observation] = await tcp.run(config([`127.0.0.1:${port}`], { expectBanner: '^220 ' }), probeContext());
    expect(observation?.fields).toMatchObject({ status: 'up', up: true, banner: '220 mx.example.test ESMTP Postfix' });
  });

  it('is down, with the banner and why, when the banner does not match', async () => {
    const { port } = await tcpServer((socket) => socket.write('554 5.7.1 no SMTP service here\r\n'));
    const [observation] = await tcp.run(config([`127.0.0.1:${port}`], { expectBanner: '^220 ' }), probeContext());
    expect(observation?.fields).toMatchObject({
      status: 'down',
      up: false,
      banner: '554 5.7.1 no SMTP service here',
      reason: 'banner does not match /^220 /',
    });
  });

  it('is down when the connection is refused', async () => {
    const port = await closedPort();
    const [observation] = await tcp.run(config([`127.0.0.1:${port}`]), probeContext());
    expect(observation?.fields).toMatchObject({ status: 'down', up: false, reason: 'connection refused (ECONNREFUSED)' });
  });

  it('is down when the server says nothing within connectTimeout', async () => {
    const { port } = await tcpServer(() => {});
    const [observation] = await tcp.run(config([`127.0.0.1:${port}`], { expectBanner: '^220', connectTimeout: '200ms' }), probeContext());
    expect(observation?.fields).toMatchObject({ status: 'down', up: false, reason: 'no complete banner line within 200 ms' });
  });

  it('is down when the server hangs up before a banner line', async () => {
    const { port } = await tcpServer((socket) => socket.end());
    const [observation] = await tcp.run(config([`127.0.0.1:${port}`], { expectBanner: '^220' }), probeContext());
    expect(observation?.fields).toMatchObject({ status: 'down', up: false, reason: 'connection closed before a banner line' });
  });

  it('answers for every target in the configured order', async () => {
    const { port } = await tcpServer(() => {});
    const closed = await closedPort();
    const observations = await tcp.run(config([`127.0.0.1:${closed}`, `127.0.0.1:${port}`]), probeContext());
    expect(observations.map((o) => [o.tags.target, o.fields.status])).toEqual([
      [`127.0.0.1:${closed}`, 'down'],
      [`127.0.0.1:${port}`, 'up'],
    ]);
  });

  it('gives up at once when its run is aborted', async () => {
    const { port } = await tcpServer(() => {});
    const controller = new AbortController();
    const running = tcp.run(config([`127.0.0.1:${port}`], { expectBanner: '^220', connectTimeout: '30s' }), probeContext(controller.signal));
    setTimeout(() => controller.abort(new Error('deadline')), 50);
    await expect(running).rejects.toThrow('deadline');
  });
});

describe('tcp probe: names resolve through the configured DNS', () => {
  it('reports a resolver that does not answer as TARGET_UNRESOLVED with the DNS code', async () => {
    const silent = await fakeDns(() => ({ drop: true }));
    const dns = new DnsClient({ servers: [silent.server], timeoutMs: 200, attempts: 1 });
    onTestFinished(() => dns.close());
    const [observation] = await tcp.run(config(['mx.gmail.test:25']), probeContext(undefined, { dns }));
    expect(observation?.fields).toMatchObject({
      status: 'error',
      error_code: 'TARGET_UNRESOLVED',
      reason: `cannot resolve mx.gmail.test: DNS_TIMEOUT: no answer from 127.0.0.1:${silent.server.port} within 200 ms`,
    });
  });
});
