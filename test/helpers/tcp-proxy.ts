/**
 * A TCP proxy in front of a real server, which a test can take down (connections
 * refused, open ones cut) and bring back: an outage without stopping the server
 * other tests use. Or stall it: connections stay open (and new ones are accepted)
 * but nothing passes either way until `flow()`, as in a partition where packets
 * are lost rather than refused — a peer waits instead of failing.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
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
  onTestFinished(down);
  return { port, url: `http://127.0.0.1:${port}`, down, up: listen, stall, flow };
}
