import { describe, expect, it } from 'vitest';
import { bodyText, decodeWords, entities, headerText, parseMime } from '../../../src/protocols/mail/mime.ts';
import { peerText } from '../../../src/protocols/mail/peer-text.ts';

const crlf = (...lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\n`);

describe('the MIME reader of reports', () => {
  it('a boundary that only starts like the outer one ("B" and "B2") is no delimiter; multipart/digest children are messages', () => {
    const root = parseMime(
      crlf(
        'Content-Type: multipart/mixed; boundary=B',
        '',
        '--B',
        'Content-Type: multipart/alternative; boundary=B2',
        '',
        '--B2',
        'Content-Type: text/plain',
        '',
        'inner',
        '--B2--',
        '--B',
        'Content-Type: multipart/digest; boundary="D"',
        '',
        '--D',
        '',
        'Subject: digested',
        '',
        'x',
        '--D--',
        '--B--',
      ),
    );
    expect(root.parts.map((part) => part.type)).toEqual(['multipart/alternative', 'multipart/digest']);
    expect(bodyText(root.parts[0]!.parts[0]!)).toBe('inner');
    const digested = root.parts[1]!.parts[0]!;
    expect(digested.type).toBe('message/rfc822');
    expect(headerText(digested.message!, 'subject')).toBe('digested');
  });

  it('quoted-printable and base64 bodies in their charset; 8-bit headers read as UTF-8', () => {
    const root = parseMime(
      Buffer.concat([
        crlf('Content-Type: multipart/mixed; boundary=B', ''),
        crlf('--B', 'Content-Type: text/plain; charset=iso-8859-1', 'Content-Transfer-Encoding: quoted-printable', '', 'caf=E9 au l=', 'ait'),
        crlf('--B', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: base64', '', Buffer.from('naïve ✓').toString('base64')),
        Buffer.from('--B\r\nSubject: caf\xc3\xa9\r\n\r\n--B--\r\n', 'latin1'),
      ]),
    );
    expect(root.parts.map((part) => bodyText(part))).toEqual(['café au lait', 'naïve ✓', '']);
    expect(headerText(root.parts[2]!, 'subject')).toBe('café');
    expect([...entities(root)].length).toBe(4);
  });

  it('encoded words: adjacent ones joined, Q and B, an unknown charset read as UTF-8', () => {
    expect(decodeWords('=?UTF-8?Q?caf=C3=A9?= =?UTF-8?B?IOKYlQ==?= ok')).toBe('café ☕ ok');
    expect(decodeWords('=?x-unknown?Q?plain?=')).toBe('plain');
    expect(decodeWords('=?iso-8859-1?Q?d=E9j=E0_vu?=')).toBe('déjà vu');
  });

  it('bounds its depth: a message nested past the bound is not read', () => {
    let message = 'Subject: deepest\r\n\r\nx\r\n';
    for (let level = 0; level < 30; level++) message = `Content-Type: message/rfc822\r\n\r\n${message}`;
    const depth = [...entities(parseMime(Buffer.from(message)))].length;
    expect(depth).toBe(13);
  });
});

describe('peer text', () => {
  it('removes escape sequences, control and bidirectional characters; spaces line breaks; cuts to the bound without half a pair', () => {
    expect(peerText('a\u001b[31mred\u001b[0m\u0000b\r\n\tc\u202Ed\u0007', 100)).toBe('aredb cd');
    expect(peerText('\u001b]0;window title\u0007title gone', 100)).toBe('title gone');
    expect(peerText(`${'x'.repeat(9)}😀`, 10)).toBe('x'.repeat(9));
    expect(peerText('y'.repeat(10 * 1024 * 1024), 255)).toHaveLength(255);
  });
});
