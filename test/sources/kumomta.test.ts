/**
 * The KumoMTA log hook: what is read from the records KumoMTA's log_hooks helper
 * posts, what is skipped, and what is refused (naming the record and the field).
 *
 * Where the records come from: `reception` is verbatim from KumoMTA's docs
 * (docs/userguide/operation/logs.md). `documented` carries the example values of
 * docs/reference/log_record.md in the field set of JsonLogRecord
 * (crates/kumo-log-types/src/lib.rs). The others are constructed from those two,
 * with the fields KumoMTA's code sets for their type (OOB: logging/disposition.rs;
 * Expiration: the make_expiration test of the DSN generator; holds: queue.rs) and
 * provider replies quoted in the research notes; each says so.
 */
import { describe, expect, it } from 'vitest';
import { SourceInputError } from '../../src/sources/define.ts';
import { findSource } from '../../src/sources/index.ts';
import { AttemptRecord, ipOfAddress, kumomta, parseKumoRecords, parseQueueName, plainAttempt } from '../../src/sources/kumomta.ts';

const config = kumomta.configSchema.parse({ id: 'mta', kind: 'kumomta' });
const parse = (body: unknown, overrides: Record<string, unknown> = {}) => parseKumoRecords(body, kumomta.configSchema.parse({ id: 'mta', kind: 'kumomta', ...overrides }));

/** Verbatim: docs/userguide/operation/logs.md. */
const reception = JSON.parse(
  '{"type":"Reception","id":"f68462cf36ca11ee99f450ebf67f93bd","sender":"wez@example.com","recipient":"wez@example.com.org","queue":"example.com.org","site":"","size":518,"response":{"code":250,"enhanced_code":null,"content":"","command":null},"peer_address":{"name":"foo.lan","addr":"127.0.0.1"},"timestamp":1691595584,"created":1691595584,"num_attempts":0,"bounce_classification":"Uncategorized","egress_pool":null,"egress_source":null,"feedback_report":null,"meta":{},"headers":{},"delivery_protocol":null,"reception_protocol":"ESMTP","nodeid":"4eb22880-dc03-44dc-a4d1-4d0e68ac7845"}',
) as Record<string, unknown>;

/** The example values of docs/reference/log_record.md (a Delivery to Gmail through source2 of pool0). */
const documented = {
  type: 'Delivery',
  id: '1d98076abbbc11ed940250ebf67f93bd',
  sender: 'user@sender.example.com',
  recipient: 'user@recipient.example.com',
  queue: 'campaign:tenant@domain',
  site: 'source2->(alt1|alt2|alt3|alt4)?.gmail-smtp-in.l.google.com.',
  size: 1047,
  response: { code: 250, enhanced_code: { class: 2, subject: 0, detail: 0 }, content: 'OK ids=8a5475ccbbc611eda12250ebf67f93bd', command: '.' },
  peer_address: { name: 'gmail-smtp-in.l.google.com.', addr: '142.251.2.27' },
  timestamp: 1678069691,
  created: 1678069691,
  num_attempts: 0,
  bounce_classification: 'Uncategorized',
  egress_pool: 'pool0',
  egress_source: 'source2',
  source_address: { address: '10.0.0.1:53210', protocol: 'socks5', server: '192.168.1.1:5000' },
  feedback_report: null,
  meta: {},
  headers: {},
  delivery_protocol: 'ESMTP',
  reception_protocol: 'ESMTP',
  nodeid: '557f3ad4-2c8c-11ee-976e-782d7e12e173',
  tls_cipher: 'TLS_AES_256_GCM_SHA384',
  tls_protocol_version: 'TLSv1.3',
  session_id: '9bcd689e-23d9-41b7-a015-63a1382f8b57',
};

/** Constructed: the Delivery above, received 90 seconds before it was delivered. */
const delivery = { ...documented, created: documented.timestamp - 90 };

/** Constructed: Gmail's rate limit (421 4.7.28, its wording as logged) on a later attempt. */
const transient = {
  ...documented,
  type: 'TransientFailure',
  recipient: 'someone@gmail.com',
  queue: 'spring-sale:acme@gmail.com',
  num_attempts: 1,
  response: {
    code: 421,
    enhanced_code: { class: 4, subject: 7, detail: 28 },
    content:
      'Our system has detected an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP address has been temporarily rate limited. - gsmtp',
    command: 'MAIL FROM',
  },
};

/** Constructed: Gmail's unknown user (550 5.1.1), classified InvalidRecipient by KumoMTA's iana.toml. */
const bounce = {
  ...documented,
  type: 'Bounce',
  recipient: 'nobody@gmail.com',
  queue: 'gmail.com',
  response: {
    code: 550,
    enhanced_code: { class: 5, subject: 1, detail: 1 },
    content: "The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces.",
    command: 'RCPT TO',
  },
  bounce_classification: 'InvalidRecipient',
};

/** Constructed from KumoMTA's make_expiration test: no site, peer, egress or delivery protocol. */
const expiration = {
  ...reception,
  type: 'Expiration',
  recipient: 'late@example.org',
  queue: 'example.org',
  response: {
    code: 551,
    enhanced_code: { class: 5, subject: 4, detail: 7 },
    content: 'Next delivery time would be at SOME TIME which exceeds the expiry time EXPIRES configured via set_scheduling',
    command: null,
  },
  peer_address: null,
  timestamp: 1691600000,
  created: 1691595584,
  reception_protocol: 'ESMTP',
};

/** Constructed as logging/disposition.rs builds it: the DSN's queue and peer, no egress, size and attempts 0. */
const oob = {
  ...reception,
  type: 'OOB',
  sender: 'bounces@sender.example.com',
  recipient: 'gone@yahoo.com',
  queue: 'newsletter:acme@bounce.sender.example.com',
  size: 0,
  peer_address: { name: 'mta1.am0.yahoodns.net', addr: '0.0.0.0' },
  response: { code: 554, enhanced_code: { class: 5, subject: 0, detail: 0 }, content: "delivery error: dd This user doesn't have a yahoo.com account", command: null },
  delivery_protocol: null,
};

/** The feedback_report example of docs/reference/log_record.md, in a Feedback record (the report's own sender and recipient). */
const feedbackReport = {
  feedback_type: 'abuse',
  user_agent: 'SomeGenerator/1.0',
  version: 1,
  arrival_date: '2005-03-08T18:00:00Z',
  incidents: null,
  original_envelope_id: null,
  original_mail_from: '<somesender@example.net>',
  reporting_mta: { mta_type: 'dns', name: 'mail.example.com' },
  source_ip: '192.0.2.1',
  authentication_results: ['mail.example.com; spf=fail smtp.mail=somesender@example.com'],
  original_rcpto_to: ['<user@example.com>'],
  reported_domain: ['example.net'],
  reported_uri: ['http://example.net/earn_money.html', 'mailto:user@example.com'],
  extensions: { 'removal-recipient': ['user@example.com'] },
  original_message: 'From: <somesender@example.net>\nX-KumoRef: eyJfQF8iOiJcXF8vIiwicmVjaXBpZW50IjoidGVzdEBleGFtcGxlLmNvbSJ9\n\nSpam Spam Spam\n',
  supplemental_trace: { recipient: 'test@example.com' },
};
const feedback = { ...reception, type: 'Feedback', sender: 'feedback@arf.example.com', recipient: 'fbl@fbl.sender.example.com', queue: 'fbl.sender.example.com', feedback_report: feedbackReport };

function refusal(body: unknown, overrides: Record<string, unknown> = {}): SourceInputError {
  try {
    parse(body, overrides);
  } catch (error) {
    expect(error).toBeInstanceOf(SourceInputError);
    return error as SourceInputError;
  }
  throw new Error('expected the body to be refused');
}

describe('the KumoMTA log hook', () => {
  it('is registered, with its defaults and an 8 MiB body limit', () => {
    expect(findSource('kumomta')).toBe(kumomta);
    expect(kumomta.http?.maxBodyBytes).toBe(8 * 1024 * 1024);
    expect(config).toMatchObject({
      pools: {},
      sources: {},
      campaignMeta: 'campaign',
      tenantMeta: 'tenant',
      queueNames: true,
      protocols: ['ESMTP'],
      countAdminBounces: false,
      countOutOfBand: true,
      bounceClasses: {},
    });
    expect(kumomta.configSchema.safeParse({ id: 'mta', kind: 'kumomta', sources: { 'ip-1': 'not-an-ip' } }).success).toBe(false);
    expect(kumomta.configSchema.safeParse({ id: 'mta', kind: 'kumomta', bounceClasses: { SpamBlock: 'spam' } }).success).toBe(false);
    expect(kumomta.configSchema.safeParse({ id: 'mta', kind: 'kumomta', surprise: 1 }).success).toBe(false);
  });

  it('reads a Delivery: domain, source IP without its port, pool, campaign and tenant from the queue, codes, latency; no reply kept', () => {
    expect(parse(delivery)).toEqual([
      {
        time: new Date(1678069691_000),
        outcome: 'delivered',
        recipientDomain: 'recipient.example.com',
        ip: '10.0.0.1',
        pool: 'pool0',
        campaign: 'campaign',
        tenant: 'tenant',
        smtpCode: 250,
        enhancedCode: '2.0.0',
        latencyMs: 90_000,
      },
    ]);
  });

  it("reads TransientFailure, Bounce and Expiration with their codes and the reply; KumoMTA's bounce_classification only when mapped", () => {
    const [deferred, bounced, expired] = parse([transient, bounce, expiration]);
    expect(deferred).toMatchObject({ outcome: 'deferred', recipientDomain: 'gmail.com', campaign: 'spring-sale', tenant: 'acme', smtpCode: 421, enhancedCode: '4.7.28' });
    expect(deferred!.reply).toMatch(/^Our system has detected an unusual rate/);
    expect(deferred).not.toHaveProperty('latencyMs');
    expect(bounced).toMatchObject({ outcome: 'bounced', recipientDomain: 'gmail.com', smtpCode: 550, enhancedCode: '5.1.1' });
    expect(bounced).not.toHaveProperty('bounceClass');
    expect(bounced).not.toHaveProperty('campaign');
    expect(expired).toEqual({
      time: new Date(1691600000_000),
      outcome: 'expired',
      recipientDomain: 'example.org',
      smtpCode: 551,
      enhancedCode: '5.4.7',
      reply: 'Next delivery time would be at SOME TIME which exceeds the expiry time EXPIRES configured via set_scheduling',
    });
    const [mapped, unmapped] = parse([bounce, transient], { bounceClasses: { InvalidRecipient: 'invalid_recipient', Uncategorized: 'other' } });
    expect(mapped).toMatchObject({ bounceClass: 'invalid_recipient' });
    expect(unmapped).toMatchObject({ bounceClass: 'other' });
  });

  it("counts an OOB as bounced, its domain from the recipient and never campaign or tenant from the queue (that is the DSN's); countOutOfBand: false skips it", () => {
    expect(parse(oob)).toEqual([
      {
        time: new Date(1691595584_000),
        outcome: 'bounced',
        recipientDomain: 'yahoo.com',
        smtpCode: 554,
        enhancedCode: '5.0.0',
        reply: "delivery error: dd This user doesn't have a yahoo.com account",
      },
    ]);
    expect(parse({ ...oob, meta: { campaign: 'newsletter' } })[0]).toMatchObject({ campaign: 'newsletter' });
    expect(parse(oob, { countOutOfBand: false })).toEqual([]);
  });

  it('skips an AdminBounce unless countAdminBounces', () => {
    const admin = {
      ...bounce,
      type: 'AdminBounce',
      response: { code: 551, enhanced_code: { class: 5, subject: 7, detail: 1 }, content: 'Administrative bounce: bad list', command: null },
      delivery_protocol: null,
    };
    expect(parse(admin)).toEqual([]);
    expect(parse(admin, { countAdminBounces: true })).toEqual([expect.objectContaining({ outcome: 'bounced', recipientDomain: 'gmail.com', smtpCode: 551 })]);
  });

  it('counts a Feedback abuse report as a complaint against the recipient in the trace header, from Source-IP, with campaign from the trace', () => {
    expect(parse(feedback)).toEqual([{ time: new Date(1691595584_000), outcome: 'complained', recipientDomain: 'example.com', ip: '192.0.2.1' }]);
    const traced = { ...feedback, feedback_report: { ...feedbackReport, supplemental_trace: { recipient: 'Someone@Hotmail.com', campaign: 'spring-sale', tenant: 'acme' } } };
    expect(parse(traced)).toEqual([{ time: new Date(1691595584_000), outcome: 'complained', recipientDomain: 'hotmail.com', ip: '192.0.2.1', campaign: 'spring-sale', tenant: 'acme' }]);
    // No trace header: Original-Rcpt-To; everything redacted: the reporting provider's own domain.
    const untraced = { ...feedback, feedback_report: { ...feedbackReport, supplemental_trace: null, original_rcpto_to: ['<redacted@yahoo.com>'] } };
    expect(parse(untraced)[0]).toMatchObject({ recipientDomain: 'yahoo.com' });
    const redacted = { ...feedback, feedback_report: { ...feedbackReport, supplemental_trace: null, original_rcpto_to: [] } };
    expect(parse(redacted)[0]).toMatchObject({ recipientDomain: 'arf.example.com' });
  });

  it('skips feedback that is not a complaint, and a complaint nothing places', () => {
    for (const type of ['not-spam', 'auth-failure', 'virus', 'other']) expect(parse({ ...feedback, feedback_report: { ...feedbackReport, feedback_type: type } })).toEqual([]);
    expect(parse({ ...feedback, feedback_report: { ...feedbackReport, feedback_type: 'Fraud' } })).toHaveLength(1);
    const nowhere = { ...feedback, sender: '', feedback_report: { ...feedbackReport, supplemental_trace: null, original_rcpto_to: [], reporting_mta: null } };
    expect(parse(nowhere)).toEqual([]);
  });

  it("skips what is not an outcome of delivery: Reception, Rejection, Delayed, rebinds, a type it does not know, the hook's own records, other protocols", () => {
    const rejection = { ...reception, type: 'Rejection', response: { code: 550, enhanced_code: { class: 5, subject: 7, detail: 1 }, content: 'relaying not permitted', command: 'RCPT TO' } };
    const delayed = { ...reception, type: 'Delayed', response: { code: 400, enhanced_code: null, content: 'Context: ScheduledForLater. Next due in 5m at ...', command: null } };
    const others = ['AdminRebind', 'DeferredInjectionRebind', 'Any', 'SomethingLaterVersionsAdd'].map((type) => ({ ...reception, type }));
    expect(parse([reception, rejection, delayed, ...others])).toEqual([]);
    expect(parse({ ...delivery, reception_protocol: 'LogRecord', queue: 'mailscope.log_hook' })).toEqual([]);
    expect(parse({ ...delivery, delivery_protocol: 'Lua' })).toEqual([]);
    expect(parse({ ...delivery, delivery_protocol: 'Maildir' })).toEqual([]);
    expect(parse({ ...delivery, delivery_protocol: 'Lua' }, { protocols: ['ESMTP', 'Lua'] })).toHaveLength(1);
  });

  it('skips KumoMTA holding mail back itself (suspensions, Mailscope pauses among them, throttles), and counts its connection failures', () => {
    const hold = (content: string) => ({ ...transient, response: { code: 451, enhanced_code: { class: 4, subject: 4, detail: 4 }, content, command: null } });
    const holds = [
      'KumoMTA internal: scheduled queue is suspended: mailscope control c-12 (rule:gmail-deferrals): deferral rate 0.4',
      'KumoMTA internal: ready queue is suspended: maintenance',
      'KumoMTA internal: spring-sale:acme@gmail.com throttled message rate, delay=12s',
      'KumoMTA internal: ready queue throttled',
      'KumoMTA internal: returning message to scheduled queue',
    ].map(hold);
    expect(parse(holds)).toEqual([]);
    const unreachable = { ...hold('KumoMTA internal: failed to connect to any candidate hosts: connect to 142.251.2.27:25: Connection timed out'), source_address: null };
    expect(parse(unreachable)).toEqual([expect.objectContaining({ outcome: 'deferred', smtpCode: 451, enhancedCode: '4.4.4', pool: 'pool0' })]);
  });

  it('takes one record, a JSON array, or one record per line (text or bytes)', () => {
    expect(parse(delivery)).toHaveLength(1);
    expect(parse([delivery, transient, reception, bounce])).toHaveLength(3);
    const lines = `${[delivery, transient, reception, bounce].map((record) => JSON.stringify(record)).join('\n')}\n`;
    expect(parse(lines)).toEqual(parse([delivery, transient, reception, bounce]));
    expect(parse(Buffer.from(lines.replaceAll('\n', '\r\n')))).toHaveLength(3);
    expect(parse(JSON.stringify([delivery, bounce]))).toHaveLength(2);
    expect(parse(JSON.stringify(delivery))).toHaveLength(1);
  });

  it('reads times as unix seconds or RFC 3339 (event_time, preferred: it keeps the sub-second part)', () => {
    const precise = { ...delivery, event_time: '2023-03-06T02:28:11.734512345Z', created_time: '2023-03-06T02:26:41.500000000Z' };
    expect(parse(precise)[0]).toMatchObject({ time: new Date('2023-03-06T02:28:11.734Z'), latencyMs: 90_234 });
    const onlyEventTime: Record<string, unknown> = { ...transient, event_time: '2023-03-06T03:28:11+01:00' };
    delete onlyEventTime.timestamp;
    expect(parse(onlyEventTime)[0]!.time).toEqual(new Date('2023-03-06T02:28:11Z'));
    // A clock that went backwards gives no latency rather than a negative one.
    expect(parse({ ...delivery, created: delivery.timestamp + 5 })[0]).not.toHaveProperty('latencyMs');
  });

  it('finds the sending IP in source_address (with or without a port, IPv6 too) or the sources map', () => {
    expect(ipOfAddress('10.0.0.1:53210')).toBe('10.0.0.1');
    expect(ipOfAddress('[2001:db8::25]:41022')).toBe('2001:db8::25');
    expect(ipOfAddress('2001:db8::25')).toBe('2001:db8::25');
    expect(ipOfAddress('203.0.113.7')).toBe('203.0.113.7');
    expect(ipOfAddress('[::ffff:203.0.113.7]:25')).toBe('203.0.113.7');
    expect(ipOfAddress('0.0.0.0:0')).toBeUndefined();
    expect(ipOfAddress('/var/run/kumo.sock')).toBeUndefined();
    const sources = { sources: { source2: '203.0.113.2' } };
    expect(parse({ ...delivery, source_address: null }, sources)[0]).toMatchObject({ ip: '203.0.113.2' });
    expect(parse({ ...delivery, source_address: { address: '0.0.0.0:0', protocol: 'haproxy' } }, sources)[0]).toMatchObject({ ip: '203.0.113.2' });
    expect(parse(delivery, sources)[0]).toMatchObject({ ip: '10.0.0.1' });
    const { source_address: _dropped, ...older } = delivery;
    expect(parse(older)[0]).not.toHaveProperty('ip');
  });

  it('names pools as configured (a source before its pool), campaign and tenant from meta before the queue', () => {
    expect(parse(delivery, { pools: { pool0: 'warm' } })[0]).toMatchObject({ pool: 'warm' });
    expect(parse(delivery, { pools: { pool0: 'warm', source2: 'warming-ip' } })[0]).toMatchObject({ pool: 'warming-ip' });
    expect(parse({ ...delivery, egress_pool: null, egress_source: null })[0]).not.toHaveProperty('pool');
    const meta = { ...delivery, meta: { campaign: 'from-meta', customer: 42 } };
    expect(parse(meta)[0]).toMatchObject({ campaign: 'from-meta', tenant: 'tenant' });
    expect(parse(meta, { tenantMeta: 'customer' })[0]).toMatchObject({ campaign: 'from-meta', tenant: '42' });
    expect(parse(delivery, { queueNames: false })[0]).not.toHaveProperty('campaign');
  });

  it('parses queue names the way KumoMTA does', () => {
    expect(parseQueueName('campaign:tenant@example.com')).toEqual({ campaign: 'campaign', tenant: 'tenant', domain: 'example.com' });
    expect(parseQueueName('campaign:tenant@example.com!smarthost.example.net')).toEqual({ campaign: 'campaign', tenant: 'tenant', domain: 'example.com', routingDomain: 'smarthost.example.net' });
    expect(parseQueueName('tenant@example.com')).toEqual({ tenant: 'tenant', domain: 'example.com' });
    expect(parseQueueName('tenant@example.com!relay.example.net')).toEqual({ tenant: 'tenant', domain: 'example.com', routingDomain: 'relay.example.net' });
    expect(parseQueueName('campaign:@example.com')).toEqual({ campaign: 'campaign', domain: 'example.com' });
    expect(parseQueueName('campaign:@example.com!relay.example.net')).toEqual({ campaign: 'campaign', domain: 'example.com', routingDomain: 'relay.example.net' });
    expect(parseQueueName('example.com')).toEqual({ domain: 'example.com' });
    expect(parseQueueName('example.com!relay.example.net')).toEqual({ domain: 'example.com', routingDomain: 'relay.example.net' });
    // Split at the first "@" and the first ":", as QueueNameComponents::parse does.
    expect(parseQueueName('a:b:c@d@example.com')).toEqual({ campaign: 'a', tenant: 'b:c', domain: 'd@example.com' });
    // A recipient without a domain falls back to the queue's.
    expect(parse({ ...delivery, recipient: 'postmaster', queue: 'acme@Example.COM!relay.example.net' })[0]).toMatchObject({ recipientDomain: 'example.com', tenant: 'acme' });
  });

  it('tolerates fields it does not know, fields Lua leaves out (nil), and empty tables encoded as []', () => {
    const later = { ...delivery, recipient_list: ['a@example.com'], provider_name: 'google', future: { nested: [1, 2] } };
    expect(parse(later)).toHaveLength(1);
    // A record that went through msg:get_meta('log_record') and kumo.serde.json_encode: nils vanish, {} may become [].
    const viaLua: Record<string, unknown> = { ...bounce, meta: [], headers: [], response: { code: 550, content: 'no such user' } };
    for (const key of ['egress_pool', 'egress_source', 'source_address', 'feedback_report', 'delivery_protocol', 'peer_address']) delete viaLua[key];
    expect(parse(viaLua)).toEqual([{ time: new Date(1678069691_000), outcome: 'bounced', recipientDomain: 'gmail.com', smtpCode: 550, reply: 'no such user' }]);
  });

  it('keeps a bounded, one-line excerpt of a huge reply and of overlong names', () => {
    const huge = { ...transient, response: { ...transient.response, content: `line one\r\nline two ${'x'.repeat(2_000_000)}` }, meta: { campaign: 'c'.repeat(5_000) } };
    const [event] = parse(huge);
    expect(event!.reply!.length).toBeLessThanOrEqual(1_000);
    expect(event!.reply).toMatch(/^line one line two x+…$/);
    expect(event!.campaign!.length).toBeLessThanOrEqual(128);
  });

  it.each([
    ['a response code that is not a number', [delivery, { ...bounce, response: { ...bounce.response, code: 'five fifty' } }], 1, 'response.code'],
    ['no time at all', [{ ...delivery, timestamp: undefined }], 0, 'timestamp'],
    ['an event_time that is not RFC 3339', [delivery, delivery, { ...delivery, event_time: 'yesterday' }], 2, 'event_time'],
    ['a recipient that is not text', [{ ...transient, recipient: 42 }], 0, 'recipient'],
    ['no type', [delivery, { ...delivery, type: undefined }], 1, 'type'],
    ['a record that is not an object', [delivery, 7], 1, undefined],
    ['an enhanced code that is not three numbers', [{ ...bounce, response: { ...bounce.response, enhanced_code: { class: 5, subject: '1' } } }], 0, 'response.enhanced_code.subject'],
    ['meta that is not a mapping', [{ ...delivery, meta: 'campaign=a' }], 0, 'meta'],
    ['a Feedback record without its report', [delivery, { ...feedback, feedback_report: null }], 1, 'feedback_report'],
    ['a recipient with no domain and a queue without one', [{ ...delivery, recipient: 'postmaster', queue: '' }], 0, 'recipient'],
  ])('refuses the whole batch for one unreadable record (%s), naming it', (_what, body, record, field) => {
    const error = refusal(body);
    expect(error.record).toBe(record);
    expect(error.field).toBe(field);
    expect(error.message).toMatch(new RegExp(`^record ${record}${field ? `, ${field.replaceAll('.', '\\.')}:` : ':'}`));
  });

  it('reads the common record shape without the schema only where the schema would accept it, and read the same', () => {
    // Every field the schema knows (and some it does not), set to values of every JSON type, in each kind of attempt record.
    const paths = [
      'recipient',
      'queue',
      'response',
      'response.code',
      'response.content',
      'response.enhanced_code',
      'response.enhanced_code.class',
      'response.enhanced_code.subject',
      'response.enhanced_code.detail',
      'timestamp',
      'created',
      'event_time',
      'created_time',
      'egress_pool',
      'egress_source',
      'source_address',
      'source_address.address',
      'bounce_classification',
      'meta',
      'meta.campaign',
      'delivery_protocol',
      'unknown_field',
    ];
    const values = [
      undefined,
      null,
      '',
      'text',
      '2024-06-10T12:34:56Z',
      0,
      -0,
      -1,
      1.5,
      9,
      10,
      999,
      1_000,
      65_535,
      65_536,
      2 ** 53,
      253_402_300_799,
      253_402_300_800,
      true,
      [],
      [1],
      {},
      { address: '10.0.0.1' },
    ];
    const set = (record: Record<string, unknown>, path: string, value: unknown) => {
      const copy = structuredClone(record);
      const keys = path.split('.');
      let at: Record<string, unknown> = copy;
      for (const key of keys.slice(0, -1)) {
        if (typeof at[key] !== 'object' || at[key] === null) at[key] = {};
        at = at[key] as Record<string, unknown>;
      }
      if (value === undefined) delete at[keys.at(-1)!];
      else at[keys.at(-1)!] = value;
      return copy;
    };
    const read = [
      'recipient',
      'queue',
      'response.code',
      'response.content',
      'response.enhanced_code',
      'timestamp',
      'created',
      'event_time',
      'created_time',
      'egress_pool',
      'egress_source',
      'source_address.address',
      'bounce_classification',
      'meta',
      'delivery_protocol',
    ];
    const valueAt = (record: unknown, path: string) => path.split('.').reduce<unknown>((at, key) => (at as Record<string, unknown> | null | undefined)?.[key], record);
    let plain = 0;
    for (const base of [delivery, transient, bounce, expiration, oob] as Record<string, unknown>[]) {
      for (const variant of [...paths.flatMap((path) => values.map((value) => set(base, path, value))), null, [], 'record', 7]) {
        if (!plainAttempt(variant)) continue;
        plain++;
        const parsed = AttemptRecord.safeParse(variant);
        expect(parsed.success, JSON.stringify(variant)).toBe(true);
        expect(variant.timestamp).toBeDefined();
        for (const path of read) {
          const schema = valueAt(parsed.data, path);
          // The schema keeps only the fields it knows of nested objects: compare those.
          const shown = path === 'response.enhanced_code' && schema ? Object.fromEntries(Object.keys(schema).map((key) => [key, valueAt(variant, `${path}.${key}`)])) : valueAt(variant, path);
          expect(shown, `${path} of ${JSON.stringify(variant)}`).toEqual(schema);
        }
      }
    }
    expect(plain).toBeGreaterThan(100);
  });

  it('refuses a line that is not JSON, an empty body, a body that is no record, and too many records', () => {
    const lines = `${JSON.stringify(delivery)}\n{"type":"Bounce",\n${JSON.stringify(bounce)}`;
    const error = refusal(lines);
    expect([error.record, error.field]).toEqual([1, undefined]);
    expect(error.message).toMatch(/^record 1: not JSON/);
    expect(refusal('  \n').message).toMatch(/empty/);
    expect(refusal(42).record).toBeUndefined();
    expect(refusal(null).record).toBeUndefined();
    expect(refusal(Array.from({ length: 10_001 }, () => reception)).message).toMatch(/at most 10000/);
  });
});
