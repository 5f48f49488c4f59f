import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.ts';
import { peerExcerpt, peerLabel, redactLogLine, redactSecrets } from '../../src/core/redact.ts';
import { Secret } from '../../src/core/secret.ts';

// Made the way configuration parsing makes them: each Secret is a value never to emit.
const password = new Secret('pa ss/wörd+"SECRET"-0001');
const token = new Secret('tok-SECRET-0002-abcdefgh');
const header = new Secret('Bearer hdr-SECRET-0003-xyz');
const webhookUrl = new Secret('https://hooks.example/services/T0AAAA/B0BBBB/SECRETslackpathtoken0004?key=url-SECRET-0005&v=2');
const short = new Secret('hunter2');

const controlCharacters = /[\u0000-\u001f\u007f-\u009f]/;

describe('peerLabel: names a peer repeats, cleaned once', () => {
  it('gives what peerExcerpt gives, and forgets what it gave once a new secret is to be redacted', () => {
    for (const text of ['spring-sale', `tenant ${token.reveal()}`, 'a\u001b[31mb', 'x'.repeat(300), '']) expect(peerLabel(text, 128)).toBe(peerExcerpt(text, 128));
    const name = 'campaign-LATER-SECRET-0006';
    expect(peerLabel(name, 128)).toBe(name);
    new Secret('LATER-SECRET-0006');
    expect(peerLabel(name, 128)).toBe('campaign-[redacted]');
  });
});

describe('peerExcerpt: what is kept of text a peer sent', () => {
  it('removes a configured secret as sent, JSON-escaped, URL-encoded and inside base64 (HTTP Basic user:password at every alignment)', () => {
    const value = password.reveal();
    const forms = [
      value,
      JSON.stringify(value).slice(1, -1),
      encodeURIComponent(value),
      encodeURIComponent(value).replaceAll('%20', '+'),
      new URLSearchParams({ p: value }).toString().slice(2),
      ...['u', 'us', 'use', 'user'].map((user) => Buffer.from(`${user}:${value}`).toString('base64')),
      Buffer.from(`x:${value}`).toString('base64url'),
      token.reveal(),
      Buffer.from(`mailscope:${token.reveal()}`).toString('base64'),
    ];
    for (const form of forms) {
      const excerpt = peerExcerpt(`upstream said: ${form} (end)`);
      expect(excerpt, form).toMatch(/^upstream said: .*\[redacted\].* \(end\)$/);
      expect(excerpt).not.toContain('SECRET');
      expect(excerpt).not.toContain(form.slice(4, -4));
    }
  });

  it('removes the parts of a secret URL that carry its token: the path, a long segment, a query value', () => {
    for (const part of [
      '/services/T0AAAA/B0BBBB/SECRETslackpathtoken0004',
      'SECRETslackpathtoken0004',
      'url-SECRET-0005',
      'POST hooks.example/services/T0AAAA/B0BBBB/SECRETslackpathtoken0004?key=url-SECRET-0005&v=2',
    ]) {
      expect(peerExcerpt(`no route for ${part}`)).not.toContain('SECRET');
    }
    expect(webhookUrl.reveal()).toContain('SECRET');
  });

  it('removes what looks like a credential, known or not: an echoed Authorization header, a bearer token, ?key= in a URL', () => {
    const echo =
      'GET /write?db=x&u=admin&p=pw1&key=k3y HTTP/1.1\r\nAuthorization: Basic dXNlcjpwdzE=\r\nX-Api-Key: abc123\r\n{"authorization":"Token u:pw1","cookie":"sid=1"}\r\nsent Bearer eyJhbGciOi.J9.x';
    expect(peerExcerpt(echo)).toBe(
      'GET /write?db=x&u=admin&p=[redacted]&key=[redacted] HTTP/1.1 Authorization: [redacted] X-Api-Key: [redacted] {"authorization":"[redacted]","cookie":"[redacted]"} sent Bearer [redacted]',
    );
    // Words stay words.
    expect(peerExcerpt('HTTP Basic authentication required; the token expired')).toBe('HTTP Basic authentication required; the token expired');
  });

  it('is bounded and has no control characters: terminal escapes go whole, line breaks become spaces, NUL and the rest go', () => {
    expect(peerExcerpt('\u001b[31mERROR\u001b[0m\r\n  upstream\u0000 down\u0007\u009b\u202e!')).toBe('ERROR upstream down!');
    const long = peerExcerpt(`${'é'.repeat(250)} ${'x'.repeat(5_000)}`);
    expect(long).toHaveLength(300);
    expect(long.endsWith('…')).toBe(true);
    expect(peerExcerpt('a'.repeat(500), 100)).toBe(`${'a'.repeat(99)}…`);
    expect(peerExcerpt('\u0000\u0001\r\n')).toBe('');
    expect(controlCharacters.test(peerExcerpt(Buffer.from('a\u0000b\u001bc')))).toBe(false);
  });

  it('a secret cut in two at the edge of what is read leaves no half of it behind', () => {
    const value = token.reveal();
    // 64 KiB of NUL (removed) and then the secret, cut by the window at its 10th character.
    const excerpt = peerExcerpt(`${'\u0000'.repeat(65_536 - 10)}${value} and more`);
    expect(excerpt).not.toContain(value.slice(0, 6));
    expect(excerpt).toBe('…');
  });

  it('a secret a peer split with a control character is found once they are removed', () => {
    expect(peerExcerpt(`tok-SECRET\u0000-0002-abcdefgh`)).toBe('[redacted]');
  });

  it('values shorter than 8 characters are not looked for: they would wipe ordinary words out', () => {
    expect(peerExcerpt(`the password ${short.reveal()} was refused`)).toBe('the password hunter2 was refused');
  });
});

describe('the logger: no line leaves with a configured secret', () => {
  it('any field, nested or in the message, error or not; the line stays JSON; other lines pass unchanged', () => {
    const chunks: string[] = [];
    const log = createLogger({
      level: 'trace',
      destination: new Writable({
        write: (chunk: Buffer, _encoding, callback) => {
          chunks.push(chunk.toString());
          callback();
        },
      }),
    });
    log.warn({ reason: `HTTP 500: ${header.reveal()}`, nested: { deep: [`x ${webhookUrl.reveal()}`] } }, 'delivery failed');
    log.error({ err: new Error(`refused ${token.reveal()}`) }, 'crashed');
    log.info(`said ${encodeURIComponent(password.reveal())}`);
    log.info({ fine: 'nothing secret here' }, 'ok');
    expect(chunks).toHaveLength(4);
    const text = chunks.join('');
    expect(text).not.toContain('SECRET');
    const lines = chunks.map((chunk) => JSON.parse(chunk) as Record<string, any>);
    expect(lines[0]!.reason).toBe('HTTP 500: [redacted]');
    expect(lines[0]!.nested.deep[0]).toBe('x [redacted]');
    expect(lines[1]!.err.message).toBe('refused [redacted]');
    expect(lines[2]!.msg).toBe('said [redacted]');
    expect(chunks[3]).toContain('"fine":"nothing secret here","msg":"ok"');
    expect(redactLogLine(chunks[3]!)).toBe(chunks[3]);
  });

  it('redactSecrets leaves text without a secret as it is', () => {
    expect(redactSecrets('HTTP 500: try again later')).toBe('HTTP 500: try again later');
  });
});
