/**
 * readFeedback: every report in whatever arrived, each its own outcome, the
 * format always sniffed from the bytes (mails built here as reporters send
 * them: Google's zip as application/zip, Yahoo's gzip as application/gzip,
 * others as application/octet-stream with any name; TLS-RPT as
 * application/tlsrpt+gzip, RFC 8460 section 5.3).
 */
import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGzip, gzipSync } from 'node:zlib';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { parseArf } from '../../../src/protocols/mail/arf.ts';
import { readDsn } from '../../../src/protocols/mail/dsn.ts';
import { type ReadOutcome, readFeedback } from '../../../src/protocols/reports/read.ts';
import { type ComplaintReport, ReportRefused } from '../../../src/protocols/reports/types.ts';
import { zip } from '../../helpers/zip.ts';

vi.mock('../../../src/protocols/mail/arf.ts', () => ({ parseArf: vi.fn(async () => undefined) }));
vi.mock('../../../src/protocols/mail/dsn.ts', () => ({ readDsn: vi.fn(async () => undefined) }));

beforeEach(() => {
  vi.mocked(parseArf).mockReset().mockResolvedValue(undefined);
  vi.mocked(readDsn).mockReset().mockResolvedValue(undefined);
});

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '../../fixtures/reports', name));

/** What an outcome says, in short: where, and the report's kind and id or the refusal's code and reason. */
function summary(outcome: ReadOutcome): { part?: string; refused?: string; message?: string; kind?: string; id?: string | undefined } {
  const part = outcome.part === undefined ? {} : { part: outcome.part };
  if (!outcome.ok) return { ...part, refused: outcome.error.code, message: outcome.error.message };
  const report = outcome.report;
  return { ...part, kind: report.kind, id: 'reportId' in report ? report.reportId : undefined };
}

const read = async (input: Buffer | Readable, limits = {}) => (await readFeedback(input, limits)).map(summary);

interface Part {
  type: string;
  filename?: string;
  body: Buffer | string;
  inline?: boolean;
}

/** A multipart/mixed mail with base64 parts, as a reporter's MTA writes it. */
function mail(parts: Part[], subject = 'Report Domain: example.com Submitter: reporter.example Report-ID: <r1>'): Buffer {
  const boundary = '----=_Part_12345_67890.1704067200000';
  const lines = [
    'From: noreply-dmarc-support@reporter.example',
    'To: dmarc@example.com',
    `Subject: ${subject}`,
    'Date: Mon, 01 Jan 2024 10:00:00 +0000',
    'Message-ID: <r1@reporter.example>',
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=UTF-8',
    '',
    'This is an aggregate report from reporter.example.',
  ];
  for (const part of parts) {
    const name = part.filename ? `; name="${part.filename}"` : '';
    lines.push(`--${boundary}`, `Content-Type: ${part.type}${name}`, 'Content-Transfer-Encoding: base64');
    if (part.filename || !part.inline) lines.push(`Content-Disposition: ${part.inline ? 'inline' : 'attachment'}${part.filename ? `; filename="${part.filename}"` : ''}`);
    lines.push(
      '',
      ...(Buffer.from(part.body)
        .toString('base64')
        .match(/.{1,76}/g) ?? []),
    );
  }
  lines.push(`--${boundary}--`, '');
  return Buffer.from(lines.join('\r\n'));
}

const report = (id: string) => fixture('google.xml').toString('utf8').replace('5717107811868587391', id);

describe('readFeedback: files', () => {
  it('reads each kind from a plain file', async () => {
    expect(await read(fixture('google.xml'))).toEqual([{ kind: 'dmarc-aggregate', id: '5717107811868587391' }]);
    expect(await read(fixture('microsoft.xml'))).toEqual([{ kind: 'dmarc-aggregate', id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' }]);
    expect(await read(fixture('yahoo.xml'))).toEqual([{ kind: 'dmarc-aggregate', id: '1704067200.736312' }]);
    expect(await read(fixture('dmarcbis.xml'))).toEqual([{ kind: 'dmarc-aggregate', id: 'r-2024-001' }]);
    expect(await read(fixture('tls-google.json'))).toEqual([{ kind: 'tls-rpt', id: '2024-01-01T00:00:00Z_example.com' }]);
    expect(await read(fixture('tls-microsoft.json'))).toEqual([{ kind: 'tls-rpt', id: '133485120000000000+example.com' }]);
  });

  it('reads through a BOM and leading white space', async () => {
    expect(await read(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), fixture('yahoo.xml')]))).toEqual([{ kind: 'dmarc-aggregate', id: '1704067200.736312' }]);
    expect(await read(Buffer.concat([Buffer.from('\r\n\n  '), fixture('tls-google.json')]))).toEqual([{ kind: 'tls-rpt', id: '2024-01-01T00:00:00Z_example.com' }]);
  });

  it('reads a zip with the XML inside, naming the member', async () => {
    const archive = zip([{ name: 'google.com!example.com!1703980800!1704067199.xml', data: fixture('google.xml') }]);
    expect(await read(archive)).toEqual([{ part: 'google.com!example.com!1703980800!1704067199.xml', kind: 'dmarc-aggregate', id: '5717107811868587391' }]);
  });

  it('reads every report of a zip, one bad member beside good ones', async () => {
    const archive = zip([
      { name: 'a.xml', data: Buffer.from(report('a')) },
      { name: 'broken.xml', data: Buffer.from('<feedback><report_metadata>') },
      { name: 'b.xml.gz', data: gzipSync(report('b')), stored: true },
    ]);
    expect(await read(archive)).toEqual([
      { part: 'a.xml', kind: 'dmarc-aggregate', id: 'a' },
      { part: 'broken.xml', refused: 'malformed', message: 'the XML is not well-formed: line 1, column 27: unclosed tag: report_metadata' },
      { part: 'b.xml.gz', kind: 'dmarc-aggregate', id: 'b' },
    ]);
  });

  it('reads a gzip and a TLS report gzip whatever their names', async () => {
    expect(await read(gzipSync(fixture('google.xml')))).toEqual([{ kind: 'dmarc-aggregate', id: '5717107811868587391' }]);
    expect(await read(gzipSync(fixture('tls-microsoft.json')))).toEqual([{ kind: 'tls-rpt', id: '133485120000000000+example.com' }]);
  });

  it('refuses what is no report, a JSON that is not TLS-RPT, an empty input and XML of another kind as unknown', async () => {
    expect(await read(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]))).toEqual([
      {
        refused: 'unknown',
        message: 'not a report of a known kind (DMARC aggregate XML, TLS-RPT JSON, a mail, or an archive of one): it starts with the bytes 89 50 4e 47 0d 0a 1a 0a',
      },
    ]);
    expect(await read(Buffer.from('{"hello": "world"}'))).toEqual([{ refused: 'unknown', message: 'a JSON document that is not a TLS report (no "policies" or "organization-name")' }]);
    expect(await read(Buffer.from('  \n'))).toEqual([{ refused: 'unknown', message: 'empty: no report in it' }]);
    expect(await read(Buffer.from('<rss version="2.0"><channel/></rss>'))).toEqual([
      { refused: 'unknown', message: "an XML document whose root element is <rss>, not a DMARC aggregate report's <feedback>" },
    ]);
  });

  it('refuses a DOCTYPE, malformed JSON and an input past maxInputBytes with their reasons', async () => {
    const doctype = `<?xml version="1.0"?><!DOCTYPE feedback [<!ENTITY x SYSTEM "file:///etc/passwd">]>${fixture('yahoo.xml')
      .toString()
      .replace(/^<\?xml[^>]*>/, '')}`;
    expect((await read(Buffer.from(doctype)))[0]!.refused).toBe('doctype');
    expect((await read(Buffer.from('{"policies": [')))[0]!.refused).toBe('malformed');
    expect(await read(fixture('google.xml'), { maxInputBytes: 100 })).toEqual([{ refused: 'too-large', message: 'the input is 1819 bytes, more than 100 (maxInputBytes)' }]);
  });
});

describe('readFeedback: streams', () => {
  /** An endless aggregate report: if it were read whole before parsing, it would never end. */
  function* endless(counter: { chunks: number }) {
    yield '<?xml version="1.0"?><feedback><report_metadata><org_name>o</org_name><report_id>r</report_id><date_range><begin>1</begin><end>2</end></date_range></report_metadata><policy_published><domain>example.com</domain></policy_published>';
    const record =
      '<record><row><source_ip>192.0.2.1</source_ip><count>1</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row><identifiers><header_from>example.com</header_from></identifiers></record>\n';
    for (;;) {
      counter.chunks++;
      yield record.repeat(100);
    }
  }

  it('streams plain XML from a Readable straight into the parser', async () => {
    const counter = { chunks: 0 };
    expect(await read(Readable.from(endless(counter)), { maxRows: 1000 })).toEqual([{ refused: 'xml-limits', message: 'the report has more than 1000 records (maxRows)' }]);
    expect(counter.chunks).toBeLessThan(100);
  });

  it('streams gzip XML from a Readable straight into the parser', async () => {
    const counter = { chunks: 0 };
    const gzipped = Readable.from(endless(counter)).pipe(createGzip());
    expect(await read(gzipped, { maxRows: 1000 })).toEqual([{ refused: 'xml-limits', message: 'the report has more than 1000 records (maxRows)' }]);
    expect(counter.chunks).toBeLessThan(1000);
  });

  it('refuses a gzip bomb of white space (1 GiB from 1 MiB), streamed or whole, as a bomb, in well under a second', async () => {
    const member = gzipSync(Buffer.alloc(1024 * 1024, 0x20), { level: 9 });
    const bomb = Buffer.concat(Array.from({ length: 1024 }, () => member));
    for (const input of [() => Readable.from([bomb]), () => bomb]) {
      const started = performance.now();
      expect(await read(input())).toEqual([{ refused: 'bomb', message: 'the gzip data expands past 268435456 bytes (maxExpandedBytes)' }]);
      expect(performance.now() - started).toBeLessThan(5000);
    }
  });

  it('throws when the input itself cannot be read (an I/O error is not a refusal)', async () => {
    await expect(readFeedback(createReadStream(join(import.meta.dirname, 'no-such-report.xml')))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a stream past maxInputBytes', async () => {
    const chunks = Array.from({ length: 10 }, () => fixture('google.xml'));
    expect(await read(Readable.from(chunks), { maxInputBytes: 5000 })).toEqual([{ refused: 'too-large', message: 'the input is larger than 5000 bytes (maxInputBytes)' }]);
  });
});

describe('readFeedback: mails', () => {
  it('reads a gzip report attached as application/octet-stream, leaving out the parts that are no report', async () => {
    const message = mail([
      { type: 'image/png', filename: 'logo.png', body: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]), inline: true },
      { type: 'application/octet-stream', filename: 'reporter.example!example.com!1704067200!1704153599.xml.gz', body: gzipSync(fixture('yahoo.xml')) },
    ]);
    expect(await read(message)).toEqual([{ part: 'reporter.example!example.com!1704067200!1704153599.xml.gz', kind: 'dmarc-aggregate', id: '1704067200.736312' }]);
  });

  it('reads a gzip named .zip and sent as application/zip, and a real zip', async () => {
    const message = mail([
      { type: 'application/zip', filename: 'report.zip', body: gzipSync(report('gz')) },
      { type: 'application/zip', filename: 'other.zip', body: zip([{ name: 'other.xml', data: Buffer.from(report('zip')) }]) },
    ]);
    expect(await read(message)).toEqual([
      { part: 'report.zip', kind: 'dmarc-aggregate', id: 'gz' },
      { part: 'other.zip/other.xml', kind: 'dmarc-aggregate', id: 'zip' },
    ]);
  });

  it('reads a TLS report sent as application/tlsrpt+gzip', async () => {
    const message = mail(
      [{ type: 'application/tlsrpt+gzip', filename: 'google.com!example.com!1704067200!1704153599!001.json.gz', body: gzipSync(fixture('tls-google.json')) }],
      'Report Domain: example.com',
    );
    expect(await read(message)).toEqual([{ part: 'google.com!example.com!1704067200!1704153599!001.json.gz', kind: 'tls-rpt', id: '2024-01-01T00:00:00Z_example.com' }]);
  });

  it('reads a report sent inline as text/xml', async () => {
    const message = mail([{ type: 'text/xml; charset=UTF-8', body: fixture('microsoft.xml'), inline: true }]);
    expect(await read(message)).toEqual([{ part: 'part 1 (text/xml)', kind: 'dmarc-aggregate', id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' }]);
  });

  it('reads a report inside a forwarded message (message/rfc822)', async () => {
    const forwarded = mail([{ type: 'application/gzip', filename: 'r.xml.gz', body: gzipSync(report('fwd')) }]);
    const message = mail([{ type: 'message/rfc822', filename: 'forwarded.eml', body: forwarded }], 'Fwd: Report Domain: example.com');
    expect(await read(message)).toEqual([{ part: 'forwarded.eml/r.xml.gz', kind: 'dmarc-aggregate', id: 'fwd' }]);
  });

  it('keeps a good part beside a bad one', async () => {
    const message = mail([
      { type: 'application/gzip', filename: 'bad.xml.gz', body: gzipSync(report('bad').replace('209.85.220.41', 'not-an-ip')) },
      { type: 'application/gzip', filename: 'good.xml.gz', body: gzipSync(report('good')) },
    ]);
    expect(await read(message)).toEqual([
      { part: 'bad.xml.gz', refused: 'malformed', message: 'record 1: row/source_ip "not-an-ip" is not an IP address' },
      { part: 'good.xml.gz', kind: 'dmarc-aggregate', id: 'good' },
    ]);
  });

  it('refuses a mail with no report in it as one unknown outcome', async () => {
    const message = mail([{ type: 'application/pdf', filename: 'invoice.pdf', body: Buffer.from('%PDF-1.7\n') }], 'Hello');
    expect(await read(message)).toEqual([{ refused: 'unknown', message: 'a mail with no report in it: not a complaint (ARF), not a bounce (DSN), and none of its 1 attachments is a report' }]);
  });

  it('reads no more than maxParts attachments, and says so', async () => {
    const parts = Array.from({ length: 3 }, (_, i) => ({ type: 'application/gzip', filename: `r${i}.xml.gz`, body: gzipSync(report(`r${i}`)) }));
    expect(await read(mail(parts), { maxParts: 2 })).toEqual([
      { part: 'r0.xml.gz', kind: 'dmarc-aggregate', id: 'r0' },
      { part: 'r1.xml.gz', kind: 'dmarc-aggregate', id: 'r1' },
      { refused: 'too-large', message: 'the mail has 3 attachments: only the first 2 were read (maxParts)' },
    ]);
  });

  it('asks the ARF and DSN readers first, and keeps their refusals', async () => {
    const complaint: ComplaintReport = { kind: 'arf', feedbackType: 'abuse', reporter: 'yahoo.com', original: {} };
    vi.mocked(parseArf).mockResolvedValueOnce(complaint);
    const message = mail([], 'Abuse report');
    expect(await readFeedback(message)).toEqual([{ ok: true, report: complaint }]);
    expect(vi.mocked(parseArf)).toHaveBeenCalledWith(message);

    vi.mocked(readDsn).mockResolvedValueOnce({ kind: 'dsn', recipients: [{ final: 'gone@example.net', action: 'failed', status: '5.1.1' }], original: {} });
    expect((await read(message))[0]).toEqual({ kind: 'dsn', id: undefined });

    vi.mocked(parseArf).mockRejectedValueOnce(new ReportRefused('malformed', 'the feedback report has no Feedback-Type'));
    expect(await read(message)).toEqual([{ refused: 'malformed', message: 'the feedback report has no Feedback-Type' }]);
  });
});
