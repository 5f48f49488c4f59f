/**
 * SMTP TLS reports (RFC 8460) as Google and Microsoft send them, and the
 * variations seen elsewhere (mx-host as a string, counts as strings).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { looksLikeTlsRpt, parseTlsRpt, readTlsRpt } from '../../../src/protocols/reports/tls-rpt.ts';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '../../fixtures/reports', name), 'utf8');

/** The RFC 8460 section 4.9 example's shape, trimmed. */
const base = () => ({
  'organization-name': 'Company-X',
  'date-range': { 'start-datetime': '2016-04-01T00:00:00Z', 'end-datetime': '2016-04-01T23:59:59Z' },
  'contact-info': 'sts-reporting@company-x.example',
  'report-id': '5065427c-23d3-47ca-b6e0-946ea0e8c4be',
  policies: [
    {
      policy: { 'policy-type': 'sts', 'policy-string': ['version: STSv1', 'mode: testing'], 'policy-domain': 'company-y.example', 'mx-host': ['*.mail.company-y.example'] },
      summary: { 'total-successful-session-count': 5326, 'total-failure-session-count': 303 },
      'failure-details': [{ 'result-type': 'certificate-expired', 'sending-mta-ip': '2001:db8:abcd:0012::1', 'receiving-mx-hostname': 'mx1.mail.company-y.example', 'failed-session-count': 100 }],
    },
  ],
});

function refusal(value: unknown) {
  try {
    parseTlsRpt(value);
  } catch (error: any) {
    return { code: error.code, message: error.message };
  }
  throw new Error('not refused');
}

describe('TLS-RPT', () => {
  it("reads Google's report: one policy, no failure-details", () => {
    expect(readTlsRpt(fixture('tls-google.json'))).toEqual({
      kind: 'tls-rpt',
      org: 'Google Inc.',
      reportId: '2024-01-01T00:00:00Z_example.com',
      begin: new Date('2024-01-01T00:00:00Z'),
      end: new Date('2024-01-01T23:59:59Z'),
      contact: 'smtp-tls-reporting@google.com',
      policies: [{ policyType: 'sts', policyDomain: 'example.com', mxHosts: ['mx1.example.com', 'mx2.example.com'], successes: 1832, failures: 0, failureDetails: [] }],
      successes: 1832,
      failures: 0,
    });
  });

  it("reads Microsoft's layout: mx-host as one string, counts as strings, failure details, a no-policy-found policy", () => {
    const report = readTlsRpt(fixture('tls-microsoft.json'));
    expect([report.org, report.successes, report.failures]).toEqual(['Microsoft Corporation', 250, 7]);
    expect(report.policies).toEqual([
      {
        policyType: 'sts',
        policyDomain: 'example.com',
        mxHosts: ['*.mail.example.com'],
        successes: 240,
        failures: 7,
        failureDetails: [
          {
            resultType: 'certificate-expired',
            sendingMtaIp: '2a01:111:f403:c100::1',
            receivingMxHostname: 'mx1.mail.example.com',
            receivingIp: '203.0.113.56',
            failedSessions: 5,
            additionalInformation: 'https://example.com/tls-failures',
            failureReasonCode: 'X509_V_ERR_CERT_HAS_EXPIRED',
          },
          { resultType: 'starttls-not-supported', sendingMtaIp: '2a01:111:f403:c100::2', receivingMxHostname: 'mx2.mail.example.com', receivingIp: '203.0.113.57', failedSessions: 2 },
        ],
      },
      { policyType: 'no-policy-found', policyDomain: 'example.net', mxHosts: [], successes: 10, failures: 0, failureDetails: [] },
    ]);
  });

  it('reads the RFC example and skips a BOM', () => {
    const report = readTlsRpt(`\ufeff${JSON.stringify(base())}`);
    expect([report.org, report.contact, report.successes, report.failures, report.policies[0]!.failureDetails[0]!.failedSessions]).toEqual([
      'Company-X',
      'sts-reporting@company-x.example',
      5326,
      303,
      100,
    ]);
  });

  it('strips control characters from reporter text', () => {
    const value = base();
    value['organization-name'] = 'Company\u001b[2J\nX';
    expect(parseTlsRpt(value).org).toBe('Company [2J X');
  });

  it('tells a TLS report from other JSON', () => {
    expect([looksLikeTlsRpt(base()), looksLikeTlsRpt({ 'organization-name': 'x' }), looksLikeTlsRpt({ hello: 1 }), looksLikeTlsRpt([1]), looksLikeTlsRpt('x')]).toEqual([
      true,
      true,
      false,
      false,
      false,
    ]);
  });

  it('refuses JSON that is not well-formed', () => {
    let refused: any;
    try {
      readTlsRpt('{"policies": [');
    } catch (error) {
      refused = error;
    }
    expect(refused?.code).toBe('malformed');
    expect(refused?.message).toMatch(/^the JSON is not well-formed: .+/);
  });

  it('refuses a report missing a required field, naming it', () => {
    const without = (change: (value: any) => void) => {
      const value: any = base();
      change(value);
      return refusal(value);
    };
    expect(without((value) => delete value['organization-name'])).toEqual({ code: 'malformed', message: 'organization-name is missing' });
    expect(without((value) => (value['report-id'] = 42))).toEqual({ code: 'malformed', message: 'report-id is not a string' });
    expect(without((value) => (value['report-id'] = '  '))).toEqual({ code: 'malformed', message: 'report-id is empty' });
    expect(without((value) => delete value['date-range'])).toEqual({ code: 'malformed', message: 'date-range is missing' });
    expect(without((value) => (value['date-range']['end-datetime'] = 'yesterday'))).toEqual({ code: 'malformed', message: 'date-range.end-datetime "yesterday" is not a date-time' });
    expect(without((value) => (value.policies = {}))).toEqual({ code: 'malformed', message: 'policies is not an array' });
    expect(without((value) => delete value.policies[0].policy['policy-domain'])).toEqual({ code: 'malformed', message: 'policies[0].policy.policy-domain is missing' });
    expect(without((value) => delete value.policies[0].summary)).toEqual({ code: 'malformed', message: 'policies[0].summary is missing' });
    expect(without((value) => (value.policies[0].summary['total-failure-session-count'] = -3))).toEqual({
      code: 'malformed',
      message: 'policies[0].summary.total-failure-session-count "-3" is not a non-negative integer',
    });
    expect(without((value) => (value.policies[0]['failure-details'][0]['failed-session-count'] = 'many'))).toEqual({
      code: 'malformed',
      message: 'policies[0].failure-details[0].failed-session-count "many" is not a non-negative integer',
    });
    expect(without((value) => delete value.policies[0]['failure-details'][0]['result-type'])).toEqual({
      code: 'malformed',
      message: 'policies[0].failure-details[0].result-type is missing',
    });
    expect(refusal([])).toEqual({ code: 'malformed', message: 'the report is not a JSON object' });
  });

  it('refuses more policies and failure details than maxRows', () => {
    const value = base();
    value.policies[0]!['failure-details'] = Array.from({ length: 5 }, () => ({ 'result-type': 'validation-failure', 'failed-session-count': 1 })) as any;
    expect(() => parseTlsRpt(value, { maxRows: 5 })).toThrow('the report has more than 5 policies and failure details (maxRows)');
    expect(parseTlsRpt(value, { maxRows: 6 }).policies[0]!.failureDetails).toHaveLength(5);
  });
});
