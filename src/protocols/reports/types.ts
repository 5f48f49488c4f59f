/**
 * Feedback reports as Mailscope reads them, whatever carried them (a bare file,
 * gzip, zip, an attachment of a mail, an HTTP body): one shape per format. The
 * parsers in this folder and in `protocols/mail/` (ARF, DSN) produce these; they
 * know nothing of the app. Every text in them came from a reporter and is
 * untrusted: the parsers bound it and strip control characters.
 */

/** DMARC aggregate report (RFC 7489 appendix C, DMARCbis). */
export interface AggregateReport {
  kind: 'dmarc-aggregate';
  /** report_metadata/org_name */
  org: string;
  /** report_metadata/email, when given */
  orgEmail?: string;
  /** report_metadata/report_id */
  reportId: string;
  /** report_metadata/date_range, as the reporter gave it (it may span more than 24 h) */
  begin: Date;
  end: Date;
  /** policy_published */
  policy: {
    domain: string;
    adkim?: 'r' | 's';
    aspf?: 'r' | 's';
    p?: string;
    sp?: string;
    np?: string;
    pct?: number;
    fo?: string;
  };
  /** report_metadata/error, each bounded */
  errors: string[];
  rows: AggregateRow[];
  /** Sum of rows[].count */
  messages: number;
}

export type AuthResult = string; // pass | fail | none | neutral | softfail | temperror | permerror | policy ... lower-cased

export interface AggregateRow {
  sourceIp: string;
  count: number;
  /** policy_evaluated */
  disposition: string; // none | quarantine | reject (lower-cased)
  dkimAligned: 'pass' | 'fail' | string; // policy_evaluated/dkim
  spfAligned: 'pass' | 'fail' | string; // policy_evaluated/spf
  /** policy_evaluated/reason (type and comment): forwarded, mailing_list, local_policy, sampled_out, trusted_forwarder, other */
  overrides: { type: string; comment?: string }[];
  /** identifiers */
  headerFrom: string;
  envelopeFrom?: string;
  envelopeTo?: string;
  /** auth_results */
  dkim: { domain: string; selector?: string; result: AuthResult }[];
  spf: { domain: string; scope?: string; result: AuthResult }[];
}

/** SMTP TLS report (RFC 8460). */
export interface TlsReport {
  kind: 'tls-rpt';
  org: string;
  reportId: string;
  begin: Date;
  end: Date;
  contact?: string;
  policies: TlsPolicyResult[];
  /** Totals over the policies */
  successes: number;
  failures: number;
}

export interface TlsPolicyResult {
  /** policy-type: sts | tlsa | no-policy-found */
  policyType: string;
  policyDomain: string;
  /** mx-host entries of the policy, when given */
  mxHosts: string[];
  successes: number;
  failures: number;
  failureDetails: {
    resultType: string; // starttls-not-supported, certificate-expired, validation-failure, sts-policy-fetch-error, ...
    sendingMtaIp?: string;
    receivingMxHostname?: string;
    receivingIp?: string;
    failedSessions: number;
    additionalInformation?: string;
    failureReasonCode?: string;
  }[];
}

/** Abuse/complaint feedback (RFC 5965 ARF: message/feedback-report). */
export interface ComplaintReport {
  kind: 'arf';
  /** Feedback-Type: abuse, fraud, virus, other, not-spam, auth-failure */
  feedbackType: string;
  userAgent?: string;
  /** Version of the ARF format the reporter wrote (0.1, 1) */
  version?: string;
  /** Incidents: how many complaints this report stands for (1 when absent) */
  incidents?: number;
  /** Arrival-Date or Received-Date, else the report's Date */
  arrivalDate?: Date;
  sourceIp?: string;
  originalMailFrom?: string;
  originalRcptTo?: string;
  /** Reported-Domain, else the domain of the original From */
  reportedDomain?: string;
  /** Reported-URI fields, each bounded */
  reportedUris?: string[];
  /** The reporter's Authentication-Results for the original message, raw, bounded */
  authenticationResults?: string;
  /** The reporter (the report's From domain, e.g. yahoo.com), lower-cased */
  reporter?: string;
  /** From the original message's headers (third part), when included */
  original: {
    from?: string;
    to?: string;
    subject?: string;
    messageId?: string;
    date?: Date;
    /** Headers a platform sets to name what was sent: X-Campaign, X-Mailscope-Campaign, Feedback-ID (Gmail), ... raw values, bounded */
    campaign?: string;
    feedbackId?: string;
    /** List-Id, raw, bounded */
    listId?: string;
  };
}

/** A delivery status notification (RFC 3464), one entry per recipient. */
export interface BounceReport {
  kind: 'dsn';
  /** The reporting MTA (Reporting-MTA), when given */
  reportingMta?: string;
  /** Arrival-Date of the per-message fields, else the report's Date */
  arrivalDate?: Date;
  recipients: DsnRecipient[];
  /** From the returned original message's headers, when included */
  original: {
    from?: string;
    messageId?: string;
    subject?: string;
    campaign?: string;
    /** Feedback-ID (Gmail's), raw, bounded */
    feedbackId?: string;
    /** List-Id, raw, bounded */
    listId?: string;
  };
}

export interface DsnRecipient {
  /** Original-Recipient, when present: the address the message was sent to */
  original?: string;
  /** Final-Recipient (or the address found in the text when the status part had none) */
  final: string;
  /** failed | delayed | delivered | relayed | expanded (comments removed, lower-cased) */
  action: string;
  /** The status code without comments (5.1.1) */
  status?: string;
  /** Diagnostic-Code without its type prefix, bounded */
  diagnostic?: string;
  remoteMta?: string;
}

export type FeedbackReport = AggregateReport | TlsReport | ComplaintReport | BounceReport;
export type FeedbackKind = FeedbackReport['kind'];

/** Why a file was refused: a code and a sentence (shown in the quarantine, the API and the CLI). */
export class ReportRefused extends Error {
  readonly code: ReportRefusalCode;
  constructor(code: ReportRefusalCode, message: string) {
    super(message);
    this.name = 'ReportRefused';
    this.code = code;
  }
}

export const reportRefusalCodes = [
  'too-large', // compressed input over its cap
  'bomb', // decompressed over its cap (streamed, stopped at the cap)
  'zip-members', // too many members in a zip, or a zip in a zip past the nesting cap
  'doctype', // XML with a DOCTYPE or entity declarations
  'xml-limits', // depth or element-count caps
  'malformed', // not well-formed XML / JSON / MIME, or a required field missing or invalid
  'unknown', // not a report of any known kind
] as const;
export type ReportRefusalCode = (typeof reportRefusalCodes)[number];

/** Caps on what one input may cost. Every one has a default (limits.ts) and may be set in config. */
export interface ReportLimits {
  /** Largest input read (compressed as it came), bytes */
  maxInputBytes: number;
  /** Largest decompressed size of one report, bytes (streamed: stopped at the cap) */
  maxExpandedBytes: number;
  /** Most members read from one zip */
  maxZipMembers: number;
  /** Most nested archives (a gzip in a zip is one level deeper) */
  maxNesting: number;
  /** Deepest XML element nesting */
  maxXmlDepth: number;
  /** Most XML elements in one report */
  maxXmlElements: number;
  /** Most rows (DMARC records, TLS failure details) in one report */
  maxRows: number;
  /** Most attachments of one mail looked at */
  maxParts: number;
}
