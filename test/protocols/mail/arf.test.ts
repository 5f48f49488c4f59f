import { describe, expect, it } from 'vitest';
import { parseArf } from '../../../src/protocols/mail/arf.ts';
import { ReportRefused } from '../../../src/protocols/reports/types.ts';
import { mailFixture } from '../../helpers/mail-fixtures.ts';

const crlf = (...lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\n`);

/** An ARF around a feedback part (its MIME headers included) and an original part. */
const arf = (
  feedbackPart: string[],
  { contentType = 'multipart/report; report-type=feedback-report; boundary="F"', original = ['Content-Type: text/rfc822-headers', '', 'From: news@example.com', 'Subject: Hi'] } = {},
) =>
  crlf(
    'From: Feedback Loop <fbl@feedback.mailbox.test>',
    'Date: Tue, 24 Nov 2026 10:00:00 +0000',
    'Subject: Abuse report',
    `Content-Type: ${contentType}`,
    '',
    '--F',
    'Content-Type: text/plain',
    '',
    'A complaint.',
    '',
    '--F',
    ...feedbackPart,
    '',
    '--F',
    ...original,
    '',
    '--F--',
  );

describe('ARF: feedback reports as reporters send them', () => {
  it('Yahoo CFL: the feedback fields, the redacted recipient as given, the original’s campaign, Feedback-ID and List-Id; the reporter is yahoo.com', async () => {
    expect(await parseArf(mailFixture('arf-yahoo.eml'))).toEqual({
      kind: 'arf',
      feedbackType: 'abuse',
      userAgent: 'Yahoo!-Mail-Feedback/2.0',
      version: '0.1',
      arrivalDate: new Date('2026-11-23T22:00:01Z'),
      sourceIp: '192.0.2.10',
      originalMailFrom: 'bounce-nov-2026+seed1=yahoo.com@mail.example.com',
      originalRcptTo: 'c2VlZDFAeWFob28uY29t',
      authenticationResults: 'mta4001.mail.bf1.yahoo.com from=example.com; domainkeys=neutral (no sig); from=example.com; dkim=pass (ok)',
      reportedDomain: 'example.com',
      reporter: 'yahoo.com',
      original: {
        from: 'news@example.com',
        to: 'redacted@yahoo.com',
        subject: 'November news',
        messageId: '<20261123220000.4Zx1y2Z3@mail.example.com>',
        date: new Date('2026-11-23T22:00:00Z'),
        campaign: 'nov-2026-news',
        feedbackId: 'nov-2026-news:newsletter:example:esp',
        listId: 'Example News <news.example.com>',
      },
    });
  });

  it('Microsoft JMRP: lower-case field names, Source-IP in brackets, Incidents, the original attached as ATT00001.eml with encoded words', async () => {
    expect(await parseArf(mailFixture('arf-microsoft-jmrp.eml'))).toEqual({
      kind: 'arf',
      feedbackType: 'abuse',
      userAgent: 'Hotmail FBL',
      version: '1',
      incidents: 1,
      arrivalDate: new Date('2026-11-23T22:00:02Z'),
      sourceIp: '192.0.2.10',
      originalMailFrom: 'bounce@mail.example.com',
      reportedDomain: 'example.com',
      reporter: 'hotmail.com',
      original: {
        from: 'news@example.com',
        to: 'removed@hotmail.com',
        subject: 'Winter sale ❄',
        messageId: '<20261123220000.9Qw8Er7T@mail.example.com>',
        date: new Date('2026-11-23T22:00:00Z'),
        campaign: 'winter-sale',
      },
    });
  });

  it('AOL SComp: Received-Date, Reported-Domain lower-cased, X-Campaign-Id, the reporter aol.net', async () => {
    const report = await parseArf(mailFixture('arf-aol.eml'));
    expect(report).toMatchObject({
      feedbackType: 'abuse',
      userAgent: 'AOL SComp',
      arrivalDate: new Date('2026-11-24T12:58:00Z'),
      sourceIp: '192.0.2.11',
      reportedDomain: 'example.com',
      reporter: 'aol.net',
      original: { from: 'deals@example.com', to: 'redacted@aol.com', campaign: 'deals-2026-11-24', messageId: '<deals-20261124-1@mail.example.com>' },
    });
    expect(report?.originalRcptTo).toBeUndefined();
  });

  it('a feedback part without the blank line after its Content-Type: its fields are read all the same', async () => {
    const report = await parseArf(arf(['Content-Type: message/feedback-report', 'Feedback-Type: Not-Spam', 'User-Agent: SomeISP-FBL/1.2', 'Version: 1', 'Original-Rcpt-To: <user@mailbox.test>']));
    expect(report).toMatchObject({ feedbackType: 'not-spam', userAgent: 'SomeISP-FBL/1.2', version: '1', originalRcptTo: 'user@mailbox.test' });
  });

  it('no report-type parameter, but a message/feedback-report part: accepted; IPv6 Source-IP; several Reported-URI; the report’s Date when no arrival date', async () => {
    const report = await parseArf(
      arf(
        [
          'Content-Type: message/feedback-report',
          '',
          'Feedback-Type: fraud',
          'Source-IP: IPv6:2001:DB8::25',
          'Reported-URI: <https://phish.example.com/login>',
          'Reported-URI: mailto:scam@example.com',
        ],
        { contentType: 'multipart/report; boundary="F"' },
      ),
    );
    expect(report).toMatchObject({
      feedbackType: 'fraud',
      sourceIp: '2001:db8::25',
      reportedUris: ['https://phish.example.com/login', 'mailto:scam@example.com'],
      arrivalDate: new Date('2026-11-24T10:00:00Z'),
    });
    // Reported-Domain absent: the domain of the original From; the reporter is the base domain of the report's From.
    expect(report).toMatchObject({ reportedDomain: 'example.com', reporter: 'mailbox.test', original: { from: 'news@example.com', subject: 'Hi' } });
  });

  it('Source-IP forms: "[192.0.2.1]", "192.0.2.1 (mta.example.com)", "[IPv6:2001:db8::1]"; no address is no Source-IP', async () => {
    const ipOf = async (value: string) => (await parseArf(arf(['Content-Type: message/feedback-report', '', 'Feedback-Type: abuse', `Source-IP: ${value}`])))?.sourceIp;
    expect(await ipOf('[192.0.2.1]')).toBe('192.0.2.1');
    expect(await ipOf('192.0.2.1 (mta.example.com)')).toBe('192.0.2.1');
    expect(await ipOf('[IPv6:2001:db8::1]')).toBe('2001:db8::1');
    expect(await ipOf('mta.example.com')).toBeUndefined();
    expect(await ipOf('999.0.0.1')).toBeUndefined();
  });

  it('the original as an application/octet-stream .eml attachment; an ARF forwarded inside a multipart/mixed', async () => {
    const octet = await parseArf(
      arf(['Content-Type: message/feedback-report', '', 'Feedback-Type: abuse'], {
        original: [
          'Content-Type: application/octet-stream; name="original.eml"',
          'Content-Disposition: attachment; filename="original.eml"',
          'Content-Transfer-Encoding: base64',
          '',
          Buffer.from('From: a@sender.test\r\nX-Mailscope-Campaign: spring\r\n\r\nbody\r\n').toString('base64'),
        ],
      }),
    );
    expect(octet?.original).toEqual({ from: 'a@sender.test', campaign: 'spring' });

    const inner = arf(['Content-Type: message/feedback-report', '', 'Feedback-Type: virus']).toString();
    const forwarded = await parseArf(
      crlf(
        'From: Postmaster <postmaster@isp.test>',
        'Subject: Fwd: Abuse report',
        'Content-Type: multipart/mixed; boundary=M',
        '',
        '--M',
        'Content-Type: text/plain',
        '',
        'FYI',
        '--M',
        'Content-Type: message/rfc822',
        '',
        inner,
        '--M--',
      ),
    );
    expect(forwarded).toMatchObject({ feedbackType: 'virus', reporter: 'mailbox.test', original: { from: 'news@example.com' } });
  });

  it('a report that names no Feedback-Type, or has no feedback part at all, is refused as malformed', async () => {
    const missing = parseArf(arf(['Content-Type: message/feedback-report', '', 'User-Agent: Broken/1.0', 'Version: 1']));
    await expect(missing).rejects.toBeInstanceOf(ReportRefused);
    await expect(missing).rejects.toMatchObject({ code: 'malformed', message: 'the feedback report has no Feedback-Type field' });
    await expect(parseArf(arf(['Content-Type: text/html', '', '<p>nothing</p>']))).rejects.toMatchObject({
      code: 'malformed',
      message: 'the feedback report (report-type=feedback-report) has no message/feedback-report part',
    });
  });

  it('a feedback part labelled text/plain in a feedback-report: read by its Feedback-Type', async () => {
    expect((await parseArf(arf(['Content-Type: text/plain', '', 'Feedback-Type: auth-failure', 'Auth-Failure: dkim'])))?.feedbackType).toBe('auth-failure');
  });

  it('is undefined for mail that is no feedback report: a plain mail, a DSN, a DSN that returns a complaint', async () => {
    expect(await parseArf(crlf('From: a@example.com', 'Subject: hi', '', 'Feedback-Type: abuse'))).toBeUndefined();
    expect(await parseArf(mailFixture('dsn-postfix-several.eml'))).toBeUndefined();
    const complaint = arf(['Content-Type: message/feedback-report', '', 'Feedback-Type: abuse']).toString();
    expect(
      await parseArf(
        crlf(
          'From: MAILER-DAEMON@mta.test',
          'Content-Type: multipart/report; report-type=delivery-status; boundary=D',
          '',
          '--D',
          'Content-Type: message/delivery-status',
          '',
          'Final-Recipient: rfc822; fbl@example.com',
          'Action: failed',
          '',
          '--D',
          'Content-Type: message/rfc822',
          '',
          complaint,
          '--D--',
        ),
      ),
    ).toBeUndefined();
  });
});

describe('ARF: hostile input', () => {
  it('a 10 MB header line, NUL bytes and terminal escapes in fields: bounded and cleaned, no crash', async () => {
    const huge = 'A'.repeat(10 * 1024 * 1024);
    const report = await parseArf(
      Buffer.concat([
        crlf(`X-Junk: ${huge}`),
        arf(
          [
            'Content-Type: message/feedback-report',
            '',
            'Feedback-Type: ab\u0000use',
            `User-Agent: Evil\u001b[2J\u001b]0;title\u0007Agent ${huge}`,
            `Original-Rcpt-To: <red\u0000acted@\u001b[31mmailbox.test> ${huge}`,
            `Reported-Domain: example.com\u0000${huge}`,
            `Authentication-Results: ${huge}`,
          ],
          { original: ['Content-Type: text/rfc822-headers', '', `Subject: \u001b[1mBold\u001b[0m ${huge}`, `X-Campaign: c\u0000${huge}`, `From: ${huge}`] },
        ),
      ]),
    );
    expect(report?.feedbackType).toBe('abuse');
    expect(report?.userAgent?.startsWith('EvilAgent AAA')).toBe(true);
    expect(report?.userAgent?.length).toBe(255);
    expect(report?.originalRcptTo?.startsWith('<redacted@mailbox.test> AAA')).toBe(true);
    expect(report?.originalRcptTo?.length).toBeLessThanOrEqual(320);
    expect(report?.reportedDomain?.length).toBe(255);
    expect(report?.authenticationResults?.length).toBe(1_000);
    expect(report?.original.subject?.startsWith('Bold AAA')).toBe(true);
    expect(report?.original.subject?.length).toBe(500);
    expect(report?.original.campaign?.length).toBe(255);
    expect(report?.original.from?.length).toBe(255);
    expect(JSON.stringify(report)).not.toMatch(/\\u00(?:00|1b|07)/);
  });

  it('binary garbage and an empty buffer are no report', async () => {
    expect(await parseArf(Buffer.from([0x00, 0xff, 0x1b, 0x0a, 0x0a, 0x00]))).toBeUndefined();
    expect(await parseArf(Buffer.alloc(0))).toBeUndefined();
  });
});
