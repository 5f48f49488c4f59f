import { connect, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { tcpProxy } from './tcp-proxy.ts';

/** An echo server on port 0. */
async function echoServer(): Promise<Server> {
  const server = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

/** A connection through the proxy, with everything it has received so far. */
async function open(port: number): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk) => {
    received += chunk.toString();
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return { socket, received: () => received, closed };
}

async function until(check: () => boolean, limitMs = 2_000): Promise<void> {
  const deadline = performance.now() + limitMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error('timed out');
    await sleep(10);
  }
}

describe('tcpProxy', () => {
  it('passes bytes both ways, cuts and refuses when down, and passes them again when up', async () => {
    const server = await echoServer();
    servers.push(server);
    const proxy = await tcpProxy({ host: '127.0.0.1', port: (server.address() as { port: number }).port });
    const first = await open(proxy.port);
    first.socket.write('ping');
    await until(() => first.received() === 'ping');
    await proxy.down();
    await first.closed;
    await expect(open(proxy.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await proxy.up();
    const second = await open(proxy.port);
    second.socket.write('again');
    await until(() => second.received() === 'again');
    second.socket.destroy();
  });

  it('passes nothing while stalled, keeping connections (old and new) open, and delivers what waited when it flows', async () => {
    const server = await echoServer();
    servers.push(server);
    const proxy = await tcpProxy({ host: '127.0.0.1', port: (server.address() as { port: number }).port });
    const old = await open(proxy.port);
    proxy.stall();
    old.socket.write('held');
    const fresh = await open(proxy.port);
    fresh.socket.write('new');
    await sleep(200);
    expect([old.received(), fresh.received(), old.socket.destroyed, fresh.socket.destroyed]).toEqual(['', '', false, false]);
    proxy.flow();
    await until(() => old.received() === 'held' && fresh.received() === 'new');
    old.socket.destroy();
    fresh.socket.destroy();
  });
});
