/** Postfix's mail log lines: deliveries, expiries and removals read; everything else (and garbage) is not a delivery. */
import { describe, expect, it } from 'vitest';
import { DeferredRecipients, type PostfixDelivery, parsePostfixLine, readReply, replyLength } from '../../../src/protocols/mail/postfix-log.ts';

const now = new Date('2026-12-06T20:00:00Z');
const utc = { now, timeZone: 'UTC' };

/** Lines as the lab's Postfix 3.7 wrote them to its maillog_file (test/lab/services/mta.ts). */
const lab = {
  sent: 'Dec 06 19:21:49 mta postfix/pool-clean/smtp[26042]: 2821D22069D: to=<seed1@gmail.test>, relay=mx.gmail.test[127.0.0.21]:25, delay=0.78, delays=0.19/0.05/0.02/0.51, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 8481B2206A0)',
  bounced:
    'Dec 06 19:21:52 mta postfix/pool-listed/smtp[26076]: 3ACF5220717: to=<seed1@yahoo.test>, relay=mx.yahoo.test[127.0.0.23]:25, delay=0.17, delays=0.09/0.03/0.02/0.04, dsn=5.7.1, status=bounced (host mx.yahoo.test[127.0.0.23] said: 554 5.7.1 Service unavailable; Client host [127.0.0.11] blocked using zen.dnsbl.test; Listed in lab XBL (exploited host), see https://dnsbl.test/xbl?ip=127.0.0.11 / Listed in lab SBL (spam source), see https://dnsbl.test/sbl?ip=127.0.0.11 (in reply to RCPT TO command))',
  lmtp: 'Dec 06 19:22:10 mta postfix/lmtp[26178]: D57DC220751: to=<seed1@yahoo.test>, relay=mta.sender.test[/var/tmp/mailscope-lab-5f3a9c21/run/dovecot-lmtp], conn_use=2, delay=0.7, delays=0.68/0/0/0.01, dsn=2.0.0, status=sent (250 2.0.0 <seed1@yahoo.test> SPotDeK1FWvEZQAAg+zDdQ:T2 Saved)',
  bounceToSender:
    'Dec 06 19:21:52 mta postfix/smtp[26079]: 65BE1220731: to=<bounces@sender.test>, relay=mx.sender.test[127.0.0.20]:25, delay=0.05, delays=0/0.04/0/0, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 6FFA022073D)',
  others: [
    'Dec 06 19:21:13 mta postfix/postfix-script[25638]: starting the Postfix mail system',
    'Dec 06 19:21:13 mta postfix/master[25640]: daemon started -- version 3.7.11, configuration /var/tmp/mailscope-lab-5f3a9c21/etc/postfix',
    'Dec 06 19:21:14 mta postfix/submission-clean/smtpd[25665]: connect from localhost[127.0.0.1]',
    'Dec 06 19:21:14 mx postfix/mx-gmail/smtpd[25679]: disconnect from localhost[127.0.0.1] commands=0/0',
  ],
};

function delivery(line: string, options = utc): PostfixDelivery {
  const record = parsePostfixLine(line, options);
  if (record?.kind !== 'delivery') throw new Error(`not a delivery: ${line}`);
  return record;
}

describe('a Postfix delivery line', () => {
  it("reads the lab's sent line: time, service, queue id, recipient, relay, delay, dsn, the reply's code", () => {
    expect(delivery(lab.sent)).toEqual({
      kind: 'delivery',
      time: new Date('2026-12-06T19:21:49Z'),
      host: 'mta',
      service: 'postfix/pool-clean/smtp',
      syslogName: 'postfix/pool-clean',
      program: 'smtp',
      queueId: '2821D22069D',
      recipient: 'seed1@gmail.test',
      recipientDomain: 'gmail.test',
      relay: 'mx.gmail.test[127.0.0.21]:25',
      relayHost: 'mx.gmail.test',
      relayIp: '127.0.0.21',
      delaySeconds: 0.78,
      dsn: '2.0.0',
      status: 'sent',
      smtpCode: 250,
      reply: '250 2.0.0 Ok: queued as 8481B2206A0',
    });
  });

  it('reads the lab\'s bounce: the remote\'s code and text without "host X said:" and the command it answered', () => {
    const bounced = delivery(lab.bounced);
    expect(bounced).toMatchObject({ status: 'bounced', dsn: '5.7.1', smtpCode: 554, command: 'RCPT TO', service: 'postfix/pool-listed/smtp', recipientDomain: 'yahoo.test' });
    expect(bounced.reply).toBe(
      '554 5.7.1 Service unavailable; Client host [127.0.0.11] blocked using zen.dnsbl.test; Listed in lab XBL (exploited host), see https://dnsbl.test/xbl?ip=127.0.0.11 / Listed in lab SBL (spam source), see https://dnsbl.test/sbl?ip=127.0.0.11',
    );
  });

  it("reads the lab's LMTP delivery (a socket, not an IP; conn_use between relay and delay) and its bounce to the sender", () => {
    expect(delivery(lab.lmtp)).toMatchObject({ program: 'lmtp', syslogName: 'postfix', relayHost: 'mta.sender.test', status: 'sent', delaySeconds: 0.7, smtpCode: 250 });
    expect(delivery(lab.lmtp).relayIp).toBeUndefined();
    expect(delivery(lab.bounceToSender)).toMatchObject({ service: 'postfix/smtp', syslogName: 'postfix', program: 'smtp', recipientDomain: 'sender.test' });
  });

  it.each([
    [
      'syslog (day padded with a space)',
      'Dec  6 10:00:00 host postfix/smtp[123]: 4ABC123: to=<a@b.test>, relay=mx.b.test[127.0.0.5]:25, delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as XYZ)',
      '2026-12-06T10:00:00.000Z',
    ],
    [
      'maillog_file (day padded with a zero)',
      'Dec 06 10:00:00 host postfix/smtp[123]: 4ABC123: to=<a@b.test>, relay=mx.b.test[127.0.0.5]:25, delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok)',
      '2026-12-06T10:00:00.000Z',
    ],
    [
      'RFC 3339 (rsyslog high precision)',
      '2026-12-06T10:00:00.123456+00:00 host postfix/smtp[123]: 4ABC123: to=<a@b.test>, relay=mx.b.test[127.0.0.5]:25, delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok)',
      '2026-12-06T10:00:00.123Z',
    ],
    [
      'RFC 3339 with an offset',
      '2026-12-06T11:00:00.5+01:00 host postfix/smtp[123]: 4ABC123: to=<a@b.test>, relay=mx.b.test[127.0.0.5]:25, delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 Ok)',
      '2026-12-06T10:00:00.500Z',
    ],
    [
      'RFC 3339 with Z',
      '2026-12-06T10:00:00Z host postfix/smtp[123]: 4ABC123: to=<a@b.test>, relay=mx.b.test[127.0.0.5]:25, delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 Ok)',
      '2026-12-06T10:00:00.000Z',
    ],
    [
      'ISO with +0100 (journald short-iso)',
      '2026-12-06T11:00:00+0100 host postfix/smtp[123]: 4ABC123: to=<a@b.test>, relay=mx.b.test[127.0.0.5]:25, delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 Ok)',
      '2026-12-06T10:00:00.000Z',
    ],
  ])('reads the %s format', (_format, line, time) => {
    const record = delivery(line);
    expect(record.time.toISOString()).toBe(time);
    expect(record).toMatchObject({ queueId: '4ABC123', recipientDomain: 'b.test', status: 'sent', relayIp: '127.0.0.5', delaySeconds: 0.5 });
  });

  it.each([
    [
      'deferred, no connection (no remote code)',
      'Dec  6 10:00:00 h postfix/pool-a/smtp[1]: 4ABC123: to=<x@c.test>, relay=none, delay=30, delays=0.01/0/30/0, dsn=4.4.1, status=deferred (connect to mx.c.test[192.0.2.7]:25: Connection refused)',
      { status: 'deferred', dsn: '4.4.1', relay: 'none', reply: 'connect to mx.c.test[192.0.2.7]:25: Connection refused' },
      ['smtpCode', 'relayHost', 'command'],
    ],
    [
      'deferred, a multi-line throttle reply',
      'Dec  6 10:00:00 h postfix/pool-a/smtp[1]: 4ABC123: to=<x@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.27.26]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=4.7.28, status=deferred (host gmail-smtp-in.l.google.com[142.250.27.26] said: 421-4.7.28 Gmail has detected an unusual rate of unsolicited mail. 421 4.7.28 https://support.google.com/mail/?p=UnsolicitedRateLimitError - gsmtp (in reply to end of DATA command))',
      {
        status: 'deferred',
        dsn: '4.7.28',
        smtpCode: 421,
        command: 'end of DATA',
        reply: '421-4.7.28 Gmail has detected an unusual rate of unsolicited mail. 421 4.7.28 https://support.google.com/mail/?p=UnsolicitedRateLimitError - gsmtp',
      },
      [],
    ],
    [
      'bounced, user unknown',
      'Dec  6 10:00:00 h postfix/smtp[1]: 4ABC123: to=<a@b.test>, relay=mx.test[1.2.3.4]:25, delay=0.3, delays=0/0/0.1/0.2, dsn=5.1.1, status=bounced (host mx.test[1.2.3.4] said: 550 5.1.1 <a@b> User unknown (in reply to RCPT TO command))',
      { status: 'bounced', smtpCode: 550, dsn: '5.1.1', command: 'RCPT TO', reply: '550 5.1.1 <a@b> User unknown' },
      [],
    ],
    [
      'bounced, the banner refused',
      'Dec  6 10:00:00 h postfix/smtp[1]: 4ABC123: to=<a@b.test>, relay=mx.test[1.2.3.4]:25, delay=0.3, delays=0/0/0.1/0.2, dsn=5.7.1, status=bounced (host mx.test[1.2.3.4] refused to talk to me: 554 5.7.1 Blocked - see https://rbl.example)',
      { status: 'bounced', smtpCode: 554, reply: '554 5.7.1 Blocked - see https://rbl.example' },
      ['command'],
    ],
    [
      'bounced, no such domain',
      'Dec  6 10:00:00 h postfix/smtp[1]: 4ABC123: to=<a@nowhere.test>, relay=none, delay=0.01, delays=0/0/0/0, dsn=5.4.4, status=bounced (Host or domain name not found. Name service error for name=nowhere.test type=A: Host not found)',
      { status: 'bounced', dsn: '5.4.4', reply: 'Host or domain name not found. Name service error for name=nowhere.test type=A: Host not found' },
      ['smtpCode'],
    ],
    [
      'expired, per recipient',
      'Dec  6 10:00:00 h postfix/error[1]: 4ABC123: to=<d@example.test>, relay=none, delay=432000, delays=432000/0/0/0, dsn=4.4.7, status=expired, returned to sender',
      { status: 'expired', dsn: '4.4.7', delaySeconds: 432000, program: 'error' },
      ['reply', 'smtpCode'],
    ],
    [
      'soft_bounce=yes (read as a deferral)',
      'Dec  6 10:00:00 h postfix/smtp[1]: 4ABC123: to=<a@b.test>, relay=mx.test[1.2.3.4]:25, delay=0.3, delays=0/0/0.1/0.2, dsn=5.1.1, status=SOFTBOUNCE (host mx.test[1.2.3.4] said: 550 5.1.1 unknown (in reply to RCPT TO command))',
      { status: 'deferred', smtpCode: 550 },
      [],
    ],
    [
      'orig_to, an IPv6 relay, a long queue id, a syslog_name without a slash',
      'Dec  6 10:00:00 h postfix-pool-b/smtp[1]: 4Q0bqk3Ddxz9sWb: to=<Someone@Outlook.COM>, orig_to=<alias@sender.test>, relay=mx.outlook.com[2001:db8::25]:25, delay=2, delays=1/0/0.5/0.5, dsn=2.6.0, status=sent (250 2.6.0 <id@sender.test> Queued mail for delivery)',
      {
        status: 'sent',
        queueId: '4Q0bqk3Ddxz9sWb',
        recipient: 'Someone@Outlook.COM',
        recipientDomain: 'outlook.com',
        originalRecipient: 'alias@sender.test',
        relayIp: '2001:db8::25',
        syslogName: 'postfix-pool-b',
        program: 'smtp',
      },
      [],
    ],
    [
      'a quoted local part holding ">, "',
      'Dec  6 10:00:00 h postfix/smtp[1]: 4ABC123: to=<"odd>, name"@b.test>, relay=mx.b.test[192.0.2.1]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)',
      { recipient: '"odd>, name"@b.test', recipientDomain: 'b.test', relayIp: '192.0.2.1' },
      [],
    ],
    [
      'local delivery',
      'Dec  6 10:00:00 h postfix/local[1]: 4ABC123: to=<root@mta.sender.test>, orig_to=<root>, relay=local, delay=0.02, delays=0.01/0/0/0.01, dsn=2.0.0, status=sent (delivered to mailbox)',
      { program: 'local', relay: 'local', reply: 'delivered to mailbox', originalRecipient: 'root' },
      ['relayHost', 'smtpCode'],
    ],
  ])('reads %s', (_what, line, expected, absent) => {
    const record = delivery(line);
    expect(record).toMatchObject(expected);
    for (const key of absent) expect(record, key).not.toHaveProperty(key);
  });

  it('keeps a recipient whose domain does not read as one, without a domain', () => {
    const line = (to: string) => `Dec  6 10:00:00 h postfix/smtp[1]: 4ABC123: to=<${to}>, relay=none, delay=1, delays=0/0/0/1, dsn=5.0.0, status=bounced (nope)`;
    expect(delivery(line('root')).recipientDomain).toBeUndefined();
    expect(delivery(line('a@b c.test')).recipientDomain).toBeUndefined();
    expect(delivery(line('a@[192.0.2.1]')).recipientDomain).toBe('[192.0.2.1]');
    expect(delivery(line('a@Bücher.Example.')).recipientDomain).toBe('bücher.example');
  });

  it('keeps the reply as logged (cleaning it is the caller’s), cut to its bound', () => {
    const line = `Dec  6 10:00:00 h postfix/smtp[1]: 4ABC123: to=<a@b.test>, relay=mx.test[1.2.3.4]:25, delay=1, delays=0/0/0/1, dsn=5.7.1, status=bounced (host mx.test[1.2.3.4] said: 550 5.7.1 \u001b[31mred\u0007 ${'x'.repeat(5_000)} (in reply to RCPT TO command))`;
    const record = delivery(line);
    expect(record).toMatchObject({ smtpCode: 550, command: 'RCPT TO' });
    expect(record.reply).toHaveLength(replyLength);
    expect(record.reply!.startsWith('550 5.7.1 \u001b[31mred\u0007 xxx')).toBe(true);
  });
});

describe('lines that are not deliveries', () => {
  it.each([
    ...lab.others,
    'Dec  6 10:00:00 h postfix/qmgr[1]: 4ABC123: from=<s@sender.test>, size=1234, nrcpt=1 (queue active)',
    'Dec  6 10:00:00 h postfix/cleanup[1]: 4ABC123: message-id=<x@sender.test>',
    'Dec  6 10:00:00 h postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[1.2.3.4]: 554 5.7.1 <a@b.test>: Relay access denied; from=<s@x> to=<a@b.test> proto=ESMTP helo=<x>',
    'Dec  6 10:00:00 h postfix/bounce[1]: 4ABC123: sender non-delivery notification: 5DEF456',
    'Dec  6 10:00:00 h postfix/smtp[1]: 4ABC123: to=<a@b.test>, relay=mx.b.test[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=2.1.5, status=deliverable (250 2.1.5 Ok)',
    'Dec  6 10:00:00 h postfix/smtp[1]: 4ABC123: to=<a@b.test>, relay=mx.b.test[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sentinel (250 ok)',
    'Dec  6 10:00:00 h opendkim[1]: 4ABC123: DKIM-SIGNATURE field added (s=lab2026, d=sender.test)',
    'Dec  6 10:00:00 h dovecot: lmtp(seed1@gmail.test): saved mail to INBOX',
    'Dec  6 10:00:00 h postfix/smtp[1]: warning: TLS library problem',
    'Dec  6 10:00:00 h postfix/smtp[1]: 4ABC123: to=<a@b.test>, relay=mx',
    'Dec  6 10:00:00 h postfix/smtp[1]: 4ABC123: to=<a@b.test',
    '',
    'hello',
    'Dec  6 10:00:00',
    'Foo  6 10:00:00 h postfix/smtp[1]: 4ABC123: to=<a@b.test>, relay=none, delay=1, delays=0/0/0/1, dsn=5.0.0, status=bounced (x)',
    'Dec 36 10:00:00 h postfix/smtp[1]: 4ABC123: to=<a@b.test>, relay=none, delay=1, delays=0/0/0/1, dsn=5.0.0, status=bounced (x)',
    'Dec  6 25:00:00 h postfix/smtp[1]: 4ABC123: to=<a@b.test>, relay=none, delay=1, delays=0/0/0/1, dsn=5.0.0, status=bounced (x)',
    '2026-13-45T10:00:00Z h postfix/smtp[1]: 4ABC123: to=<a@b.test>, relay=none, delay=1, delays=0/0/0/1, dsn=5.0.0, status=bounced (x)',
    '\u0000\u0001\u00ff\ufffd binary \u001b[2J',
  ])('%j', (line) => {
    expect(parsePostfixLine(line, utc)).toBeUndefined();
  });

  it('reads hostile long lines in linear time', () => {
    const prefix = 'Dec  6 10:00:00 h postfix/smtp[1]: 4ABC123: ';
    const lines = [
      `${prefix}to=<${'>, '.repeat(20_000)}`,
      `${prefix}to=<a@b>, relay=${', '.repeat(20_000)}`,
      `${prefix}to=<a@b>, relay=none, delay=1, dsn=5.0.0, status=bounced (${'host x said: ('.repeat(4_000)}`,
      `${prefix}from=<${'>, '.repeat(20_000)}`,
      `Dec  6 10:00:00 ${'h'.repeat(60_000)}`,
      `Dec  6 10:00:00 h ${'p/'.repeat(30_000)}`,
    ];
    const started = performance.now();
    for (const line of lines) parsePostfixLine(line, utc);
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('the time of a line', () => {
  const line = (stamp: string) => `${stamp} h postfix/smtp[1]: 4ABC123: to=<a@b.test>, relay=none, delay=1, delays=0/0/0/1, dsn=5.0.0, status=bounced (x)`;
  const at = (stamp: string, clock: string, timeZone: string | undefined = 'UTC') => delivery(line(stamp), { now: new Date(clock), timeZone }).time.toISOString();

  it("takes the year from now's: a line more than a day ahead is last year's, one just past New Year next year's", () => {
    expect(at('Dec  6 10:00:00', '2026-12-06T20:00:00Z')).toBe('2026-12-06T10:00:00.000Z');
    expect(at('Dec 31 23:59:00', '2027-01-01T00:30:00Z')).toBe('2026-12-31T23:59:00.000Z');
    expect(at('Jan  1 00:10:00', '2026-12-31T23:30:00Z')).toBe('2027-01-01T00:10:00.000Z');
    expect(at('Dec  7 10:00:00', '2026-12-06T20:00:00Z')).toBe('2026-12-07T10:00:00.000Z');
    expect(at('Dec  8 10:00:00', '2026-12-06T20:00:00Z')).toBe('2025-12-08T10:00:00.000Z');
    expect(at('Feb 29 12:00:00', '2027-03-01T00:00:00Z')).toBe('2024-02-29T12:00:00.000Z');
  });

  it("reads it in the log's time zone, across daylight saving time, or in this process's zone by default", () => {
    expect(at('Dec  6 10:00:00', '2026-12-06T20:00:00Z', 'Europe/Berlin')).toBe('2026-12-06T09:00:00.000Z');
    expect(at('Jul  6 10:00:00', '2026-12-06T20:00:00Z', 'Europe/Berlin')).toBe('2026-07-06T08:00:00.000Z');
    expect(at('Jul  6 10:00:00', '2026-12-06T20:00:00Z', 'America/New_York')).toBe('2026-07-06T14:00:00.000Z');
    expect(at('Dec  6 10:00:00.250', '2026-12-06T20:00:00Z', undefined)).toBe(new Date(2026, 11, 6, 10, 0, 0, 250).toISOString());
    // An ISO time carries its own offset: the zone does not apply.
    expect(at('2026-12-06T10:00:00+00:00', '2026-12-06T20:00:00Z', 'Europe/Berlin')).toBe('2026-12-06T10:00:00.000Z');
  });
});

describe("the queue manager's lines", () => {
  it('reads an expiry (no recipient: the sender) and a removal', () => {
    expect(parsePostfixLine('Dec 28 13:39:28 mx postfix/qmgr[22753]: C93CEB08A046: from=<ina@somedomain.com>, status=expired, returned to sender', utc)).toMatchObject({
      kind: 'expiry',
      queueId: 'C93CEB08A046',
      sender: 'ina@somedomain.com',
      program: 'qmgr',
      time: new Date('2025-12-28T13:39:28Z'),
    });
    expect(parsePostfixLine('Dec  6 10:00:00 h postfix/qmgr[1]: 4ABC123: from=<>, status=expired, returned to sender', utc)).toMatchObject({ kind: 'expiry', sender: '' });
    expect(parsePostfixLine('Dec  6 10:00:00 h postfix/qmgr[1]: 4ABC123: removed', utc)).toMatchObject({ kind: 'removed', queueId: '4ABC123' });
  });
});

describe("a reply's text", () => {
  it('keeps a local description whole, takes the code of a remote reply', () => {
    expect(readReply('250 2.0.0 Ok: queued as XYZ')).toEqual({ smtpCode: 250, reply: '250 2.0.0 Ok: queued as XYZ' });
    expect(readReply('delivery temporarily suspended: host mx.b.test[192.0.2.1] said: 421 4.7.0 Try again later (in reply to MAIL FROM command)')).toEqual({
      smtpCode: 421,
      reply: '421 4.7.0 Try again later',
      command: 'MAIL FROM',
    });
    expect(readReply('lost connection with mx.b.test[192.0.2.1] while receiving the initial server greeting')).toEqual({
      reply: 'lost connection with mx.b.test[192.0.2.1] while receiving the initial server greeting',
    });
  });
});

describe("following a message's deferred recipients to its expiry", () => {
  const line = (queueId: string, to: string, status: string, service = 'postfix/pool-a/smtp') =>
    `Dec  6 10:00:00 h ${service}[1]: ${queueId}: to=<${to}>, relay=none, delay=1, delays=0/0/0/1, dsn=4.4.1, status=${status} (connect to mx.x[192.0.2.9]:25: Connection timed out)`;
  const expiry = (queueId: string) => `Dec  6 11:00:00 h postfix/qmgr[1]: ${queueId}: from=<s@sender.test>, status=expired, returned to sender`;
  const note = (tracker: DeferredRecipients, text: string) => tracker.note(parsePostfixLine(text, utc)!);

  it('an expiry is one expired delivery per recipient still deferred, with the service that deferred it', () => {
    const tracker = new DeferredRecipients();
    note(tracker, line('AAAAA1', 'one@x.test', 'deferred'));
    note(tracker, line('AAAAA1', 'two@y.test', 'deferred'));
    note(tracker, line('AAAAA1', 'two@y.test', 'deferred'));
    note(tracker, line('AAAAA1', 'three@z.test', 'deferred'));
    // Delivered at a later attempt: it does not expire.
    note(tracker, line('AAAAA1', 'three@z.test', 'sent'));
    expect(tracker.size).toBe(2);
    const expired = note(tracker, expiry('AAAAA1'));
    expect(expired.map((record) => [record.recipientDomain, record.status, record.service, record.dsn, record.time.toISOString()])).toEqual([
      ['x.test', 'expired', 'postfix/pool-a/smtp', '4.4.1', '2026-12-06T11:00:00.000Z'],
      ['y.test', 'expired', 'postfix/pool-a/smtp', '4.4.1', '2026-12-06T11:00:00.000Z'],
    ]);
    expect(expired[0]!.reply).toBe('connect to mx.x[192.0.2.9]:25: Connection timed out');
    expect(tracker.size).toBe(0);
    // Nothing seen deferred: nothing to expire.
    expect(note(tracker, expiry('BBBBB2'))).toEqual([]);
  });

  it('forgets a removed message, and the oldest messages past its limit (counted)', () => {
    const tracker = new DeferredRecipients(3);
    note(tracker, line('AAAAA1', 'a@x.test', 'deferred'));
    note(tracker, line('AAAAA1', 'a@x.test', 'expired, returned to sender'));
    expect(tracker.size).toBe(0);
    note(tracker, line('BBBBB2', 'b@x.test', 'deferred'));
    expect(tracker.size).toBe(1);
    note(tracker, 'Dec  6 10:00:00 h postfix/qmgr[1]: BBBBB2: removed');
    expect(tracker.size).toBe(0);
    for (const id of ['CCCCC1', 'CCCCC2', 'CCCCC3', 'CCCCC4']) note(tracker, line(id, `r@${id}.test`, 'deferred'));
    expect(tracker.size).toBe(3);
    expect(tracker.forgotten).toBe(1);
    expect(note(tracker, expiry('CCCCC1'))).toEqual([]);
    expect(note(tracker, expiry('CCCCC4'))).toHaveLength(1);
  });
});
