/**
 * A TCP proxy in front of a real server, which a test can take down (connections
 * refused, open ones cut) and bring back: an outage without stopping the server
 * other tests use. Or stall it: connections stay open (and new ones are accepted)
 * but nothing passes either way until `flow()`, as in a partition where packets
 * are lost rather than refused — a peer waits instead of failing.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import { onTestFinished } from 'vitest';

export interface TcpProxy {
  port: number;
  url: string;
  down(): Promise<void>;
  up(): Promise<void>;
  /** Passes nothing more, either way, until flow(); connections stay open. */
  stall(): void;
  flow(): void;
}

export async function tcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const proxy = await startTcpProxy(target);
  onTestFinished(proxy.down);
  return proxy;
}

/** The proxy, without the test's clean-up (for a thread of its own: tcpProxyThread). */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  let stalled = false;
  /** Writes what `from` reads to `to`, reading no faster than `to` takes it, and nothing while stalled. */
  const forward = (from: Socket, to: Socket) => {
    from.on('data', (chunk) => {
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => {
      if (!stalled) from.resume();
    });
    from.on('end', () => to.end());
  };
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = connect(target.port, target.host);
        for (const socket of [client, upstream]) {
          // Paused before it has a 'data' listener, a socket stays paused.
          if (stalled) socket.pause();
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => {
            client.destroy();
            upstream.destroy();
          });
        }
        forward(client, upstream);
        forward(upstream, client);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  const down = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  };
  const stall = () => {
    stalled = true;
    for (const socket of sockets) socket.pause();
  };
  const flow = () => {
    stalled = false;
    for (const socket of sockets) socket.resume();
  };
  await listen();
  return { port, url: `http://127.0.0.1:${port}`, down, up: listen, stall, flow };
}

/**
 * The proxy in a thread of its own: for a test whose own thread blocks while the
 * proxy must pass bytes (the store on PostgreSQL waits on its worker synchronously).
 */
export async function tcpProxyThread(target: { host: string; port: number }): Promise<Omit<TcpProxy, 'stall' | 'flow'> & { stall(): Promise<void>; flow(): Promise<void> }> {
  const worker = new Worker(new URL('./tcp-proxy-thread.ts', import.meta.url), { workerData: target });
  let next = 0;
  const pending = new Map<number, () => void>();
  const ready = new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (message: { port?: number; done?: number }) => {
      if (message.port !== undefined) resolve(message.port);
      if (message.done !== undefined) pending.get(message.done)?.();
    });
  });
  const port = await ready;
  const ask = (op: 'down' | 'up' | 'stall' | 'flow') => {
    next += 1;
    const id = next;
    const done = new Promise<void>((resolve) => pending.set(id, resolve));
    worker.postMessage({ id, op });
    return done;
  };
  onTestFinished(async () => {
    await ask('down');
    await worker.terminate();
  });
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    down: () => ask('down'),
    up: () => ask('up'),
    // Done once the thread says so: the test's own thread may block right after.
    stall: () => ask('stall'),
    flow: () => ask('flow'),
  };
}
