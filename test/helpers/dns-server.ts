/**
 * An in-process DNS server on 127.0.0.1 (UDP and TCP on one port), for the
 * faults a real server will not produce on demand: silence, SERVFAIL, garbage,
 * an answer to another question, truncation, odd answers.
 */
import { createSocket, type RemoteInfo } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import packet, { type Answer, type Packet } from 'dns-packet';
import { onTestFinished } from 'vitest';
import type { DnsServer } from '../../src/protocols/dns/types.ts';

export const rcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export interface Query {
  id: number;
  name: string;
  type: string;
  transport: 'udp' | 'tcp';
  edns: number | undefined;
}

export type Reply =
  | { drop: true }
  | { raw: Buffer }
  | {
      rcode?: keyof typeof rcode;
      answers?: Answer[];
      authorities?: Answer[];
      truncated?: boolean;
      /** Answer a different question than the one asked (same id). */
      question?: { name: string; type: string };
      /** Reply from another socket (another source port) than the one asked. */
      fromOtherPort?: boolean;
      delayMs?: number;
    };

export type Handler = (query: Query) => Reply | Promise<Reply>;

export interface FakeDns {
  server: DnsServer;
  queries: Query[];
  /** Most queries seen outstanding (received, not yet answered) at once. */
  maxOutstanding: number;
  /** One id in use for two different questions at once: must stay 0. */
  idCollisions: number;
  /** The same query (id and question) received again while outstanding: a client's resend. */
  resends: number;
}

export const a = (name: string, address: string, ttl = 60): Answer => ({ type: 'A', name, ttl, data: address }) as Answer;
export const txt = (name: string, text: string, ttl = 60): Answer => ({ type: 'TXT', name, ttl, data: [text] }) as Answer;
export const soa = (zone: string, minimum: number, ttl = minimum): Answer =>
  ({ type: 'SOA', name: zone, ttl, data: { mname: `ns.${zone}`, rname: `hostmaster.${zone}`, serial: 1, refresh: 60, retry: 60, expire: 3600, minimum } }) as Answer;

function build(request: Packet, reply: Exclude<Reply, { drop: true } | { raw: Buffer }>): Buffer {
  const question = request.questions![0]!;
  return packet.encode({
    type: 'response',
    id: request.id!,
    flags: (reply.truncated ? packet.TRUNCATED_RESPONSE : 0) | packet.RECURSION_AVAILABLE | rcode[reply.rcode ?? 'NOERROR'],
    questions: [reply.question ? ({ name: reply.question.name, type: reply.question.type, class: 'IN' } as typeof question) : question],
    answers: reply.answers ?? [],
    authorities: reply.authorities ?? [],
  });
}

export async function fakeDns(handler: Handler): Promise<FakeDns> {
  const state: FakeDns = { server: { host: '127.0.0.1', port: 0 }, queries: [], maxOutstanding: 0, idCollisions: 0, resends: 0 };
  const outstanding = new Map<number, string>();
  let udp = createSocket('udp4');
  const other = createSocket('udp4');

  const handle = async (message: Buffer, transport: 'udp' | 'tcp', send: (data: Buffer, fromOther: boolean) => void) => {
    let request: Packet;
    try {
      request = packet.decode(message);
    } catch {
      return;
    }
    const question = request.questions?.[0];
    if (!question) return;
    const opt = request.additionals?.find((record) => record.type === 'OPT') as { udpPayloadSize?: number } | undefined;
    const query: Query = { id: request.id!, name: question.name, type: question.type, transport, edns: opt?.udpPayloadSize };
    state.queries.push(query);
    if (transport === 'udp') {
      const question = `${query.name} ${query.type}`;
      const before = outstanding.get(query.id);
      if (before === undefined) outstanding.set(query.id, question);
      else if (before === question) state.resends++;
      else state.idCollisions++;
      state.maxOutstanding = Math.max(state.maxOutstanding, outstanding.size);
    }
    const reply = await handler(query);
    if ('drop' in reply) return;
    if ('delayMs' in reply && reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
    outstanding.delete(query.id);
    if ('raw' in reply) send(reply.raw, false);
    else send(build(request, reply), Boolean(reply.fromOtherPort));
  };

  const onMessage = (message: Buffer, remote: RemoteInfo) => {
    void handle(message, 'udp', (data, fromOther) => (fromOther ? other : udp).send(data, remote.port, remote.address));
  };
  await new Promise<void>((resolve) => other.bind(0, '127.0.0.1', resolve));

  const tcp: Server = createServer((socket) => {
    let buffered = Buffer.alloc(0);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= buffered.readUInt16BE(0) + 2) {
        const length = buffered.readUInt16BE(0);
        const message = buffered.subarray(2, length + 2);
        buffered = buffered.subarray(length + 2);
        void handle(message, 'tcp', (data) => {
          const framed = Buffer.alloc(data.length + 2);
          framed.writeUInt16BE(data.length, 0);
          data.copy(framed, 2);
          socket.write(framed);
        });
      }
    });
  });
  // UDP and TCP on one port: the UDP port the system picks may be taken for TCP by
  // another process (another test file's connections); then pick again.
  for (let attempt = 1; ; attempt++) {
    udp.on('message', onMessage);
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    // A burst of a thousand queries overflows the default receive buffer (about 200 datagrams).
    udp.setRecvBufferSize(4 * 1024 * 1024);
    state.server.port = udp.address().port;
    const listened = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      tcp.once('error', resolve);
      tcp.listen(state.server.port, '127.0.0.1', () => {
        tcp.off('error', resolve);
        resolve(undefined);
      });
    });
    if (!listened) break;
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (listened.code !== 'EADDRINUSE' || attempt === 10) throw listened;
    udp = createSocket('udp4');
  }

  onTestFinished(async () => {
    udp.close();
    other.close();
    await new Promise((resolve) => tcp.close(resolve));
  });
  return state;
}
