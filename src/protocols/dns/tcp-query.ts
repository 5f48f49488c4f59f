import { connect } from 'node:net';
import type { DnsServer } from './types.ts';

export type TcpResult = { kind: 'message'; message: Buffer } | { kind: 'timeout' } | { kind: 'network'; message: string } | { kind: 'aborted' };

/**
 * One query over TCP (RFC 7766 framing: a two-byte length before each message),
 * used when a UDP answer came back truncated.
 */
export function tcpQuery(server: DnsServer, framed: Buffer, timeoutMs: number, signal?: AbortSignal): Promise<TcpResult> {
  return new Promise((resolve) => {
    const socket = connect({ host: server.host, port: server.port });
    let received = Buffer.alloc(0);
    const finish = (result: TcpResult) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(result);
    };
    const onAbort = () => finish({ kind: 'aborted' });
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => socket.write(framed));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 2) return;
      const length = received.readUInt16BE(0);
      if (received.length >= length + 2) finish({ kind: 'message', message: received.subarray(2, length + 2) });
    });
    socket.once('end', () => finish({ kind: 'network', message: 'connection closed before a complete answer' }));
    socket.once('error', (error) => finish({ kind: 'network', message: error.message }));
  });
}
