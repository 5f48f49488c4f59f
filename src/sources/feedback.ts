/**
 * The measurements feedback reports become (each report source kind declares
 * them, so the series registry knows them and alert rules can watch them):
 * `dmarc` per domain, source, reporter and alignment; `dmarc_domain` per domain
 * and reporter; `tls_rpt` per policy and `tls_rpt_mx` per receiving MX;
 * `complaints` per provider and source IP. Bounces (DSNs) join the `traffic`
 * series. Report ids are fields, never tags.
 */
import type { FieldSpec, MeasurementSpec } from '../core/measurement.ts';
import { trafficMeasurements } from './traffic.ts';

/** The failure types of RFC 8460 (section 4.3), each a field of tls_rpt; anything else counts as fail_other. */
export const tlsResultTypes = [
  'starttls-not-supported',
  'certificate-host-mismatch',
  'certificate-expired',
  'certificate-not-trusted',
  'validation-failure',
  'tlsa-invalid',
  'dnssec-invalid',
  'dane-required',
  'sts-policy-fetch-error',
  'sts-policy-invalid',
  'sts-webpki-invalid',
] as const;

export const tlsFailureField = (type: string) => `fail_${(tlsResultTypes as readonly string[]).includes(type) ? type.replaceAll('-', '_') : 'other'}`;

const int = (description: string): FieldSpec => ({ type: 'integer', description });
const ratio = (description: string): FieldSpec => ({ type: 'float', unit: 'ratio', description });

export const feedbackMeasurements = {
  dmarc: {
    description:
      "DMARC aggregate reports: who sent as a domain, per report, source and alignment. One point per report, source and aligned value, at the report's end time; of a report naming more than 1,000 sources, the 1,000 with the most messages, the rest summed as source (other).",
    tags: {
      domain: 'the policy domain the report is about',
      reporter: 'the reporting organization (google.com, Yahoo, Outlook.com, ...)',
      source: "who sent: the base domain of the source IP's forward-confirmed reverse DNS, else the IP",
      aligned: 'true: DKIM or SPF passed aligned (DMARC pass); false: neither did',
      own: 'true when the source IP is one of yours (a blacklist probe target or a traffic source IP)',
    },
    fields: {
      messages: int('messages in the report from this source with this alignment'),
      rows: int("the reporter's rows behind it"),
      dkim_aligned: int('messages whose DKIM passed aligned'),
      spf_aligned: int('messages whose SPF passed aligned'),
      quarantined: int('messages the receiver quarantined'),
      rejected: int('messages the receiver rejected'),
      overridden: int('messages the receiver let through by a local override (forwarded, mailing_list, ...)'),
      new_source_messages: int('the messages when this source is new for the domain (never seen in an earlier report), else 0'),
      report_id: { type: 'string', description: "the reporter's report id" },
    },
  },
  dmarc_domain: {
    description: 'DMARC aggregate reports per domain and reporter: one point per report, at its end time.',
    tags: { domain: 'the policy domain', reporter: 'the reporting organization' },
    fields: {
      messages: int('messages in the report'),
      aligned: int('messages that passed DMARC (DKIM or SPF aligned)'),
      pass_rate: ratio('aligned / messages'),
      sources: int('distinct sources in the report'),
      new_sources: int('sources never seen for the domain before this report'),
      report_id: { type: 'string', description: "the reporter's report id" },
    },
  },
  tls_rpt: {
    description: 'SMTP TLS reports (RFC 8460): sessions to your MX hosts that negotiated TLS under a policy, or failed; one point per report and policy, at its end time.',
    tags: { domain: 'the policy domain (your receiving domain)', reporter: 'the reporting organization', policy_type: 'sts, tlsa or no-policy-found' },
    fields: {
      successes: int('sessions that succeeded'),
      failures: int('sessions that failed'),
      failure_rate: ratio('failures / (successes + failures)'),
      ...Object.fromEntries(tlsResultTypes.map((type) => [`fail_${type.replaceAll('-', '_')}`, int(`failed sessions of result type ${type}`)])),
      fail_other: int('failed sessions of any other result type'),
      report_id: { type: 'string', description: "the reporter's report id" },
    },
  },
  tls_rpt_mx: {
    description: 'SMTP TLS report failures per receiving MX host: one point per report, policy domain and MX, at its end time.',
    tags: { domain: 'the policy domain', reporter: 'the reporting organization', mx: 'the receiving MX host name (or IP when not given)' },
    fields: {
      failures: int('failed sessions at this MX'),
      result_types: { type: 'string', description: 'the failure result types seen, comma-separated' },
    },
  },
  complaints: {
    description:
      'Complaints (ARF feedback reports: Yahoo CFL, Microsoft JMRP, ...) per provider and source IP, and the complaint rate over the last 24 hours where the traffic sources count deliveries: one point per batch of reports recorded.',
    tags: { provider: 'the mailbox provider that reported', ip: 'the source IP of the complained-about message (when the report says)', campaign: 'the campaign, when the original headers carry it' },
    fields: {
      complaints: int('complaints in this batch'),
      complaints_24h: int('complaints in the last 24 hours for this provider (and IP)'),
      delivered_24h: int('messages delivered to this provider (from this IP) in the last 24 hours, as the traffic sources counted them'),
      complaint_rate: ratio('complaints_24h / delivered_24h (absent without deliveries counted)'),
    },
  },
} as const satisfies Record<string, MeasurementSpec>;

/** What a report source's inputs become: the feedback series, and traffic (out-of-band bounces and complaints). */
export const reportMeasurements = { ...feedbackMeasurements, ...trafficMeasurements };
