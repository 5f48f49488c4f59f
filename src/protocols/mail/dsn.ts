/**
 * Bounces: delivery status notifications (RFC 3464) and the bounces that are not
 * one. The report part (message/delivery-status or message/global-delivery-status)
 * is looked for wherever it is: the multipart/report itself, one nested in a
 * multipart/mixed, one forwarded as a message/rfc822 attachment. Its field groups
 * are read as MTAs write them, not only as the RFC does: groups without blank
 * lines between them, comments after Action and Status, type prefixes and folded
 * Diagnostic-Codes. When the report part is empty or missing (qmail, older
 * Exchange, a forwarded text bounce), the recipients are read from the
 * human-readable text ("<user@example.com>: host ... said: 550 5.1.1 ...").
 */
import type { BounceReport, DsnRecipient } from '../reports/types.ts';
import { addressesIn, bodyText, bytesToText, decodedBody, entities, fieldLines, headerText, type MimeEntity, originalHeaders, parseDate, parseMime } from './mime.ts';
import { peerField } from './peer-text.ts';

const statusTypes = /^message\/(?:global-)?delivery-status$/;
/** Fields of the per-message group (RFC 3464 2.2) */
const perMessageFields = new Set(['reporting-mta', 'dsn-gateway', 'received-from-mta', 'arrival-date', 'original-envelope-id']);
const diagnosticLength = 1_000;
/** Human-readable text read for recipients, at most */
const textWindow = 65_536;

/** An address field of a DSN ("rfc822; <User@Example.com>"): its type prefix, angle brackets and case removed. */
function addressOf(value: string): string | undefined {
  const bare = value
    .slice(0, 2_048)
    .replace(/^[a-z0-9-]+\s*;/i, '')
    .trim()
    .replace(/^<\s*(.*?)\s*>$/, '$1')
    .toLowerCase();
  return peerField(bare, 320);
}

/** A typed field without its type ("dns; mx.example.com", "smtp; 550 ..."). */
const untyped = (value: string) => value.replace(/^[a-z0-9-]+\s*;\s*/i, '');

/** A host named by a DSN field ("dns; mx.example.org. (192.0.2.30, the server for the domain)"): type, comments and the root's dot removed. */
const hostOf = (value: string) =>
  peerField(
    untyped(value.slice(0, 2_048))
      .replace(/\([^)]*\)/g, ' ')
      .trim()
      .replace(/\.$/, ''),
  );

/**
 * A reply, cleaned and bounded; a multiline one (550-5.1.1 ... 550-5.1.1 ... 550 5.1.1 ...)
 * as one sentence behind its codes: "550 5.1.1 The email account ... does not exist. Please try ...".
 */
function replyText(text: string): string | undefined {
  const reply = peerField(text, diagnosticLength * 2);
  const codes = reply ? /^([2-5]\d\d)[ -](?:([2-5]\.\d{1,3}\.\d{1,3}) )?/.exec(reply) : null;
  if (!reply || !codes) return reply ? peerField(reply, diagnosticLength) : undefined;
  const repeated = new RegExp(`\\s${codes[1]}[ -](?:${(codes[2] ?? '').replace(/\./g, '\\.')} )?`, 'g');
  const rest = reply.slice(codes[0].length).replace(repeated, ' ');
  return peerField(`${codes[1]} ${codes[2] ? `${codes[2]} ` : ''}${rest}`, diagnosticLength);
}

/** The enhanced status code in a text (5.1.1), if any. */
const enhancedCode = (text: string) => /(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?![\d.]*\d)/.exec(text)?.[1];

/** An action as written ("failed (permanent)", "Failed"), or one inferred from the status class. */
function actionOf(action: string | undefined, status: string | undefined): string | undefined {
  const written = action
    ?.replace(/\([^)]*\)/g, ' ')
    .trim()
    .split(/\s+/)[0]
    ?.toLowerCase();
  if (written && /^[a-z-]{1,20}$/.test(written)) return written;
  if (status?.startsWith('5')) return 'failed';
  if (status?.startsWith('4')) return 'delayed';
  if (status?.startsWith('2')) return 'delivered';
  return undefined;
}

interface StatusFields {
  perMessage: Map<string, string>;
  groups: Map<string, string>[];
}

/**
 * The groups of a delivery-status part. A blank line ends a group; so does a new
 * recipient where MTAs leave the blank line out: an Original-Recipient when the
 * group already has a recipient, a Final-Recipient when it already has one.
 */
function statusFields(text: string): StatusFields {
  const perMessage = new Map<string, string>();
  const groups: Map<string, string>[] = [];
  let group: Map<string, string> | undefined;
  for (const field of fieldLines(text)) {
    if (field === null) {
      group = undefined;
      continue;
    }
    const { key, raw } = field;
    const startsRecipient =
      (key === 'original-recipient' && group !== undefined && (group.has('original-recipient') || group.has('final-recipient'))) || (key === 'final-recipient' && group?.has('final-recipient'));
    if (startsRecipient) group = undefined;
    if (!group) {
      if (perMessageFields.has(key) || (groups.length === 0 && key !== 'original-recipient' && key !== 'final-recipient' && !/^(?:action|status|diagnostic-code|remote-mta)$/.test(key))) {
        if (!perMessage.has(key)) perMessage.set(key, raw);
        continue;
      }
      group = new Map();
      groups.push(group);
    }
    if (!group.has(key)) group.set(key, raw);
  }
  return { perMessage, groups };
}

function recipientOf(fields: Map<string, string>): DsnRecipient | undefined {
  const original = fields.has('original-recipient') ? addressOf(fields.get('original-recipient')!) : undefined;
  const final = (fields.has('final-recipient') ? addressOf(fields.get('final-recipient')!) : undefined) ?? original;
  if (!final) return undefined;
  const diagnostic = fields.has('diagnostic-code') ? replyText(untyped(fields.get('diagnostic-code')!.slice(0, diagnosticLength * 4))) : undefined;
  const status = enhancedCode(fields.get('status')?.slice(0, 200) ?? '') ?? (diagnostic ? enhancedCode(diagnostic) : undefined);
  const action = actionOf(fields.get('action')?.slice(0, 200), status);
  if (!action) return undefined;
  const recipient: DsnRecipient = { final, action };
  if (original) recipient.original = original;
  if (status) recipient.status = status;
  if (diagnostic) recipient.diagnostic = diagnostic;
  const remoteMta = fields.has('remote-mta') ? hostOf(fields.get('remote-mta')!) : undefined;
  if (remoteMta) recipient.remoteMta = remoteMta;
  return recipient;
}

// Where a text bounce starts quoting the message it returns.
const copyMarker =
  /^[ \t]*(?:-{2,}\s*Below this line is a copy of the message|-{2,}\s*This is a copy of the message|-{2,}\s*Original message follows|-{2,}\s*Returned message|-{2,}\s*Original message\s*-{2,}|-{2,}\s*The header of the original message is following)/im;

const address = /[^\s<>"(),;:[\]@]+@[^\s<>"(),;:[\]@]+[a-z0-9]/i;

/**
 * Recipients named in a bounce's text: a line that starts with an address
 * (Postfix and qmail "<user@example.com>: ...", Exim's indented address, Exchange's
 * "user@example.com on 11/23/2026"), with what follows it up to a blank line: the
 * status (5.1.1), the reply (550 ...); else a line that names an address beside a
 * reply code or a word of delivery.
 */
export function textRecipients(text: string, ignore: string[] = []): DsnRecipient[] {
  const bounded = text.slice(0, textWindow);
  const marker = copyMarker.exec(bounded);
  const lines = (marker ? bounded.slice(0, marker.index) : bounded).split(/\r?\n/);
  const skip = new Set(ignore.map((item) => item.toLowerCase()));
  const usable = (candidate: string) => !skip.has(candidate) && !/^(?:postmaster|mailer-daemon|abuse)@/i.test(candidate);
  const starts: { line: number; address: string; rest: string; indent: number }[] = [];
  const indentOf = (line: string) => (/^[ \t]*/.exec(line)?.[0] ?? '').replace(/\t/g, '        ').length;
  // The block of the last address: until a blank line; a line indented under it continues it, even one that starts with an address.
  let open: { indent: number } | undefined;
  lines.forEach((line, index) => {
    if (line.trim() === '') {
      open = undefined;
      return;
    }
    if (open && indentOf(line) > open.indent) return;
    const match = /^([ \t]*)<?([^\s<>"(),;:[\]@]+@[^\s<>"(),;:[\]@]+?)>?\.?(?::|\s|$)(.*)$/.exec(line.slice(0, 2_048));
    if (!match || !address.test(match[2]!)) return;
    const candidate = match[2]!.toLowerCase();
    if (!usable(candidate)) return;
    open = { indent: indentOf(line) };
    starts.push({ line: index, address: candidate, rest: match[3]!, indent: open.indent });
  });
  const recipients: DsnRecipient[] = [];
  const seen = new Set<string>();
  const add = (candidate: string, block: string[], indent: number) => {
    if (seen.has(candidate)) return;
    seen.add(candidate);
    const final = peerField(candidate, 320);
    if (!final) return;
    // Postfix: "<user@example.com> (expanded from <alias@example.com>): host ..."
    const expanded = /^\s*\(expanded from <([^<>\s]+@[^<>\s]+)>\)/.exec(block[0] ?? '');
    const original = expanded ? peerField(expanded[1]!.toLowerCase(), 320) : undefined;
    const joined = block.join('\n');
    const status = enhancedCode(joined);
    // The reply: from its code to the end of its line, and the lines indented under the address's that follow it.
    let diagnostic: string | undefined;
    const at = block.findIndex((line) => /(?<![\d.])[45]\d\d[ -]/.test(line));
    if (at >= 0) {
      const first = block[at]!.slice(block[at]!.search(/(?<![\d.])[45]\d\d[ -]/));
      const more: string[] = [];
      for (const line of block.slice(at + 1)) {
        if (indentOf(line) <= indent) break;
        more.push(line);
      }
      diagnostic = replyText([first, ...more].join(' '))?.replace(/^([^<]*)>$/, '$1');
    } else diagnostic = peerField(block.join(' ').replace(/^[\s:]+/, ''), diagnosticLength);
    const action = status?.startsWith('4') || (!status && /\b(?:delayed|will (?:be )?retr|still trying|temporar)/i.test(joined)) ? 'delayed' : 'failed';
    const recipient: DsnRecipient = { final, action };
    if (original) recipient.original = original;
    if (status) recipient.status = status;
    if (diagnostic) recipient.diagnostic = diagnostic;
    recipients.push(recipient);
  };
  if (starts.length > 0) {
    starts.forEach((start, index) => {
      const block = [start.rest];
      const end = starts[index + 1]?.line ?? lines.length;
      for (let line = start.line + 1; line < end && lines[line]!.trim() !== ''; line++) block.push(lines[line]!);
      add(start.address, block, start.indent);
    });
    return recipients;
  }
  // No line starts with an address: one named in a sentence about the delivery ("wasn't delivered to user@example.com").
  const paragraphs = lines.join('\n').split(/\n[ \t]*\n/);
  for (const paragraph of paragraphs) {
    for (const match of paragraph.matchAll(new RegExp(address.source, 'gi'))) {
      const candidate = match[0].toLowerCase();
      if (!usable(candidate) || !/\b(?:deliver|recipient|address|mailbox|user)|(?<![\d.])[45]\d\d[ -]/i.test(paragraph)) continue;
      // Its status and reply may be in another paragraph ("The response was: 550 5.1.1 ..."): the whole text is the block.
      add(candidate, lines, 0);
    }
  }
  return recipients;
}

/** The human-readable text of a bounce: its text/plain parts, not those of a message it encloses. */
function humanText(entity: MimeEntity): string {
  if (entity.type === 'text/plain' && !entity.message) return bodyText(entity).slice(0, textWindow);
  if (!entity.type.startsWith('multipart/')) return '';
  const texts: string[] = [];
  for (const part of entity.parts) {
    if (statusTypes.test(part.type) || part.message) continue;
    const text = humanText(part);
    if (text) texts.push(text);
    // multipart/alternative: the plain text is enough.
    if (entity.type === 'multipart/alternative' && text) break;
  }
  return texts.join('\n\n').slice(0, textWindow);
}

/** The message a bounce returns: an enclosed message (or its headers), else one quoted after a text bounce's marker. */
function returnedMessage(entity: MimeEntity, text: string): MimeEntity | undefined {
  const enclosed = entity.message ?? entity.parts.find((part) => part.message)?.message;
  if (enclosed) return enclosed;
  const marker = copyMarker.exec(text);
  if (!marker) return undefined;
  const quoted = text
    .slice(marker.index)
    .replace(/^[^\n]*\n/, '')
    .replace(/^\s*\n/, '');
  const returned = parseMime(quoted, { maxDepth: 1, maxEntities: 1 });
  return returned.headers.some((field) => field.key === 'message-id' || field.key === 'from' || field.key === 'subject') ? returned : undefined;
}

/** A mail that says it is a bounce: a bounce's subject, from a mailer daemon, the null sender or an auto-submitter. */
function looksLikeBounce(message: MimeEntity): boolean {
  const subject = headerText(message, 'subject') ?? '';
  const from = headerText(message, 'from') ?? '';
  const returnPath = headerText(message, 'return-path');
  const automatic = /^auto-/i.test(headerText(message, 'auto-submitted')?.trim() ?? '');
  const daemon = /\b(?:mailer-daemon|postmaster|mail delivery (?:subsystem|system|service)|microsoftexchange[0-9a-f]*|mail administrator)\b/i.test(from);
  const bounceSubject =
    /undeliver|delivery (?:status notification|failure|failed|has failed|problem|incomplete|report)|returned mail|failure notice|non-?delivery|could not be delivered|mail delivery failed|returned to sender|rejected:/i.test(
      subject,
    );
  return bounceSubject && (daemon || automatic || returnPath?.trim() === '<>');
}

/** The report part and the entities around it: the multipart that holds it, the message that carries that multipart. */
interface Located {
  /** The message (root or enclosed) whose body holds the report */
  message: MimeEntity;
  /** The multipart/report (or another multipart) that holds the status part; the message itself for a bare status part */
  container: MimeEntity;
  status?: MimeEntity;
}

function locate(root: MimeEntity): Located | undefined {
  const visit = (entity: MimeEntity, message: MimeEntity): Located | undefined => {
    if (statusTypes.test(entity.type)) return { message, container: entity, status: entity };
    if (entity.type.startsWith('multipart/')) {
      const status = entity.parts.find((part) => statusTypes.test(part.type));
      if (status) return { message, container: entity, status };
      const reportType = entity.params['report-type']?.toLowerCase();
      if (entity.type === 'multipart/report' && reportType === 'delivery-status') return { message, container: entity };
      // A report of another kind (a feedback report) returns a message: no bounce of ours is in it.
      if (entity.type === 'multipart/report' && reportType) return undefined;
      for (const part of entity.parts) {
        const found = visit(part, message);
        if (found) return found;
      }
    }
    if (entity.message) return visit(entity.message, entity.message);
    return undefined;
  };
  return visit(root, root);
}

function reportOf(message: MimeEntity, located: { container: MimeEntity; status?: MimeEntity }): BounceReport {
  const fields = located.status ? statusFields(bytesToText(decodedBody(located.status))) : { perMessage: new Map<string, string>(), groups: [] };
  const text = located.container === located.status ? '' : humanText(located.container);
  let recipients = fields.groups.map(recipientOf).filter((recipient): recipient is DsnRecipient => recipient !== undefined);
  if (recipients.length === 0) recipients = textRecipients(text, ignoredAddresses(message));
  // Exim and Gmail name the failed recipients in a header too: enough when the text names none.
  if (recipients.length === 0) recipients = addressesIn(headerText(message, 'x-failed-recipients') ?? '').map((final) => ({ final, action: 'failed' }));
  const report: BounceReport = { kind: 'dsn', recipients, original: {} };
  const reportingMta = fields.perMessage.get('reporting-mta');
  if (reportingMta) {
    const mta = hostOf(reportingMta);
    if (mta) report.reportingMta = mta;
  }
  const arrivalDate = parseDate(fields.perMessage.get('arrival-date')) ?? parseDate(headerText(message, 'date'));
  if (arrivalDate) report.arrivalDate = arrivalDate;
  const returned = located.container === located.status ? undefined : returnedMessage(located.container, text);
  if (returned) {
    const { from, messageId, subject, campaign, feedbackId, listId } = originalHeaders(returned);
    report.original = {
      ...(from ? { from } : {}),
      ...(messageId ? { messageId } : {}),
      ...(subject ? { subject } : {}),
      ...(campaign ? { campaign } : {}),
      ...(feedbackId ? { feedbackId } : {}),
      ...(listId ? { listId } : {}),
    };
  }
  return report;
}

/** The bounce's own addresses (its From and To: the daemon and the sender it returns to), never a failed recipient. */
function ignoredAddresses(message: MimeEntity): string[] {
  return ['from', 'to', 'reply-to'].flatMap((key) => addressesIn(headerText(message, key) ?? ''));
}

/**
 * The bounce a mail carries; undefined when the mail is not a bounce. A DSN's
 * report part is read wherever it is; a bounce without one (or with an empty one)
 * is read from its text, and is a bounce only when it names a recipient.
 */
export async function readDsn(message: Buffer): Promise<BounceReport | undefined> {
  const root = parseMime(message);
  const located = locate(root);
  if (located) return reportOf(located.message, located);
  // No report part: a text bounce, or a forwarded one (the first message of a multipart/mixed, or the enclosed one).
  const otherReport = root.type === 'multipart/report' && root.params['report-type']?.toLowerCase() !== 'delivery-status';
  const enclosed = otherReport ? [] : [...entities(root)].filter((entity) => entity.message).map((entity) => entity.message!);
  const candidates = [root, ...enclosed].slice(0, 8);
  for (const candidate of candidates) {
    if (!looksLikeBounce(candidate)) continue;
    const report = reportOf(candidate, { container: candidate });
    if (report.recipients.length > 0) return report;
  }
  return undefined;
}
