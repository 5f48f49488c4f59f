/**
 * Feedback reports as reporters write them, built in tests: a DMARC aggregate
 * XML (RFC 7489 appendix C), a TLS-RPT JSON (RFC 8460), a DSN and an ARF mail.
 */
import { gzipSync } from 'node:zlib';

export interface AggregateRowInput {
  ip: string;
  count: number;
  dkim?: 'pass' | 'fail';
  spf?: 'pass' | 'fail';
  disposition?: 'none' | 'quarantine' | 'reject';
  headerFrom?: string;
  reason?: string;
}

export function aggregateXml(options: { org?: string; reportId?: string; domain?: string; begin?: number; end?: number; rows: AggregateRowInput[] }): string {
  const domain = options.domain ?? 'sender.test';
  const begin = options.begin ?? Date.parse('2026-12-05T00:00:00Z') / 1000;
  const end = options.end ?? begin + 86_399;
  const records = options.rows
    .map(
      (row) => `  <record>
    <row>
      <source_ip>${row.ip}</source_ip>
      <count>${row.count}</count>
      <policy_evaluated>
        <disposition>${row.disposition ?? 'none'}</disposition>
        <dkim>${row.dkim ?? 'pass'}</dkim>
        <spf>${row.spf ?? 'pass'}</spf>${row.reason ? `\n        <reason><type>${row.reason}</type></reason>` : ''}
      </policy_evaluated>
    </row>
    <identifiers>
      <header_from>${row.headerFrom ?? domain}</header_from>
    </identifiers>
    <auth_results>
      <dkim><domain>${domain}</domain><selector>lab2026</selector><result>${row.dkim ?? 'pass'}</result></dkim>
      <spf><domain>${domain}</domain><result>${row.spf ?? 'pass'}</result></spf>
    </auth_results>
  </record>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8" ?>
<feedback>
  <report_metadata>
    <org_name>${options.org ?? 'google.com'}</org_name>
    <email>noreply-dmarc-support@google.com</email>
    <report_id>${options.reportId ?? '12345678901234567890'}</report_id>
    <date_range><begin>${begin}</begin><end>${end}</end></date_range>
  </report_metadata>
  <policy_published>
    <domain>${domain}</domain>
    <adkim>r</adkim>
    <aspf>r</aspf>
    <p>reject</p>
    <sp>quarantine</sp>
    <pct>100</pct>
  </policy_published>
${records}
</feedback>
`;
}

export const gzipped = (text: string) => gzipSync(Buffer.from(text));

export function tlsReportJson(options: {
  org?: string;
  reportId?: string;
  domain?: string;
  successes?: number;
  failures?: { type: string; mx: string; count: number }[];
  /** The date range (default: 2026-12-05, the whole day). */
  start?: Date;
  end?: Date;
}): string {
  const failures = options.failures ?? [];
  return JSON.stringify({
    'organization-name': options.org ?? 'Google Inc.',
    'date-range': { 'start-datetime': options.start?.toISOString() ?? '2026-12-05T00:00:00Z', 'end-datetime': options.end?.toISOString() ?? '2026-12-05T23:59:59Z' },
    'contact-info': 'smtp-tls-reporting@google.com',
    'report-id': options.reportId ?? '2026-12-05T00:00:00Z_sender.test',
    policies: [
      {
        policy: {
          'policy-type': 'sts',
          'policy-string': ['version: STSv1', 'mode: enforce', 'mx: mx.sender.test', 'max_age: 86400'],
          'policy-domain': options.domain ?? 'sender.test',
          'mx-host': ['mx.sender.test'],
        },
        summary: { 'total-successful-session-count': options.successes ?? 100, 'total-failure-session-count': failures.reduce((sum, failure) => sum + failure.count, 0) },
        'failure-details': failures.map((failure) => ({ 'result-type': failure.type, 'sending-mta-ip': '192.0.2.1', 'receiving-mx-hostname': failure.mx, 'failed-session-count': failure.count })),
      },
    ],
  });
}

/** A Postfix-style DSN for one failed recipient, with the returned message's headers. */
export function dsnMail(options: { recipient: string; original?: string; status?: string; diagnostic?: string; messageId?: string; date?: string }): string {
  const boundary = 'B0UNDARY.1733400000/mx.lab.test';
  return [
    'From: MAILER-DAEMON@mx.lab.test (Mail Delivery System)',
    'To: bounces@sender.test',
    'Subject: Undelivered Mail Returned to Sender',
    `Date: ${options.date ?? 'Sat, 05 Dec 2026 10:00:00 +0000'}`,
    `Message-Id: <${options.messageId ?? '20261205100000.ABC@mx.lab.test'}>`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    `I'm sorry to have to inform you that your message could not be delivered to ${options.recipient}.`,
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.lab.test',
    'Arrival-Date: Sat, 05 Dec 2026 09:59:58 +0000',
    '',
    ...(options.original ? [`Original-Recipient: rfc822;${options.original}`] : []),
    `Final-Recipient: rfc822; ${options.recipient}`,
    'Action: failed',
    `Status: ${options.status ?? '5.1.1'}`,
    'Remote-MTA: dns; mx.gmail.test',
    `Diagnostic-Code: smtp; ${options.diagnostic ?? '550 5.1.1 The email account that you tried to reach does not exist.'}`,
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
    'From: news@sender.test',
    `To: ${options.original ?? options.recipient}`,
    'Subject: December news',
    'Message-ID: <news-1@sender.test>',
    'X-Campaign: december',
    '',
    `--${boundary}--`,
    '',
  ].join('\r\n');
}

/** An ARF complaint as Yahoo's CFL sends it (received, by default, on 2026-12-05 at 10:30, the report dated half an hour later). */
export function arfMail(options: { sourceIp?: string; rcptTo?: string; campaign?: string; messageId?: string; received?: Date }): string {
  const boundary = 'arf-boundary-1';
  const received = options.received ?? new Date('2026-12-05T10:30:00Z');
  const mailDate = (date: Date) => date.toUTCString().replace('GMT', '+0000');
  return [
    'From: Yahoo! Mail AntiSpam Feedback <feedback@arf.mail.yahoo.com>',
    'To: fbl@sender.test',
    'Subject: FW: December news',
    `Date: ${mailDate(new Date(received.getTime() + 1_800_000))}`,
    `Message-ID: <${options.messageId ?? 'arf-1@yahoo.com'}>`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=feedback-report; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain',
    '',
    'This is an email abuse report for an email message received from IP on Sat, 05 Dec 2026.',
    '',
    `--${boundary}`,
    'Content-Type: message/feedback-report',
    '',
    'Feedback-Type: abuse',
    'User-Agent: Yahoo!-Mail-Feedback/2.0',
    'Version: 0.1',
    'Original-Mail-From: <bounces@sender.test>',
    `Original-Rcpt-To: <${options.rcptTo ?? 'someone@yahoo.test'}>`,
    `Received-Date: ${mailDate(received)}`,
    `Source-IP: ${options.sourceIp ?? '127.0.0.10'}`,
    'Reported-Domain: sender.test',
    'Authentication-Results: mta1.mail.yahoo.com; dkim=pass header.d=sender.test; spf=pass smtp.mailfrom=sender.test',
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
    'From: news@sender.test',
    `To: ${options.rcptTo ?? 'someone@yahoo.test'}`,
    'Subject: December news',
    'Message-ID: <news-2@sender.test>',
    ...(options.campaign ? [`X-Campaign: ${options.campaign}`] : []),
    '',
    `--${boundary}--`,
    '',
  ].join('\r\n');
}
