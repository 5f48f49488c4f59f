/**
 * SMTP TLS reports (RFC 8460 section 4): one JSON object per report. Its size is
 * already bounded by unpack (maxExpandedBytes), so it is parsed whole.
 *
 * What reporters really send, and what is done with it: `mx-host` as an array
 * (the RFC) or a single string; `failure-details` missing when nothing failed
 * (Google, Microsoft); counts as numbers or as numeric strings;
 * `receiving-mx-helo` and `policy-string` read past. A required field missing
 * or of the wrong kind is refused as 'malformed', naming the field.
 */
import { defaultReportLimits } from './limits.ts';
import { cleanText, maxCommentLength, maxNameLength } from './text.ts';
import { ReportRefused, type ReportLimits, type TlsPolicyResult, type TlsReport } from './types.ts';

/** A TLS report from its JSON text. Throws ReportRefused('malformed') when the text is not JSON or not a report. */
export function readTlsRpt(json: string, limits: Partial<ReportLimits> = {}): TlsReport {
  let value: unknown;
  try {
    value = JSON.parse(json.replace(/^\ufeff/, ''));
  } catch (error) {
    throw new ReportRefused('malformed', `the JSON is not well-formed: ${cleanText((error as Error).message, 200)}`);
  }
  return parseTlsRpt(value, limits);
}

/** Whether a parsed JSON value looks like a TLS report at all (before its fields are checked). */
export function looksLikeTlsRpt(value: unknown): boolean {
  return isObject(value) && ('policies' in value || 'organization-name' in value);
}

/** A TLS report from a parsed JSON value. Throws ReportRefused('malformed') naming the first field missing or invalid. */
export function parseTlsRpt(value: unknown, limits: Partial<ReportLimits> = {}): TlsReport {
  const { maxRows } = { ...defaultReportLimits, ...limits };
  if (!isObject(value)) throw malformed('the report', 'is not a JSON object');
  const org = requiredText(value, 'organization-name', 'organization-name');
  const reportId = requiredText(value, 'report-id', 'report-id');
  const range = value['date-range'];
  if (!isObject(range)) throw malformed('date-range', range === undefined ? 'is missing' : 'is not an object');
  const begin = dateTime(range['start-datetime'], 'date-range.start-datetime');
  const end = dateTime(range['end-datetime'], 'date-range.end-datetime');
  const policiesValue = value.policies;
  if (!Array.isArray(policiesValue)) throw malformed('policies', policiesValue === undefined ? 'is missing' : 'is not an array');
  let rows = policiesValue.length;
  if (rows > maxRows) throw new ReportRefused('xml-limits', `the report has more than ${maxRows} policies (maxRows)`);
  const policies = policiesValue.map((entry, index): TlsPolicyResult => {
    const where = `policies[${index}]`;
    if (!isObject(entry)) throw malformed(where, 'is not an object');
    const policy = entry.policy;
    if (!isObject(policy)) throw malformed(`${where}.policy`, policy === undefined ? 'is missing' : 'is not an object');
    const summary = entry.summary;
    if (!isObject(summary)) throw malformed(`${where}.summary`, summary === undefined ? 'is missing' : 'is not an object');
    const details = entry['failure-details'] ?? [];
    if (!Array.isArray(details)) throw malformed(`${where}.failure-details`, 'is not an array');
    rows += details.length;
    if (rows > maxRows) throw new ReportRefused('xml-limits', `the report has more than ${maxRows} policies and failure details (maxRows)`);
    return {
      policyType: requiredText(policy, 'policy-type', `${where}.policy.policy-type`).toLowerCase(),
      policyDomain: requiredText(policy, 'policy-domain', `${where}.policy.policy-domain`).toLowerCase(),
      mxHosts: mxHosts(policy['mx-host'], `${where}.policy.mx-host`),
      successes: count(summary['total-successful-session-count'], `${where}.summary.total-successful-session-count`),
      failures: count(summary['total-failure-session-count'], `${where}.summary.total-failure-session-count`),
      failureDetails: details.map((detail, at) => failureDetail(detail, `${where}.failure-details[${at}]`)),
    };
  });
  const report: TlsReport = {
    kind: 'tls-rpt',
    org,
    reportId,
    begin,
    end,
    policies,
    successes: policies.reduce((sum, policy) => sum + policy.successes, 0),
    failures: policies.reduce((sum, policy) => sum + policy.failures, 0),
  };
  const contact = optionalText(value['contact-info'], maxNameLength);
  if (contact) report.contact = contact;
  return report;
}

type Detail = TlsPolicyResult['failureDetails'][number];

function failureDetail(detail: unknown, where: string): Detail {
  if (!isObject(detail)) throw malformed(where, 'is not an object');
  const result: Detail = {
    resultType: requiredText(detail, 'result-type', `${where}.result-type`).toLowerCase(),
    failedSessions: count(detail['failed-session-count'], `${where}.failed-session-count`),
  };
  const sendingMtaIp = optionalText(detail['sending-mta-ip'], maxNameLength);
  if (sendingMtaIp) result.sendingMtaIp = sendingMtaIp;
  const receivingMxHostname = optionalText(detail['receiving-mx-hostname'], maxNameLength);
  if (receivingMxHostname) result.receivingMxHostname = receivingMxHostname.toLowerCase();
  const receivingIp = optionalText(detail['receiving-ip'], maxNameLength);
  if (receivingIp) result.receivingIp = receivingIp;
  const additionalInformation = optionalText(detail['additional-information'], maxCommentLength);
  if (additionalInformation) result.additionalInformation = additionalInformation;
  const failureReasonCode = optionalText(detail['failure-reason-code'], maxCommentLength);
  if (failureReasonCode) result.failureReasonCode = failureReasonCode;
  return result;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function malformed(field: string, problem: string): ReportRefused {
  return new ReportRefused('malformed', `${field} ${problem}`);
}

function requiredText(object: Record<string, unknown>, key: string, field: string): string {
  const value = object[key];
  if (value === undefined || value === null) throw malformed(field, 'is missing');
  if (typeof value !== 'string') throw malformed(field, 'is not a string');
  const text = cleanText(value, maxNameLength);
  if (!text) throw malformed(field, 'is empty');
  return text;
}

/** A text the report may leave out: a string (or a number, some reporters' port or code), cleaned and bounded; else undefined. */
function optionalText(value: unknown, max: number): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return typeof value === 'string' ? cleanText(value, max) || undefined : undefined;
}

/** A session count: a non-negative integer, as a number or as a numeric string. */
function count(value: unknown, field: string): number {
  if (value === undefined || value === null) throw malformed(field, 'is missing');
  const number = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d{1,15}\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < 0) throw malformed(field, `"${cleanText(String(value), 40)}" is not a non-negative integer`);
  return number;
}

/** An RFC 3339 date-time (the RFC's format; Date.parse also takes the variants reporters write). */
function dateTime(value: unknown, field: string): Date {
  if (value === undefined || value === null) throw malformed(field, 'is missing');
  const date = typeof value === 'string' && /^\s*\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value.trim()) : undefined;
  if (!date || Number.isNaN(date.getTime())) throw malformed(field, `"${cleanText(String(value), 40)}" is not a date-time`);
  return date;
}

/** mx-host: an array of names (the RFC), a single name (some reporters), or missing. */
function mxHosts(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list)) throw malformed(field, 'is neither a name nor a list of names');
  return list.flatMap((host) => {
    const text = typeof host === 'string' ? cleanText(host, maxNameLength).toLowerCase() : '';
    return text ? [text] : [];
  });
}
