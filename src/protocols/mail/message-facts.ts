/**
 * What a received message's headers say about its trip: authentication as the
 * receiver saw it (Authentication-Results, read by mailauth's parser), the spam
 * filter's verdict (SpamAssassin and Rspamd headers), the receiving hop's TLS and
 * time (Received, read by mailauth's parser), the hop count.
 */
import { simpleParser } from 'mailparser';
import parseDkimHeaders from 'mailauth/lib/parse-dkim-headers.js';
import { parseReceived } from 'mailauth/lib/parse-received.js';

export interface MessageFacts {
  authservId?: string;
  spf?: string;
  dkim?: string;
  dmarc?: string;
  arc?: string;
  spamFlag?: boolean;
  spamScore?: number;
  spamStatus?: string;
  rspamdAction?: string;
  rspamdScore?: number;
  /** The receiving hop (the topmost Received) used TLS. */
  tls?: boolean;
  tlsVersion?: string;
  hops: number;
  /** The topmost Received header's time: when the receiver took the message. */
  receivedAt?: Date;
  messageId?: string;
  listUnsubscribe?: boolean;
}

/** One result per method: a pass if any entry passed (DKIM can have several signatures), else the first. */
function resultOf(entries: { value?: string }[]): string | undefined {
  const values = entries.map((item) => item.value?.toLowerCase()).filter((value): value is string => Boolean(value));
  return values.includes('pass') ? 'pass' : values[0];
}

function numberIn(text: string | undefined, pattern: RegExp): number | undefined {
  const match = text ? pattern.exec(text) : null;
  if (!match) return undefined;
  const value = Number(match[1]);
  return Number.isFinite(value) ? value : undefined;
}

/** Facts from a header block. With authservId, only that receiver's Authentication-Results count (a sender can write its own). */
export async function messageFacts(headers: Buffer, options: { authservId?: string | undefined } = {}): Promise<MessageFacts> {
  const parsed = await simpleParser(Buffer.concat([headers, Buffer.from('\r\n')]), { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true });
  const lines = parsed.headerLines;
  const value = (key: string) => {
    const line = lines.find((item) => item.key === key)?.line;
    return line === undefined
      ? undefined
      : line
          .slice(line.indexOf(':') + 1)
          .replace(/\r?\n[ \t]+/g, ' ')
          .trim();
  };
  const facts: MessageFacts = { hops: lines.filter((item) => item.key === 'received').length };

  // A receiver may write several Authentication-Results (one per checker), all with its authserv-id:
  // the topmost one's id (or the configured one) picks them; a header the sender wrote has another id.
  const allResults = lines.filter((item) => item.key === 'authentication-results').map((item) => parseDkimHeaders(item.line).parsed);
  const authservId = (options.authservId ?? allResults[0]?.value)?.toLowerCase();
  const results = allResults.filter((result) => authservId !== undefined && result.value?.toLowerCase() === authservId);
  if (results.length > 0) {
    facts.authservId = results[0]!.value!;
    for (const method of ['spf', 'dkim', 'dmarc', 'arc'] as const) {
      const outcome = resultOf(results.flatMap((result) => [result[method] ?? []].flat()));
      if (outcome) facts[method] = outcome;
    }
  }

  const spamStatus = value('x-spam-status');
  if (spamStatus) facts.spamStatus = spamStatus.slice(0, 500);
  const flag = value('x-spam-flag') ?? (spamStatus ? spamStatus.split(',')[0] : undefined);
  if (flag) facts.spamFlag = /^yes$/i.test(flag.trim());
  const score = numberIn(value('x-spam-score'), /^(-?\d+(?:\.\d+)?)/) ?? numberIn(spamStatus, /score=(-?\d+(?:\.\d+)?)/);
  if (score !== undefined) facts.spamScore = score;
  const rspamdAction = value('x-rspamd-action');
  if (rspamdAction) facts.rspamdAction = rspamdAction;
  const rspamdScore = numberIn(value('x-rspamd-score'), /^(-?\d+(?:\.\d+)?)/);
  if (rspamdScore !== undefined) facts.rspamdScore = rspamdScore;

  const top = lines.find((item) => item.key === 'received');
  const received = top ? parseReceived(top.line) : false;
  if (received) {
    const withValue = received.with?.value ?? '';
    const tlsComment = received.tls?.comment ?? '';
    facts.tls = Boolean(tlsComment) || /^(E|UTF8)SMTPS/i.test(withValue);
    const version = /TLSv?\d(?:\.\d)?/i.exec(tlsComment)?.[0];
    if (version) facts.tlsVersion = version;
    const at = received.timestamp ? Date.parse(received.timestamp.replace(/\s*\([^)]*\)\s*$/, '')) : Number.NaN;
    if (Number.isFinite(at)) facts.receivedAt = new Date(at);
  }
  const messageId = value('message-id');
  if (messageId) facts.messageId = messageId;
  facts.listUnsubscribe = lines.some((item) => item.key === 'list-unsubscribe');
  return facts;
}
