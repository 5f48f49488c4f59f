import { describe, expect, it } from 'vitest';
import { readDsn } from '../../../src/protocols/mail/dsn.ts';
import { mailFixture } from '../../helpers/mail-fixtures.ts';

const crlf = (...lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\n`);

/** A Postfix-like DSN around a delivery-status part. */
const dsn = (status: string, { type = 'message/delivery-status', text = 'I am sorry.' } = {}) =>
  crlf(
    'From: MAILER-DAEMON@mta.sender.test',
    'To: bounce@sender.test',
    'Date: Mon, 23 Nov 2026 22:00:05 +0000',
    'Subject: Undelivered Mail Returned to Sender',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status;',
    '\tboundary="B1"',
    '',
    '--B1',
    'Content-Type: text/plain',
    '',
    text,
    '',
    '--B1',
    `Content-Type: ${type}`,
    '',
    status,
    '--B1--',
  );

describe('DSN: RFC 3464 reports as MTAs write them', () => {
  it('Postfix, several recipients: Original-Recipient beside Final-Recipient, folded diagnostics, per-message fields, the returned message', async () => {
    expect(await readDsn(mailFixture('dsn-postfix-several.eml'))).toEqual({
      kind: 'dsn',
      reportingMta: 'mta1.mail.example.com',
      arrivalDate: new Date('2026-11-23T22:00:00Z'),
      recipients: [
        {
          original: 'seed1@yahoo.com',
          final: 'seed1@yahoo.com',
          action: 'failed',
          status: '5.7.9',
          remoteMta: 'mta7.am0.yahoodns.net',
          diagnostic: '554 5.7.9 Message not accepted for policy reasons. See https://senders.yahooinc.com/error-codes',
        },
        {
          original: 'nobody@example.org',
          final: 'nobody@example.org',
          action: 'failed',
          status: '5.1.1',
          remoteMta: 'mx.example.org',
          diagnostic: '550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown in virtual mailbox table',
        },
        { original: 'later@example.net', final: 'later@example.net', action: 'delayed', status: '4.4.1', diagnostic: 'connect to mx.example.net[192.0.2.40]:25: Connection timed out' },
      ],
      original: {
        from: 'news@example.com',
        messageId: '<20261123220000.4Zx1y2Z3@mail.example.com>',
        subject: "November news — what's new",
        campaign: 'nov-2026-news',
        feedbackId: 'nov-2026-news:newsletter:example:esp',
        listId: 'Example News <news.example.com>',
      },
    });
  });

  it('groups without blank lines between them, comments after Action and Status, upper-case types, an alias delayed', async () => {
    const report = await readDsn(mailFixture('dsn-comments-no-blank-lines.eml'));
    expect(report?.reportingMta).toBe('relay.example.net');
    expect(report?.arrivalDate).toEqual(new Date('2026-11-24T07:14:50Z'));
    expect(report?.recipients).toEqual([
      { final: 'gone@example.org', action: 'failed', status: '5.1.1', remoteMta: 'mx.example.org', diagnostic: '550 5.1.1 <gone@example.org>... User unknown' },
      { final: 'full@example.org', action: 'failed', status: '5.2.2', diagnostic: '552 5.2.2 Mailbox full' },
      { original: 'alias@example.com', final: 'real-person@example.org', action: 'delayed', status: '4.2.0', diagnostic: '451 4.2.0 Try again later' },
    ]);
    // text/rfc822-headers: the headers of the message it returns
    expect(report?.original).toEqual({ from: 'billing@example.com', messageId: '<invoice-7781@mail.example.com>', subject: 'Your invoice', campaign: 'invoices-2026-11' });
  });

  it('Gmail "Delivery Status Notification (Failure)": a multiline 550-5.1.1 reply joined, Remote-MTA without its comment', async () => {
    const report = await readDsn(mailFixture('dsn-gmail.eml'));
    expect(report).toMatchObject({ reportingMta: 'googlemail.com', arrivalDate: new Date('2026-11-23T22:00:08Z') });
    expect(report?.recipients).toEqual([
      {
        final: 'nobody@example.org',
        action: 'failed',
        status: '5.1.1',
        remoteMta: 'mx.example.org',
        diagnostic:
          "550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser",
      },
    ]);
    expect(report?.original).toEqual({ from: 'news@example.com', messageId: '<CAF1a2b3c4d5e6f7@mail.gmail.com>', subject: 'Re: your ticket' });
  });

  it('Exchange Online NDR: Original-Recipient as written (case removed), status 5.1.10, RESOLVER diagnostic', async () => {
    const report = await readDsn(mailFixture('dsn-exchange-ndr.eml'));
    expect(report?.recipients).toEqual([
      {
        original: 'nobody@contoso.com',
        final: 'nobody@contoso.com',
        action: 'failed',
        status: '5.1.10',
        diagnostic: '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient Nobody@contoso.com not found by SMTP address lookup',
      },
    ]);
    expect(report?.reportingMta).toBe('AM0PR01MB1234.eurprd01.prod.exchangelabs.com');
    expect(report?.original).toEqual({ from: 'news@example.com', messageId: '<20261123220000.4Zx1y2Z3@mail.example.com>', subject: 'November news', campaign: 'nov-2026-news' });
  });

  it('message/global-delivery-status (RFC 6533): UTF-8 addresses with the utf-8 type', async () => {
    const report = await readDsn(
      dsn(['Reporting-MTA: dns; mta.sender.test', '', 'Original-Recipient: utf-8; José@Exemple.test', 'Final-Recipient: utf-8; josé@exemple.test', 'Action: failed', 'Status: 5.1.1'].join('\r\n'), {
        type: 'message/global-delivery-status',
      }),
    );
    expect(report?.recipients).toEqual([{ original: 'josé@exemple.test', final: 'josé@exemple.test', action: 'failed', status: '5.1.1' }]);
  });

  it('no blank line between the per-message fields and the first recipient; an Action inferred from the status when missing', async () => {
    const report = await readDsn(
      dsn(
        [
          'Reporting-MTA: dns; mta.sender.test',
          'Arrival-Date: Mon, 23 Nov 2026 21:59:00 +0000',
          'Final-Recipient: rfc822;<a@x.test>',
          'Status: 5.0.0',
          'Final-Recipient: rfc822;b@x.test',
          'Action: Delivered',
          'Status: 2.0.0',
        ].join('\r\n'),
      ),
    );
    expect(report?.reportingMta).toBe('mta.sender.test');
    expect(report?.arrivalDate).toEqual(new Date('2026-11-23T21:59:00Z'));
    expect(report?.recipients).toEqual([
      { final: 'a@x.test', action: 'failed', status: '5.0.0' },
      { final: 'b@x.test', action: 'delivered', status: '2.0.0' },
    ]);
  });

  it('takes the status from the diagnostic when the Status field has none; the report’s Date when there is no Arrival-Date', async () => {
    const report = await readDsn(
      dsn(
        [
          'Final-Recipient: rfc822; a@x.test',
          'Action: failed',
          'Status: 5.0.0 (see diagnostic)',
          '',
          'Final-Recipient: rfc822; b@x.test',
          'Action: failed',
          'Diagnostic-Code: smtp; 550 5.7.1 relaying denied',
        ].join('\r\n'),
      ),
    );
    expect(report?.recipients.map((recipient) => recipient.status)).toEqual(['5.0.0', '5.7.1']);
    expect(report?.arrivalDate).toEqual(new Date('2026-11-23T22:00:05Z'));
    expect(report?.reportingMta).toBeUndefined();
  });
});

describe('DSN: where the report is', () => {
  it('a DSN forwarded as a message/rfc822 attachment: the bounce’s recipients, not the forwarder’s text', async () => {
    const report = await readDsn(mailFixture('dsn-forwarded.eml'));
    expect(report?.recipients).toEqual([
      {
        original: 'seed2@gmail.com',
        final: 'seed2@gmail.com',
        action: 'failed',
        status: '5.7.26',
        remoteMta: 'gmail-smtp-in.l.google.com',
        diagnostic:
          "550 5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC policy. Please contact the administrator of example.com domain if this was a legitimate mail.",
      },
    ]);
    expect(report?.original).toEqual({ from: 'news@example.com', messageId: '<seed-7Hc2@mail.example.com>', subject: 'Seed check 7Hc2', campaign: 'placement' });
    expect(report?.arrivalDate).toEqual(new Date('2026-11-23T22:00:00Z'));
  });

  it('a multipart/report nested in a multipart/mixed (a gateway’s footer), its status part base64-encoded', async () => {
    const report = await readDsn(mailFixture('dsn-nested-mixed.eml'));
    expect(report).toEqual({
      kind: 'dsn',
      reportingMta: 'gateway.example.org',
      arrivalDate: new Date('2026-11-23T22:10:00Z'),
      recipients: [{ final: 'nobody@example.org', action: 'failed', status: '5.1.1', diagnostic: '550 5.1.1 No such user' }],
      original: {},
    });
  });

  it('an empty delivery-status part: the recipient, status and reply from the Postfix-style text', async () => {
    const report = await readDsn(mailFixture('dsn-empty-status.eml'));
    expect(report?.recipients).toEqual([
      {
        final: 'nobody@example.net',
        action: 'failed',
        status: '5.1.1',
        diagnostic: '550 5.1.1 <nobody@example.net>: Recipient address rejected: User unknown in local recipient table (in reply to RCPT TO command)',
      },
    ]);
    expect(report?.original.messageId).toBe('<20261123220000.4Zx1y2Z3@mail.example.com>');
  });
});

describe('DSN: bounces that are not RFC 3464', () => {
  it('qmail: "<user@example.net>:" blocks, a (#5.4.6) status, the message quoted after "--- Below this line is a copy of the message."', async () => {
    const report = await readDsn(mailFixture('dsn-qmail-text.eml'));
    expect(report).toEqual({
      kind: 'dsn',
      arrivalDate: new Date('2026-11-23T22:00:07Z'),
      recipients: [
        { final: 'nobody@example.net', action: 'failed', status: '5.1.1', diagnostic: '550 5.1.1 <nobody@example.net>... User unknown' },
        { final: 'quota@example.net', action: 'failed', status: '5.4.6', diagnostic: 'This message is looping: it already has my Delivered-To line. (#5.4.6)' },
      ],
      original: { from: 'news@example.com', messageId: '<20261123220000.4Zx1y2Z3@mail.example.com>', subject: 'November news', campaign: 'nov-2026-news' },
    });
  });

  it('Exim: indented addresses, a multiline 554-5.7.1 reply, the copy after "------ This is a copy of the message"', async () => {
    const report = await readDsn(mailFixture('dsn-exim-text.eml'));
    expect(report?.recipients).toEqual([
      { final: 'nobody@example.org', action: 'failed', status: '5.1.1', diagnostic: '550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown' },
      { final: 'blocked@example.net', action: 'failed', status: '5.7.1', diagnostic: '554 5.7.1 [192.0.2.10] Message rejected: listed at zen.spamhaus.org see https://check.spamhaus.org/' },
    ]);
    expect(report?.original).toEqual({ from: 'news@example.com', messageId: '<20261123220000.4Zx1y2Z3@mail.example.com>', subject: 'November news', campaign: 'nov-2026-news' });
  });

  it('an old Exchange text NDR: "user@example.com on <date>" with its "#5.1.1 smtp;550 5.1.1 ..." line; a 4.x.x status is delayed', async () => {
    const report = await readDsn(
      crlf(
        'From: System Administrator <postmaster@corp.example.org>',
        'To: bounce@mail.example.com',
        'Subject: Undeliverable: November news',
        'Date: Mon, 23 Nov 2026 22:30:00 +0000',
        'Content-Type: text/plain; charset="us-ascii"',
        '',
        'Your message did not reach some or all of the intended recipients.',
        '',
        '      Subject:\tNovember news',
        '      Sent:\t11/23/2026 10:00 PM',
        '',
        'The following recipient(s) cannot be reached:',
        '',
        '      Nobody@corp.example.org on 11/23/2026 10:30 PM',
        '            The e-mail account does not exist at the organization this message was sent to.',
        '            <EX01.corp.example.org #5.1.1 smtp;550 5.1.1 User unknown>',
        '',
        '      busy@corp.example.org on 11/23/2026 10:30 PM',
        '            Could not deliver the message in the time limit specified. Please retry or contact your administrator.',
        '            <EX01.corp.example.org #4.4.7>',
      ),
    );
    expect(report?.recipients).toEqual([
      { final: 'nobody@corp.example.org', action: 'failed', status: '5.1.1', diagnostic: '550 5.1.1 User unknown' },
      {
        final: 'busy@corp.example.org',
        action: 'delayed',
        status: '4.4.7',
        diagnostic: 'on 11/23/2026 10:30 PM Could not deliver the message in the time limit specified. Please retry or contact your administrator. <EX01.corp.example.org #4.4.7>',
      },
    ]);
  });

  it('an address in a sentence ("wasn’t delivered to ..."), the reply in another paragraph; the bounce’s own addresses are not recipients', async () => {
    const report = await readDsn(
      crlf(
        'From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>',
        'To: news@example.com',
        'Subject: Delivery Status Notification (Failure)',
        '',
        '** Address not found **',
        '',
        "Your message wasn't delivered to nobody@example.org because the address couldn't be found. Questions? Write news@example.com.",
        '',
        'The response was:',
        '',
        '550 5.1.1 The email account that you tried to reach does not exist.',
      ),
    );
    expect(report?.recipients).toEqual([{ final: 'nobody@example.org', action: 'failed', status: '5.1.1', diagnostic: '550 5.1.1 The email account that you tried to reach does not exist.' }]);
  });

  it('Postfix text "(expanded from <alias>)": the alias is the original recipient', async () => {
    const report = await readDsn(
      crlf(
        'From: MAILER-DAEMON@mta.sender.test',
        'Subject: Undelivered Mail Returned to Sender',
        'Return-Path: <>',
        '',
        '<seed1@yahoo.test> (expanded from <list@sender.test>): host mx.yahoo.test[127.0.0.20] said:',
        '    554 5.7.9 Message not accepted for policy reasons (in reply to end of DATA command)',
      ),
    );
    expect(report?.recipients).toEqual([
      { original: 'list@sender.test', final: 'seed1@yahoo.test', action: 'failed', status: '5.7.9', diagnostic: '554 5.7.9 Message not accepted for policy reasons (in reply to end of DATA command)' },
    ]);
  });

  it('X-Failed-Recipients when the text names nobody', async () => {
    const report = await readDsn(crlf('From: Mail Delivery System <Mailer-Daemon@mx.example.net>', 'Subject: Mail delivery failed', 'X-Failed-Recipients: a@example.org, b@example.org', '', 'Sorry.'));
    expect(report?.recipients).toEqual([
      { final: 'a@example.org', action: 'failed' },
      { final: 'b@example.org', action: 'failed' },
    ]);
  });

  it('is undefined for mail that is no bounce: a newsletter, a human forwarding text, a feedback report, a bounce-like subject from a person', async () => {
    expect(await readDsn(mailFixture('headers-gmail.txt'))).toBeUndefined();
    expect(await readDsn(crlf('From: alice@example.com', 'Subject: Undelivered mail?', '', '<bob@example.com>: 550 5.1.1 I did not get it'))).toBeUndefined();
    expect(await readDsn(crlf('From: MAILER-DAEMON@mx.example.net', 'Subject: failure notice', '', 'Something went wrong, no recipient named.'))).toBeUndefined();
    expect(
      await readDsn(
        crlf(
          'From: feedback@arf.mail.yahoo.com',
          'Subject: FW: November news',
          'Content-Type: multipart/report; report-type=feedback-report; boundary=F',
          '',
          '--F',
          'Content-Type: message/feedback-report',
          '',
          'Feedback-Type: abuse',
          '--F--',
        ),
      ),
    ).toBeUndefined();
  });

  it('a DSN that names no recipient at all is still a bounce, with none', async () => {
    const report = await readDsn(dsn('Reporting-MTA: dns; mta.sender.test\r\n\r\nAction: failed\r\n'));
    expect(report).toMatchObject({ kind: 'dsn', reportingMta: 'mta.sender.test', recipients: [] });
  });
});

describe('DSN: hostile input', () => {
  it('a 10 MB header line, NUL bytes and terminal escapes in fields: bounded and cleaned, no crash', async () => {
    const huge = 'x'.repeat(10 * 1024 * 1024);
    const report = await readDsn(
      Buffer.concat([
        crlf(`X-Junk: ${huge}`),
        dsn(
          [
            `Reporting-MTA: dns; mta\u0000.sender.test\u001b[2J${huge}`,
            '',
            'Final-Recipient: rfc822; vic\u0000tim@x.test',
            'Action: failed\u001b]0;owned\u0007',
            'Status: 5.1.1',
            `Diagnostic-Code: smtp; 550 5.1.1 \u001b[31mred\u001b[0m\u0000 user unknown ${huge}`,
            `Remote-MTA: dns; ${huge}`,
          ].join('\r\n'),
        ),
      ]),
    );
    const recipient = report!.recipients[0]!;
    expect(recipient.final).toBe('victim@x.test');
    expect(recipient.action).toBe('failed');
    expect(recipient.status).toBe('5.1.1');
    expect(recipient.diagnostic!.startsWith('550 5.1.1 red user unknown xxx')).toBe(true);
    expect(recipient.diagnostic!.length).toBeLessThanOrEqual(1_000);
    expect(recipient.remoteMta!.length).toBeLessThanOrEqual(255);
    expect(report!.reportingMta!.startsWith('mta.sender.testxxx')).toBe(true);
    expect(report!.reportingMta!.length).toBeLessThanOrEqual(255);
    expect(JSON.stringify(report)).not.toMatch(/\\u00(?:00|1b|07)/);
  });

  it('garbage, a truncated multipart, a boundary that never comes: no crash', async () => {
    expect(await readDsn(Buffer.from([0xff, 0xfe, 0x00, 0x0d, 0x0a, 0x0d, 0x0a]))).toBeUndefined();
    expect(await readDsn(Buffer.alloc(0))).toBeUndefined();
    const truncated = await readDsn(
      crlf(
        'Subject: x',
        'Content-Type: multipart/report; report-type=delivery-status; boundary=Z',
        '',
        '--Z',
        'Content-Type: message/delivery-status',
        '',
        'Final-Recipient: rfc822; a@x.test',
        'Action: failed',
      ),
    );
    expect(truncated?.recipients).toEqual([{ final: 'a@x.test', action: 'failed' }]);
  });

  it('deep nesting is cut at a bound, not followed', async () => {
    let message = dsn('Final-Recipient: rfc822; deep@x.test\r\nAction: failed\r\n').toString();
    for (let level = 0; level < 40; level++) message = `Content-Type: multipart/mixed; boundary="L${level}"\r\n\r\n--L${level}\r\nContent-Type: message/rfc822\r\n\r\n${message}\r\n--L${level}--\r\n`;
    expect(await readDsn(Buffer.from(message))).toBeUndefined();
  });
});
