/**
 * Complaint feedback (RFC 5965 ARF): a multipart/report with report-type
 * feedback-report, its message/feedback-report part and the original message
 * (or its headers). Read as reporters send it, not only as the RFC does: the
 * report-type parameter missing, the feedback part's fields lower-cased or not
 * separated from its MIME headers by a blank line, Source-IP in brackets, the
 * original attached as an .eml file (Microsoft JMRP), an ARF forwarded inside a
 * multipart/mixed, the recipient redacted (kept as the reporter gave it).
 */
import { isIP } from 'node:net';
import { getDomain } from 'tldts';
import { type ComplaintReport, ReportRefused } from '../reports/types.ts';
import { addressesIn, bytesToText, decodedBody, decodeWords, entities, fieldLines, headerText, type MimeEntity, originalHeaders, parseDate, parseMime } from './mime.ts';
import { peerField } from './peer-text.ts';

const feedbackType = 'message/feedback-report';
/** Most values read of a field that may repeat (Reported-URI, Original-Rcpt-To) */
const maxRepeats = 20;

interface Located {
  /** The message (root or enclosed) whose body holds the report: its From is the reporter */
  message: MimeEntity;
  /** The multipart that holds the feedback part (the feedback part itself when it is the whole message) */
  container: MimeEntity;
  feedback?: MimeEntity;
}

/** The fields of a part, as text: the part's own headers (a part without the blank line has its fields there), then its body's. */
function partFields(part: MimeEntity): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  const lines = [...part.headers.filter((field) => !/^(?:content-|mime-version$)/.test(field.key)), ...fieldLines(bytesToText(decodedBody(part)))];
  for (const field of lines) {
    if (!field) continue;
    const values = fields.get(field.key) ?? [];
    if (values.length < maxRepeats) values.push(decodeWords(bytesToText(field.raw.slice(0, 65_536))));
    fields.set(field.key, values);
  }
  return fields;
}

function locate(root: MimeEntity): Located | undefined {
  const visit = (entity: MimeEntity, message: MimeEntity): Located | undefined => {
    if (entity.type === feedbackType) return { message, container: entity, feedback: entity };
    if (entity.type.startsWith('multipart/')) {
      const feedback = entity.parts.find((part) => part.type === feedbackType);
      if (feedback) return { message, container: entity, feedback };
      const reportType = entity.params['report-type']?.toLowerCase();
      if (entity.type === 'multipart/report' && reportType === 'feedback-report') {
        // The feedback part under another type (text/plain): the part whose fields have a Feedback-Type.
        const labelled = entity.parts.find((part) => !part.message && !part.type.startsWith('multipart/') && partFields(part).has('feedback-type'));
        return { message, container: entity, ...(labelled ? { feedback: labelled } : {}) };
      }
      // A report of another kind (a DSN) may return a message that was a complaint: not this mail's.
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

/** A Source-IP as reporters write it ("[192.0.2.10]", "IPv6:2001:db8::1", "192.0.2.10 (mta1.example.com)"); undefined when it is no address. */
function sourceIpOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const bare = value
    .slice(0, 200)
    .replace(/\([^)]*\)/g, ' ')
    .trim()
    .split(/\s+/)[0]!
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/^ipv6:/i, '');
  return isIP(bare) ? bare.toLowerCase() : undefined;
}

/** An address field of the report ("<bounce@example.com>"): angle brackets removed, otherwise as given, bounded. */
const envelopeAddress = (value: string | undefined) => peerField(value?.trim().replace(/^<\s*(.*?)\s*>$/, '$1'), 320);

/** The domain of a host or an address, lower-cased. */
const domainOf = (text: string) => {
  const host = text.slice(text.lastIndexOf('@') + 1).toLowerCase();
  return /^[a-z0-9.-]+$/.test(host) ? host.replace(/\.$/, '') : undefined;
};

/** The complaint a mail carries; undefined when the mail is not a feedback report; throws ReportRefused('malformed') when it is one but cannot be read. */
export async function parseArf(message: Buffer): Promise<ComplaintReport | undefined> {
  const root = parseMime(message);
  const located = locate(root);
  if (!located) return undefined;
  const fields = located.feedback ? partFields(located.feedback) : new Map<string, string[]>();
  const first = (key: string) => fields.get(key)?.[0];
  const type = peerField(
    first('feedback-type')
      ?.replace(/\([^)]*\)/g, ' ')
      .trim()
      .split(/\s+/)[0]
      ?.toLowerCase(),
    64,
  );
  if (!type) {
    throw new ReportRefused('malformed', located.feedback ? 'the feedback report has no Feedback-Type field' : 'the feedback report (report-type=feedback-report) has no message/feedback-report part');
  }
  const report: ComplaintReport = { kind: 'arf', feedbackType: type, original: {} };
  const set = <K extends keyof ComplaintReport>(key: K, value: ComplaintReport[K] | undefined) => {
    if (value !== undefined) report[key] = value;
  };
  set('userAgent', peerField(first('user-agent')));
  set('version', peerField(first('version'), 32));
  const incidents = Number(first('incidents')?.trim());
  if (Number.isSafeInteger(incidents) && incidents > 0) report.incidents = incidents;
  set('arrivalDate', parseDate(first('arrival-date') ?? first('received-date')) ?? parseDate(headerText(located.message, 'date')));
  set('sourceIp', sourceIpOf(first('source-ip')));
  set('originalMailFrom', envelopeAddress(first('original-mail-from')));
  set('originalRcptTo', envelopeAddress(first('original-rcpt-to')));
  const uris = (fields.get('reported-uri') ?? []).map((uri) => peerField(uri.replace(/^<(.*)>$/, '$1'), 1_024)).filter((uri): uri is string => uri !== undefined);
  if (uris.length > 0) report.reportedUris = uris;
  set('authenticationResults', peerField(first('authentication-results'), 1_000));

  // The reporter: the base domain of the report's From (feedback@arf.mail.yahoo.com is yahoo.com).
  const reporterHost = addressesIn(headerText(located.message, 'from') ?? '')
    .map(domainOf)
    .find((host) => host !== undefined);
  if (reporterHost) set('reporter', peerField(getDomain(reporterHost) ?? reporterHost));

  // The original: the part after the feedback part, else any message the report mail encloses.
  const enclosed = (
    located.container.parts.find((part) => part.message && part !== located.feedback) ?? [...entities(located.message)].find((entity) => entity.message && entity !== located.container)
  )?.message;
  if (enclosed) report.original = originalHeaders(enclosed);
  const reportedDomain = first('reported-domain') ?? (report.original.from ? domainOf(addressesIn(report.original.from)[0] ?? '') : undefined);
  set('reportedDomain', peerField(reportedDomain?.trim().toLowerCase()));
  return report;
}
