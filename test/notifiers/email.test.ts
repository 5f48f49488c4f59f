/**
 * The email notifier through an SMTP server on loopback (smtp-server): the mail
 * as it arrives, and the SMTP refusals that are worth retrying and those that are not.
 */
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { describe, expect, it, onTestFinished } from 'vitest';
import { DeliveryError, type AlertNotification } from '../../src/notifiers/define.ts';
import { email } from '../../src/notifiers/email.ts';

async function smtpServer(options: Partial<SMTPServerOptions>): Promise<number> {
  const server = new SMTPServer({ disabledCommands: ['STARTTLS', 'AUTH'], logger: false, ...options });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.server.address() as { port: number }).port;
}

const notification: AlertNotification = {
  delivery: 7,
  event: 'firing',
  at: '2026-11-23T10:00:00.000Z',
  alert: {
    id: '9f2c4e1a0b7d3c55',
    rule: 'ip-listed',
    severity: 'critical',
    state: 'firing',
    summary: '192.0.2.91 listed on lab-zen',
    description: 'A sending IP is on a blocklist.',
    condition: 'blacklist.listed == true',
    value: true,
    labels: { target: '192.0.2.91', list: 'lab-zen' },
    since: '2026-11-23T09:58:00.000Z',
    details: { delist_url: 'https://dnsbl.test/delist', reason: 'Listed by a test' },
  },
  links: { alert: 'https://mailscope.example.com/v1/alerts/9f2c4e1a0b7d3c55' },
};

const config = (port: number) =>
  email.configSchema.parse({
    id: 'oncall',
    kind: 'email',
    smtp: { host: '127.0.0.1', port, security: 'none', timeout: '5s' },
    from: 'mailscope@example.com',
    to: ['oncall@example.com', 'lead@example.com'],
  });
const ctx = { signal: new AbortController().signal };

describe('email notifier', () => {
  it('sends one plain-text mail to every recipient: headline as subject, what fired, what to do, the link', async () => {
    const received: { from: string; to: string[]; data: string }[] = [];
    const port = await smtpServer({
      onData(stream, session, callback) {
        let data = '';
        stream.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
        stream.on('end', () => {
          received.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((rcpt) => rcpt.address), data });
          callback();
        });
      },
    });
    await email.send(config(port), notification, ctx);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ from: 'mailscope@example.com', to: ['oncall@example.com', 'lead@example.com'] });
    // The body may be quoted-printable ("==" is "=3D=3D"): decode before reading it.
    const data = received[0]!.data
      .replace(/\r\n/g, '\n')
      .replace(/=\n/g, '')
      .replace(/=([0-9A-F]{2})/g, (_whole, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    expect(data).toContain('Subject: FIRING [critical] 192.0.2.91 listed on lab-zen');
    expect(data).toContain('X-Mailscope-Alert: 9f2c4e1a0b7d3c55');
    expect(data).toContain('Condition:  blacklist.listed == true');
    expect(data).toContain('Delisting: https://dnsbl.test/delist');
    expect(data).toContain('Alert 9f2c4e1a0b7d3c55: https://mailscope.example.com/v1/alerts/9f2c4e1a0b7d3c55');
  });

  it.each([
    [451, '4.3.0 try again later', true],
    [550, '5.1.1 no such user', false],
  ])('%i %s at RCPT TO is a failed delivery (retryable: %s)', async (code, text, retryable) => {
    const port = await smtpServer({
      onRcptTo(_address, _session, callback) {
        callback(Object.assign(new Error(text), { responseCode: code }));
      },
    });
    const failure = await email.send(config(port), notification, ctx).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DeliveryError);
    expect((failure as DeliveryError).retryable).toBe(retryable);
    expect((failure as DeliveryError).message).toContain(`${code} ${text}`);
  });

  it('a refusal that echoes the credentials keeps neither them nor control characters (the SMTP reply is peer text)', async () => {
    const password = 'smtp-SECRET-pw-000001';
    const port = await smtpServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        const plain = Buffer.from(`\u0000${auth.username}\u0000${auth.password}`).toString('base64');
        callback(Object.assign(new Error(`\u001b[31m5.7.8 bad credentials\u0000 ${auth.username} / ${auth.password} (AUTH PLAIN ${plain})\u001b[0m`), { responseCode: 535 }));
      },
    });
    const withAuth = email.configSchema.parse({ ...config(port), smtp: { host: '127.0.0.1', port, security: 'none', timeout: '5s', auth: { user: 'alerts@example.com', password } } });
    const failure = (await email.send(withAuth, notification, ctx).catch((error: unknown) => error)) as DeliveryError;
    expect(failure).toBeInstanceOf(DeliveryError);
    expect(failure.retryable).toBe(false);
    expect(failure.message).toMatch(/^email via 127\.0\.0\.1:\d+: .*535 .*5\.7\.8 bad credentials alerts@example\.com \/ \[redacted\]/);
    expect(failure.message).not.toContain('SECRET');
    expect(failure.message).not.toContain(Buffer.from(`\u0000alerts@example.com\u0000${password}`).toString('base64').slice(-16, -4));
    expect(failure.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(failure.cause).toBeUndefined();
  });

  it('an SMTP server that is not there is retryable', async () => {
    const failure = (await email.send(config(1), notification, ctx).catch((error: unknown) => error)) as DeliveryError;
    expect(failure).toBeInstanceOf(DeliveryError);
    expect(failure.retryable).toBe(true);
    expect(failure.message).toMatch(/^email via 127\.0\.0\.1:1: .*ECONNREFUSED/);
  });
});
