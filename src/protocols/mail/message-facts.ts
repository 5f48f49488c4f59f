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

/**
 * Whether a Received line says TLS: a protocol of RFC 3848 / 8314 with the S (ESMTPS, ESMTPSA,
 * UTF8SMTPS, Gmail's SMTPS, Microsoft's HTTPS), or a comment that names a TLS version or cipher (Postfix's "using TLSv1.3
 * with cipher", Exchange's "version=TLS1_2, cipher=", Gmail's "Google Transport Security"). mailauth's
 * parser takes any trailing comment for the TLS one: Microsoft's "with Microsoft SMTPSVC(6.0...)" is no TLS.
 */
function usedTls(protocol: string, comment: string): boolean {
  if (/^(?:(?:E|UTF8)?(?:SMTP|LMTP)SA?|HTTPS)$/i.test(protocol.trim().split(/\s+/)[0] ?? '')) return true;
  return /\b(?:TLS|SSL)v?\d|\bversion=|\bcipher[= ]|Google Transport Security/i.test(comment);
}

/** A TLS version in the TLSv1.2 form: TLS1_2 (Exchange, Gmail), TLSv1.3 (Postfix), TLS1.3 (Exim), TLSv1 (1.0). */
function tlsVersion(text: string): string | undefined {
  const match = /\b(TLS|SSL)v?(\d)(?:[._](\d))?(?!\d)/i.exec(text);
  if (!match) return undefined;
  const name = match[1]!.toUpperCase();
  return name === 'SSL' ? `SSLv${match[2]}${match[3] ? `.${match[3]}` : ''}` : `TLSv${match[2]}.${match[3] ?? '0'}`;
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
  // Legacy headers (Microsoft 365, older filters) have no authserv-id at all: with no configured id,
  // they count when the topmost one is such a header.
  const allResults = lines.filter((item) => item.key === 'authentication-results').map((item) => parseDkimHeaders(item.line).parsed);
  const idOf = (result: { value?: string }) => (result.value && !result.value.includes('=') ? result.value.toLowerCase() : undefined);
  const authservId = options.authservId?.toLowerCase() ?? (allResults[0] ? (idOf(allResults[0]) ?? null) : undefined);
  const results = allResults.filter((result) => (authservId === null ? idOf(result) === undefined : authservId !== undefined && idOf(result) === authservId));
  if (results.length > 0) {
    if (authservId) facts.authservId = results[0]!.value!;
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

  // The receiving hop: the topmost Received that names where the message came from (Gmail adds an
  // internal "Received: by 2002:a05:... with SMTP id ..." above it, with no from and no TLS to speak of).
  const hops = lines.filter((item) => item.key === 'received').flatMap((item) => parseReceived(item.line) || []);
  const received = hops.find((hop) => hop.from) ?? hops[0];
  if (received) {
    facts.tls = usedTls(received.with?.value ?? '', received.tls?.comment ?? '');
    if (facts.tls) {
      const version = tlsVersion(received.tls?.comment ?? '') ?? tlsVersion(received.full ?? '');
      if (version) facts.tlsVersion = version;
    }
    const at = received.timestamp ? Date.parse(received.timestamp.replace(/\s*\([^)]*\)\s*$/, '')) : Number.NaN;
    if (Number.isFinite(at)) facts.receivedAt = new Date(at);
  }
  const messageId = value('message-id');
  if (messageId) facts.messageId = messageId;
  facts.listUnsubscribe = lines.some((item) => item.key === 'list-unsubscribe');
  return facts;
}
