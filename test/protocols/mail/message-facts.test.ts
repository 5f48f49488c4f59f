import { describe, expect, it } from 'vitest';
import { messageFacts } from '../../../src/protocols/mail/message-facts.ts';
import { mailFixture } from '../../helpers/mail-fixtures.ts';

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

describe('message facts from real receivers’ headers', () => {
  it('Gmail: the hop from the sender (not Google’s internal "Received: by 2002:..."), TLS 1.3 from version=TLS1_3, mx.google.com’s results', async () => {
    const facts = await messageFacts(mailFixture('headers-gmail.txt'));
    expect(facts).toMatchObject({ authservId: 'mx.google.com', spf: 'pass', dkim: 'pass', dmarc: 'pass', tls: true, tlsVersion: 'TLSv1.3', hops: 3, listUnsubscribe: true });
    expect(facts.receivedAt).toEqual(new Date('2026-11-23T22:00:01Z'));
    expect(facts.messageId).toBe('<20261123220000.4Zx1y2Z3@mail.example.com>');
  });

  it('Microsoft 365: legacy Authentication-Results without an authserv-id count; Microsoft SMTP Server (version=TLS1_2) is TLSv1.2', async () => {
    const facts = await messageFacts(mailFixture('headers-m365.txt'));
    expect(facts).toMatchObject({ spf: 'pass', dkim: 'pass', dmarc: 'pass', tls: true, tlsVersion: 'TLSv1.2', hops: 2 });
    expect(facts.authservId).toBeUndefined();
    expect(facts.receivedAt).toEqual(new Date('2026-11-23T22:00:02Z'));
  });

  it('Microsoft 365 read through Outlook: a topmost hop "with HTTPS" is TLS, with no version named', async () => {
    const facts = await messageFacts(
      Buffer.concat([
        block('Received: from DB9PR01MB5678.eurprd01.prod.exchangelabs.com (2603:10a6:10:2a1::12)', ' by AM0PR01MB1234.eurprd01.prod.exchangelabs.com with HTTPS; Mon, 23 Nov 2026', ' 22:00:03 +0000'),
        mailFixture('headers-m365.txt'),
      ]),
    );
    expect([facts.tls, facts.tlsVersion, facts.hops]).toEqual([true, undefined, 3]);
  });

  it('Exchange’s "with Microsoft SMTPSVC(6.0...)" is no TLS (the parser takes its comment for a TLS one); a legacy AR still counts', async () => {
    const facts = await messageFacts(mailFixture('headers-smtpsvc.txt'));
    expect(facts).toMatchObject({ tls: false, spf: 'softfail', dkim: 'none', hops: 1 });
    expect(facts.tlsVersion).toBeUndefined();
    expect(facts.receivedAt).toEqual(new Date('2026-11-23T22:00:01Z'));
  });

  it('Postfix: "(using TLSv1.3 with cipher ...)" and several Authentication-Results of the same receiver', async () => {
    const facts = await messageFacts(mailFixture('headers-postfix.txt'), { authservId: 'MX.example.net' });
    expect(facts).toMatchObject({ authservId: 'mx.example.net', spf: 'pass', dkim: 'pass', dmarc: 'pass', tls: true, tlsVersion: 'TLSv1.3', spamFlag: false, spamScore: -0.1, hops: 1 });
  });

  it('Exim: "with esmtps (TLS1.3) tls TLS_AES_256_GCM_SHA384" is TLSv1.3', async () => {
    const facts = await messageFacts(mailFixture('headers-exim.txt'));
    expect([facts.tls, facts.tlsVersion]).toEqual([true, 'TLSv1.3']);
  });

  it('normalises the TLS versions receivers write: TLSv1 is TLSv1.0, TLS1_2 is TLSv1.2; ESMTPSA is TLS, ESMTPA and SMTP are not', async () => {
    const hop = (withPart: string) => block(`Received: from a.example.com (a.example.com [192.0.2.1]) by mx.example.net ${withPart}; Mon, 23 Nov 2026 22:00:01 +0000`);
    const read = async (withPart: string) => {
      const facts = await messageFacts(hop(withPart));
      return [facts.tls, facts.tlsVersion];
    };
    expect(await read('(using TLSv1 with cipher ECDHE-RSA-AES256-SHA (256/256 bits)) with ESMTPS id 1')).toEqual([true, 'TLSv1.0']);
    expect(await read('with ESMTPSA id 2 (version=TLS1_2 cipher=ECDHE-ECDSA-AES128-GCM-SHA256 bits=128/128)')).toEqual([true, 'TLSv1.2']);
    expect(await read('with ESMTPSA id 3')).toEqual([true, undefined]);
    expect(await read('with UTF8SMTPS id 4')).toEqual([true, undefined]);
    expect(await read('with ESMTPA id 5')).toEqual([false, undefined]);
    expect(await read('with SMTP id 6')).toEqual([false, undefined]);
  });

  it('legacy headers count only when no authserv-id is configured and the topmost is one; a configured id still picks its own', async () => {
    const legacyOnTop = block(
      'Authentication-Results: spf=pass smtp.mailfrom=example.com; dkim=pass header.d=example.com',
      'Authentication-Results: mx.other.example; spf=fail smtp.mailfrom=example.com; dmarc=fail',
    );
    expect(await messageFacts(legacyOnTop)).toMatchObject({ spf: 'pass', dkim: 'pass' });
    expect((await messageFacts(legacyOnTop)).dmarc).toBeUndefined();
    const configured = await messageFacts(legacyOnTop, { authservId: 'mx.other.example' });
    expect([configured.authservId, configured.spf, configured.dkim, configured.dmarc]).toEqual(['mx.other.example', 'fail', undefined, 'fail']);
    // A receiver with an id on top: a legacy header below it (anyone could have written it) does not count.
    const idOnTop = block(
      'Authentication-Results: mx.example.net; spf=softfail smtp.mailfrom=example.com',
      'Authentication-Results: spf=pass smtp.mailfrom=example.com; dkim=pass header.d=example.com',
    );
    expect([(await messageFacts(idOnTop)).spf, (await messageFacts(idOnTop)).dkim]).toEqual(['softfail', undefined]);
  });
});
