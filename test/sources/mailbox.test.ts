/**
 * A report mailbox that cannot be read is an error with its reason, every pass,
 * and never "no reports"; its password never shows in what is logged. (Reading
 * real reports over IMAP: mailbox.lab.test.ts, against the lab's Dovecot.)
 */
import { createServer } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { mailbox, readMailboxOnce } from '../../src/sources/mailbox.ts';
import { captureLog } from '../helpers/log.ts';
import { closedPort } from '../helpers/servers.ts';

const password = 'rua-mailbox-s3cret-password';

function config(port: number) {
  return mailbox.configSchema.parse({ id: 'rua', kind: 'mailbox', host: '127.0.0.1', port, security: 'none', user: 'dmarc@example.test', password, interval: '50ms', timeout: '1s' });
}

const context = (signal: AbortSignal) => {
  const logs = captureLog();
  return {
    logs,
    ctx: {
      clock: new ManualClock('2026-12-06T10:00:00Z'),
      log: logs.log,
      signal,
      checkpoint: () => undefined,
      commit: () => Promise.reject(new Error('a report source commits no events')),
      intake: () => Promise.reject(new Error('nothing should be read')),
    },
  };
};

describe('the report mailbox source', () => {
  it('refuses a config without a password or with an unknown key', () => {
    expect(mailbox.configSchema.safeParse({ id: 'rua', kind: 'mailbox', host: 'imap.example.test', user: 'dmarc@example.test' }).success).toBe(false);
    expect(mailbox.configSchema.safeParse({ id: 'rua', kind: 'mailbox', host: 'imap.example.test', user: 'u', password, folder: 'INBOX' }).success).toBe(false);
    expect(mailbox.configSchema.safeParse({ id: 'rua', kind: 'mailbox', host: 'imap.example.test', user: 'u', password, processed: 'Done\r\nA1 LOGOUT' }).success).toBe(false);
  });

  it('says why a mailbox cannot be read: nothing listening, or a server that refuses the login', async () => {
    const abort = new AbortController();
    const { ctx } = context(abort.signal);
    await expect(readMailboxOnce(config(await closedPort()), ctx)).rejects.toMatchObject({ code: 'IMAP_UNREACHABLE' });

    // A server that greets and refuses every login, quoting what it was sent.
    const server = createServer((socket) => {
      socket.write('* OK IMAP4rev1 ready\r\n');
      socket.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString('latin1').split('\r\n').filter(Boolean)) {
          const [tag, command] = line.split(' ');
          if (/^CAPABILITY$/i.test(command ?? '')) socket.write(`* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n${tag} OK done\r\n`);
          else if (/^(LOGIN|AUTHENTICATE)$/i.test(command ?? '')) socket.write(`${tag} NO [AUTHENTICATIONFAILED] bad credentials: ${line}\r\n`);
          else if (tag) socket.write(`${tag} BAD unexpected\r\n`);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => void server.close());
    const port = (server.address() as { port: number }).port;
    await expect(readMailboxOnce(config(port), ctx)).rejects.toMatchObject({ code: 'IMAP_AUTH_FAILED' });

    // Running: each pass fails and says so, with the reason; the password is not in the log.
    const running = context(abort.signal);
    const source = await mailbox.runtime!.start(config(port), running.ctx);
    for (let waited = 0; waited < 3_000 && running.logs.entries().filter((entry) => entry.msg === 'report mailbox could not be read').length < 2; waited += 20)
      await new Promise((resolve) => setTimeout(resolve, 20));
    abort.abort();
    await source.stop();
    const failures = running.logs.entries().filter((entry) => entry.msg === 'report mailbox could not be read');
    expect(failures.length).toBeGreaterThanOrEqual(2);
    expect(failures[0]).toMatchObject({ level: 'error', code: 'IMAP_AUTH_FAILED', reason: expect.stringContaining('refused the login') });
    expect(running.logs.text()).not.toContain(password);
  });
});
