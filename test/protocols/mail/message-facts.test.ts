import { describe, expect, it } from 'vitest';
import { parseDsn } from '../../../src/protocols/mail/dsn.ts';
import { messageFacts } from '../../../src/protocols/mail/message-facts.ts';

const block = (...lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\n`);

describe('message facts from received headers', () => {
  it('reads the receiver’s Authentication-Results, spam verdict, TLS and time of the receiving hop', async () => {
    const facts = await messageFacts(
      block(
        'Received: from mta-a.sender.test (mta-a.sender.test [127.0.0.10])',
        '\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))',
        '\tby mx.gmail.test (Postfix) with ESMTPS id 4abc',
        '\tfor <seed1@gmail.test>; Mon, 23 Nov 2026 22:00:01 +0000 (UTC)',
        'Received: from localhost by mta.sender.test (Postfix) with ESMTP id 9; Mon, 23 Nov 2026 21:59:59 +0000',
        'Authentication-Results: mx.lab.test; dmarc=fail (p=reject dis=none) header.from=sender.test',
        'Authentication-Results: mx.lab.test; dkim=fail header.d=sender.test; dkim=pass header.d=esp.test',
        'Authentication-Results: mx.lab.test; spf=softfail smtp.mailfrom=sender.test',
        'X-Spam-Status: Yes, score=7.2 required=5.0 tests=GTUBE,',
        '\tHTML_MESSAGE autolearn=disabled',
        'X-Rspamd-Action: add header',
        'X-Rspamd-Score: 9.50',
        'Message-ID: <abc@sender.test>',
        'List-Unsubscribe: <https://sender.test/u/1>',
      ),
      { authservId: 'mx.lab.test' },
    );
    expect(facts).toEqual({
      hops: 2,
      authservId: 'mx.lab.test',
      spf: 'softfail',
      dkim: 'pass',
      dmarc: 'fail',
      spamStatus: 'Yes, score=7.2 required=5.0 tests=GTUBE, HTML_MESSAGE autolearn=disabled',
      spamFlag: true,
      spamScore: 7.2,
      rspamdAction: 'add header',
      rspamdScore: 9.5,
      tls: true,
      tlsVersion: 'TLSv1.3',
      receivedAt: new Date('2026-11-23T22:00:01Z'),
      messageId: '<abc@sender.test>',
      listUnsubscribe: true,
    });
  });

  it('ignores Authentication-Results a sender wrote under another receiver’s name', async () => {
    const facts = await messageFacts(
      block('Authentication-Results: mx.lab.test; spf=fail smtp.mailfrom=sender.test', 'Authentication-Results: mx.google.com; dkim=pass header.d=sender.test; dmarc=pass; spf=pass'),
      { authservId: 'mx.lab.test' },
    );
    expect([facts.spf, facts.dkim, facts.dmarc]).toEqual(['fail', undefined, undefined]);
  });

  it('copes with a hostile header block: no colon, binary, a Received without a date, an unparsable AR', async () => {
    const facts = await messageFacts(
      Buffer.concat([block('garbage line without colon', 'Received: from nowhere', 'Authentication-Results: ;;;==(', 'X-Spam-Score: lots'), Buffer.from([0xff, 0xfe, 0x00, 0x0d, 0x0a])]),
    );
    expect(facts.hops).toBe(1);
    expect(facts.receivedAt).toBeUndefined();
    expect(facts.spamScore).toBeUndefined();
    expect(facts.spf).toBeUndefined();
  });
});

describe('delivery status notifications', () => {
  const dsn = (parts: string) =>
    Buffer.from(
      [
        'From: MAILER-DAEMON@mta.sender.test',
        'Subject: Undelivered Mail Returned to Sender',
        'MIME-Version: 1.0',
        'Content-Type: multipart/report; report-type=delivery-status;',
        '\tboundary="B1"',
        '',
        '--B1',
        'Content-Type: text/plain',
        '',
        'I am sorry.',
        '',
        '--B1',
        'Content-Type: message/delivery-status',
        '',
        'Reporting-MTA: dns; mta.sender.test',
        '',
        parts,
        '--B1--',
        '',
      ].join('\r\n'),
    );

  it('gives each recipient’s action, status and diagnostic (folded lines joined)', async () => {
    const recipients = await parseDsn(
      dsn(
        [
          'Final-Recipient: rfc822; Seed1@Yahoo.test',
          'Action: failed',
          'Status: 5.7.1',
          'Remote-MTA: dns; mx.yahoo.test',
          'Diagnostic-Code: smtp; 554 5.7.1 Service unavailable; Client host',
          '    [127.0.0.11] blocked using zen.dnsbl.test',
          '',
          'Final-Recipient: rfc822; seed2@gmail.test',
          'Action: delayed',
          'Status: 4.4.1',
          '',
        ].join('\r\n'),
      ),
    );
    expect(recipients).toEqual([
      {
        recipient: 'seed1@yahoo.test',
        action: 'failed',
        status: '5.7.1',
        remoteMta: 'mx.yahoo.test',
        diagnostic: '554 5.7.1 Service unavailable; Client host [127.0.0.11] blocked using zen.dnsbl.test',
      },
      { recipient: 'seed2@gmail.test', action: 'delayed', status: '4.4.1' },
    ]);
  });

  it('is empty for a message that is not a report, and for a report without recipients', async () => {
    expect(await parseDsn(Buffer.from('Subject: hello\r\nContent-Type: text/plain\r\n\r\nDelivery failed? No.\r\n'))).toEqual([]);
    expect(await parseDsn(dsn('Action: failed\r\n'))).toEqual([]);
  });
});
