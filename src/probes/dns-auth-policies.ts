/**
 * Policies published beside the mail records: MTA-STS (RFC 8461; the policy
 * fetched over HTTPS, parsed and matched against the MX by mailauth), TLS-RPT
 * (RFC 8460) and BIMI (optional).
 */
import { parsePolicy, validateMx } from 'mailauth/lib/mta-sts.js';
import { netLookup } from '../protocols/dns/net-lookup.ts';
import { getText, TextTimeout, TextTooLarge } from '../protocols/https-text.ts';
import { describeSocketError, isResolutionFailure, socketErrorCode } from '../protocols/socket-errors.ts';
import { dnsErrorFinding, lookup, result, sortedLines, tagList, txtText, type CheckContext, type CheckResult, type Finding } from './dns-auth-check.ts';

const defaultPolicyTimeoutMs = 10_000;
const maxPolicyBytes = 64 * 1024;
/** RFC 8461 §3.2 recommends weeks; under a day the policy protects little between fetches. */
const shortMaxAge = 86_400;

type TxtLookup = { records: string[]; lines: string[] } | { error: Finding };

async function txtRecords(ctx: CheckContext, name: string, version: RegExp): Promise<TxtLookup> {
  const found = await lookup(ctx, name, 'TXT');
  if (found.kind === 'error') return { error: dnsErrorFinding(name, 'TXT', found) };
  const matching = found.kind === 'records' ? found.records.filter((record) => version.test(txtText(record))) : [];
  return { records: matching.map(txtText), lines: sortedLines(matching) };
}

type PolicyFetch = { text: string } | { finding: Finding };

async function fetchPolicy(ctx: CheckContext, domain: string): Promise<PolicyFetch> {
  const url = new URL(`https://mta-sts.${domain}/.well-known/mta-sts.txt`);
  const timeoutMs = ctx.policyTimeoutMs ?? defaultPolicyTimeoutMs;
  const unavailable = (why: string): PolicyFetch => ({
    finding: {
      code: 'MTA_STS_POLICY_UNAVAILABLE',
      level: 'fail',
      message: `The MTA-STS policy at ${url.href} cannot be fetched (${why}), so senders cannot apply it. Serve it over HTTPS with a certificate valid for mta-sts.${domain}.`,
    },
  });
  try {
    const response = await getText(url, { lookup: netLookup(ctx.dns), extraCa: ctx.extraCa, timeoutMs, maxBytes: maxPolicyBytes, signal: ctx.signal });
    if (response.status !== 200) return unavailable(`HTTP status ${response.status}; redirects are not followed`);
    return { text: response.body };
  } catch (error) {
    if (error instanceof TextTooLarge) return unavailable(error.message);
    const code = socketErrorCode(error);
    if (code === 'ENOTFOUND') return unavailable(`mta-sts.${domain} does not resolve`);
    if (isResolutionFailure(code) || error instanceof TextTimeout || code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
      // We could not tell: DNS failed, or the host did not answer us.
      return {
        finding: {
          code: isResolutionFailure(code) ? 'TARGET_UNRESOLVED' : 'MTA_STS_UNREACHABLE',
          level: 'error',
          message: `The MTA-STS policy at ${url.href} could not be fetched (${error instanceof TextTimeout ? error.message : describeSocketError(error)}); it is not known to be wrong. Check that mta-sts.${domain} answers on port 443.`,
        },
      };
    }
    // TLS failures (untrusted or wrong certificate) and the like: senders fail the same way.
    return unavailable(describeSocketError(error));
  }
}

export async function checkMtaSts(ctx: CheckContext, domain: string): Promise<CheckResult> {
  const subject = { check: 'mta_sts' as const, domain };
  const name = `_mta-sts.${domain}`;
  const txt = await txtRecords(ctx, name, /^v=STSv1\s*(;|$)/i);
  if ('error' in txt) return result(subject, { findings: [txt.error], lines: undefined, summary: '' });
  if (txt.records.length === 0) {
    return result(subject, {
      findings: [
        {
          code: 'MTA_STS_MISSING',
          level: 'warn',
          message: `${domain} publishes no MTA-STS policy (no "v=STSv1" TXT at ${name}): senders delivering to it cannot insist on TLS. Publish the TXT record and a policy at https://mta-sts.${domain}/.well-known/mta-sts.txt.`,
        },
      ],
      lines: [],
      summary: '',
    });
  }
  if (txt.records.length > 1) {
    return result(subject, {
      findings: [{ code: 'MTA_STS_MULTIPLE', level: 'fail', message: `${name} has ${txt.records.length} MTA-STS records; senders then ignore MTA-STS. Keep exactly one.` }],
      lines: txt.lines,
      summary: '',
    });
  }
  const id = tagList(txt.records[0]!).get('id');
  if (!id || !/^[A-Za-z0-9]{1,32}$/.test(id)) {
    return result(subject, {
      findings: [
        {
          code: 'MTA_STS_INVALID',
          level: 'fail',
          message: `The MTA-STS record at ${name} has ${id ? `an invalid id "${id}"` : 'no id'}; senders ignore it. Publish "v=STSv1; id=<1-32 letters and digits, changed with each policy change>".`,
        },
      ],
      lines: txt.lines,
      summary: '',
    });
  }
  const fetched = await fetchPolicy(ctx, domain);
  if ('finding' in fetched) return result(subject, { findings: [fetched.finding], lines: txt.lines, summary: '' });
  const lines = [
    ...txt.lines,
    ...fetched.text
      .split(/\r?\n/)
      .filter((line) => line.trim())
      .map((line) => `mta-sts.${domain} POLICY ${JSON.stringify(line.trim())}`),
  ];
  let policy: ReturnType<typeof parsePolicy>;
  try {
    policy = parsePolicy(fetched.text);
  } catch (error) {
    return result(subject, {
      findings: [
        {
          code: 'MTA_STS_POLICY_INVALID',
          level: 'fail',
          message: `The MTA-STS policy of ${domain} is invalid (${(error as Error).message}); senders ignore it. It needs "version: STSv1", "mode:", "max_age:" and an "mx:" line per MX host.`,
        },
      ],
      lines,
      summary: '',
    });
  }
  const findings: Finding[] = [];
  if (policy.mode === 'none') {
    findings.push({ code: 'MTA_STS_MODE_NONE', level: 'warn', message: `The MTA-STS policy of ${domain} is in mode "none": it is being withdrawn and protects nothing.` });
  } else if (policy.mode === 'testing') {
    findings.push({
      code: 'MTA_STS_TESTING',
      level: 'warn',
      message: `The MTA-STS policy of ${domain} is in mode "testing": TLS failures are reported but mail is still delivered without TLS. Switch to "mode: enforce" once the TLS reports are clean.`,
    });
  }
  if (typeof policy.maxAge === 'number' && policy.maxAge < shortMaxAge) {
    findings.push({
      code: 'MTA_STS_SHORT_MAX_AGE',
      level: 'warn',
      message: `The MTA-STS policy's max_age is ${policy.maxAge} s: senders forget it within a day, leaving gaps an attacker can use. Use at least 604800 (a week).`,
    });
  }
  const mx = await lookup(ctx, domain, 'MX');
  if (mx.kind === 'error') findings.push(dnsErrorFinding(domain, 'MX', mx));
  else if (policy.mode !== 'none') {
    const hosts = mx.kind === 'records' ? mx.records.map((record) => (record.data as { exchange: string }).exchange.replace(/\.$/, '').toLowerCase()).filter(Boolean) : [];
    const uncovered = hosts.filter((host) => !validateMx(host, policy).valid);
    if (uncovered.length > 0) {
      findings.push({
        code: 'MTA_STS_MX_MISMATCH',
        level: policy.mode === 'enforce' ? 'fail' : 'warn',
        message: `The MTA-STS policy of ${domain} does not cover its MX host${uncovered.length > 1 ? 's' : ''} ${uncovered.join(', ')} (its mx patterns: ${(policy.mx ?? []).join(', ')})${policy.mode === 'enforce' ? ': senders that enforce MTA-STS refuse to deliver there' : ''}. Add "mx: ${uncovered[0]}" to the policy and change the id in the TXT record.`,
      });
    }
  }
  return result(subject, {
    findings,
    lines,
    summary: `MTA-STS mode ${policy.mode}, max_age ${policy.maxAge ?? '?'} s, covering every MX host.`,
    details: { mta_sts_mode: policy.mode, ...(typeof policy.maxAge === 'number' ? { mta_sts_max_age: policy.maxAge } : {}) },
  });
}

export async function checkTlsRpt(ctx: CheckContext, domain: string): Promise<CheckResult> {
  const subject = { check: 'tls_rpt' as const, domain };
  const name = `_smtp._tls.${domain}`;
  const txt = await txtRecords(ctx, name, /^v=TLSRPTv1\s*(;|$)/i);
  if ('error' in txt) return result(subject, { findings: [txt.error], lines: undefined, summary: '' });
  if (txt.records.length === 0) {
    return result(subject, {
      findings: [
        {
          code: 'TLS_RPT_MISSING',
          level: 'warn',
          message: `${domain} asks for no TLS reports (no "v=TLSRPTv1" TXT at ${name}): you will not hear when senders fail to deliver to you over TLS. Publish "v=TLSRPTv1; rua=mailto:<address>".`,
        },
      ],
      lines: [],
      summary: '',
    });
  }
  if (txt.records.length > 1) {
    return result(subject, {
      findings: [{ code: 'TLS_RPT_MULTIPLE', level: 'fail', message: `${name} has ${txt.records.length} TLS-RPT records; senders then send no reports. Keep exactly one.` }],
      lines: txt.lines,
      summary: '',
    });
  }
  const rua = tagList(txt.records[0]!).get('rua') ?? '';
  const destinations = rua
    .split(',')
    .map((uri) => uri.trim())
    .filter(Boolean);
  const valid = destinations.filter((uri) => /^mailto:[^@\s]+@[^@\s]+$/i.test(uri) || /^https:\/\/\S+$/i.test(uri));
  if (valid.length === 0 || valid.length !== destinations.length) {
    return result(subject, {
      findings: [
        {
          code: 'TLS_RPT_INVALID',
          level: 'fail',
          message: `The TLS-RPT record at ${name} has ${destinations.length === 0 ? 'no rua=' : `a rua= that is not mailto: or https: (${rua})`}; senders cannot report. Use "rua=mailto:<address>" or "rua=https://<endpoint>".`,
        },
      ],
      lines: txt.lines,
      summary: '',
    });
  }
  return result(subject, { findings: [], lines: txt.lines, summary: `TLS reports go to ${valid.join(', ')}.` });
}

export async function checkBimi(ctx: CheckContext, domain: string): Promise<CheckResult> {
  const subject = { check: 'bimi' as const, domain };
  const name = `default._bimi.${domain}`;
  const txt = await txtRecords(ctx, name, /^v=BIMI1\s*(;|$)/i);
  if ('error' in txt) return result(subject, { findings: [txt.error], lines: undefined, summary: '' });
  if (txt.records.length === 0) return result(subject, { findings: [], lines: [], summary: `No BIMI record at ${name} (optional: it shows your logo in supporting inboxes).` });
  if (txt.records.length > 1) {
    return result(subject, {
      findings: [{ code: 'BIMI_MULTIPLE', level: 'fail', message: `${name} has ${txt.records.length} BIMI records; mailbox providers then show no logo. Keep exactly one.` }],
      lines: txt.lines,
      summary: '',
    });
  }
  const tags = tagList(txt.records[0]!);
  const logo = tags.get('l') ?? '';
  const findings: Finding[] = [];
  if (logo && !/^https:\/\/\S+\.svg$/i.test(logo)) {
    findings.push({
      code: 'BIMI_INVALID_LOGO',
      level: 'fail',
      message: `The BIMI logo l=${logo} is not an https:// URL of an SVG file; providers show no logo. Point l= at the SVG Tiny PS logo over HTTPS.`,
    });
  }
  if (!logo) {
    findings.push({ code: 'BIMI_NO_LOGO', level: 'warn', message: `The BIMI record at ${name} names no logo (empty l=), which declines BIMI. Remove the record or add the logo URL.` });
  }
  const evidence = tags.get('a') ?? '';
  return result(subject, {
    findings,
    lines: txt.lines,
    summary: `BIMI logo at ${logo}${evidence ? ', with a mark certificate' : '; no mark certificate (a=), so Gmail and Apple Mail will not show it'}.`,
  });
}
