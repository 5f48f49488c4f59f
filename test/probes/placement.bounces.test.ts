/**
 * Which seeds a bounce refuses: the placement probe reads the bounce mailbox with
 * readDsn and settles each failed recipient by the address it was sent to.
 */
import { describe, expect, it } from 'vitest';
import { refusedRecipients } from '../../src/probes/placement.ts';
import { readDsn } from '../../src/protocols/mail/dsn.ts';
import { mailFixture } from '../helpers/mail-fixtures.ts';

const crlf = (...lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\n`);

describe('placement: seeds a bounce refuses', () => {
  it('a plain Postfix DSN: each failed recipient with its status and reply; a delay is no verdict', async () => {
    const report = await readDsn(mailFixture('dsn-postfix-several.eml'));
    expect(refusedRecipients(report!)).toEqual([
      { address: 'seed1@yahoo.com', status: '5.7.9', diagnostic: '554 5.7.9 Message not accepted for policy reasons. See https://senders.yahooinc.com/error-codes' },
      { address: 'nobody@example.org', status: '5.1.1', diagnostic: '550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown in virtual mailbox table' },
    ]);
  });

  it('the Original-Recipient (the seed it was sent to), not the Final-Recipient a forward rewrote', async () => {
    const report = await readDsn(
      crlf(
        'From: MAILER-DAEMON@mta.sender.test',
        'Subject: Undelivered Mail Returned to Sender',
        'Content-Type: multipart/report; report-type=delivery-status; boundary=B',
        '',
        '--B',
        'Content-Type: message/delivery-status',
        '',
        'Reporting-MTA: dns; mta.sender.test',
        '',
        'Final-Recipient: rfc822; inbox-7731@mailhost.yahoo.test',
        'Original-Recipient: rfc822;Seed1@Yahoo.test',
        'Action: failed',
        'Status: 5.7.1',
        '--B--',
      ),
    );
    expect(refusedRecipients(report!)).toEqual([{ address: 'seed1@yahoo.test', status: '5.7.1' }]);
  });

  it('a text bounce (qmail) refuses its seeds too', async () => {
    const report = await readDsn(mailFixture('dsn-qmail-text.eml'));
    expect(refusedRecipients(report!).map((refused) => refused.address)).toEqual(['nobody@example.net', 'quota@example.net']);
  });
});
