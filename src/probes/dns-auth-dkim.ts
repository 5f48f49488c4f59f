/**
 * DKIM key records (RFC 6376, RFC 8301, RFC 8463): `<selector>._domainkey.<domain>`,
 * parsed by mailauth's key reader, judged here by type, size and flags.
 */
import { getPublicKey } from 'mailauth/lib/tools.js';
import { dnsErrorFinding, lookup, result, sortedLines, tagList, txtText, type CheckContext, type CheckResult, type Finding } from './dns-auth-check.ts';

const rsaMinimumBits = 1024;
const rsaRecommendedBits = 2048;

export async function checkDkim(ctx: CheckContext, domain: string, selector: string): Promise<CheckResult> {
  const subject = { check: 'dkim' as const, domain, selector };
  const name = `${selector}._domainkey.${domain}`;
  const found = await lookup(ctx, name, 'TXT');
  if (found.kind === 'error') return result(subject, { findings: [dnsErrorFinding(name, 'TXT', found)], lines: undefined, summary: '' });
  if (found.kind === 'none') {
    return result(subject, {
      findings: [
        {
          code: 'DKIM_MISSING',
          level: 'fail',
          message: `No DKIM key at ${name}: mail signed with selector "${selector}" fails DKIM. Publish the public key there, or correct the selector the platform signs with.`,
        },
      ],
      lines: [],
      summary: '',
    });
  }
  const lines = sortedLines(found.records);
  if (found.records.length > 1) {
    return result(subject, {
      findings: [
        {
          code: 'DKIM_MULTIPLE',
          level: 'fail',
          message: `${name} has ${found.records.length} TXT records; receivers read one of them at random, so signatures fail some of the time. Keep exactly one key record per selector.`,
        },
      ],
      lines,
      summary: '',
    });
  }
  const text = txtText(found.records[0]!);
  if (tagList(text).get('p') === '') {
    return result(subject, {
      findings: [
        {
          code: 'DKIM_REVOKED',
          level: 'fail',
          message: `The DKIM key for selector "${selector}" is revoked (empty p=): every signature made with it fails. Sign with a current selector and stop using "${selector}", or publish its key again.`,
        },
      ],
      lines,
      summary: '',
      details: { dkim_revoked: true },
    });
  }
  let key: Awaited<ReturnType<typeof getPublicKey>>;
  try {
    // The record already fetched, handed to mailauth's key reader; minimum 1 bit so it reports the size instead of refusing.
    key = await getPublicKey('DKIM', name, 1, async () => [[text]]);
  } catch (error) {
    return result(subject, {
      findings: [
        {
          code: 'DKIM_INVALID',
          level: 'fail',
          message: `The DKIM key record at ${name} cannot be used (${(error as Error).message}); receivers treat its signatures as failing. Publish the key again as "v=DKIM1; k=rsa; p=<base64 public key>".`,
        },
      ],
      lines,
      summary: '',
    });
  }
  const findings: Finding[] = [];
  const bits = key.keyType === 'rsa' ? key.modulusLength : undefined;
  if (bits !== undefined && bits < rsaMinimumBits) {
    findings.push({
      code: 'DKIM_WEAK_KEY',
      level: 'fail',
      message: `The DKIM key for selector "${selector}" is ${bits}-bit RSA; receivers must not accept keys under ${rsaMinimumBits} bits (RFC 8301), so its signatures fail. Publish a ${rsaRecommendedBits}-bit key under a new selector and sign with it.`,
    });
  } else if (bits !== undefined && bits < rsaRecommendedBits) {
    findings.push({
      code: 'DKIM_SHORT_KEY',
      level: 'warn',
      message: `The DKIM key for selector "${selector}" is ${bits}-bit RSA; ${rsaRecommendedBits} bits is the recommended size and some receivers distrust shorter keys. Publish a ${rsaRecommendedBits}-bit key under a new selector and rotate to it.`,
    });
  }
  if (key.testing) {
    findings.push({
      code: 'DKIM_TESTING',
      level: 'warn',
      message: `The DKIM key for selector "${selector}" is in testing mode (t=y): receivers may treat its signatures as if the mail were unsigned. Remove "t=y" once signing works.`,
    });
  }
  const size = bits !== undefined ? `${bits}-bit RSA` : key.keyType;
  return result(subject, {
    findings,
    lines,
    summary: `DKIM key for selector "${selector}": ${size}.`,
    details: { dkim_key_type: key.keyType, ...(bits !== undefined ? { dkim_key_bits: bits } : {}), dkim_testing: key.testing },
  });
}
