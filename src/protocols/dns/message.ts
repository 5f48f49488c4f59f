import packet, { type Answer, type Packet } from 'dns-packet';
import type { DnsRecord, RecordData, RecordType } from './types.ts';
import { normalizeName } from './types.ts';

/** Advertised EDNS0 UDP payload size: the DNS flag day 2020 value, safe from fragmentation. */
const ednsPayloadSize = 1232;

export function encodeQuery(id: number, name: string, type: RecordType, edns: boolean): Buffer {
  return packet.encode({
    type: 'query',
    id,
    flags: packet.RECURSION_DESIRED,
    questions: [{ type, name, class: 'IN' }],
    ...(edns ? { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: ednsPayloadSize, flags: 0 } as Answer] } : {}),
  });
}

export function encodeTcpQuery(id: number, name: string, type: RecordType, edns: boolean): Buffer {
  const message = encodeQuery(id, name, type, edns);
  const framed = Buffer.allocUnsafe(message.length + 2);
  framed.writeUInt16BE(message.length, 0);
  message.copy(framed, 2);
  return framed;
}

/** A decoded response: dns-packet also gives the response code, which its types omit. */
export type Response = Packet & { rcode?: string };

const ttlOf = (record: Answer) => (record as { ttl?: number }).ttl ?? 0;

/** Decodes a response; undefined when it is not a DNS message at all. */
export function decodeResponse(message: Buffer): Response | undefined {
  try {
    const decoded = packet.decode(message) as Response;
    return decoded.type === 'response' ? decoded : undefined;
  } catch {
    return undefined;
  }
}

/** True when the response's question is the one asked; `name` is normalized (DNS names compare case-insensitively). */
export function answersQuestion(response: Packet, name: string, type: RecordType): boolean {
  const question = response.questions?.[0];
  return question !== undefined && question.type === type && normalizeName(question.name) === name;
}

export function isTruncated(response: Packet): boolean {
  return ((response.flags ?? 0) & packet.TRUNCATED_RESPONSE) !== 0;
}

function dataOf(answer: Answer): RecordData {
  const data = (answer as { data?: unknown }).data;
  if (answer.type === 'TXT') return (Array.isArray(data) ? data : [data]).map((chunk) => (Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk)));
  if (answer.type === 'MX') return { preference: (data as { preference: number }).preference, exchange: normalizeName((data as { exchange: string }).exchange) };
  if (answer.type === 'SOA') return data as RecordData;
  if (answer.type === 'PTR' || answer.type === 'NS' || answer.type === 'CNAME') return normalizeName(String(data));
  return String(data);
}

/** The records of the type asked for (after any CNAME chain a recursive resolver followed). */
export function recordsOf(response: Packet, type: RecordType): DnsRecord[] {
  return (response.answers ?? []).filter((answer) => answer.type === type).map((answer) => ({ name: normalizeName(answer.name), type, ttl: ttlOf(answer), data: dataOf(answer) }));
}

/** RFC 2308: a negative answer may be cached for min(SOA TTL, SOA minimum); without an SOA, not at all. */
export function negativeTtl(response: Packet): number {
  const soa = (response.authorities ?? []).find((record) => record.type === 'SOA') as (Answer & { data: { minimum: number } }) | undefined;
  return soa ? Math.min(ttlOf(soa), soa.data.minimum) : 0;
}
