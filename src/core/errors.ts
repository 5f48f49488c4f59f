/**
 * The one error class of the application. Every expected failure carries an
 * UPPER_SNAKE code from this list, which declares beside each code the HTTP
 * status the API answers it with and what it means (the table in docs/reference.md is made
 * from it); the CLI prints the message, and runner/ records the code with the run.
 */
export const errorCodes = {
  // configuration
  CONFIG_INVALID: { status: 500, meaning: 'the configuration has problems; each is listed with its file and path' },
  CONFIG_NOT_FOUND: { status: 500, meaning: 'the configuration file does not exist' },
  // embedded store
  STORE_UNAVAILABLE: { status: 503, meaning: 'the store (SQLite, or PostgreSQL) cannot be opened or used' },
  STORE_TOO_NEW: { status: 500, meaning: 'the data directory or database was written by a newer Mailscope' },
  STORE_MIGRATION_FAILED: { status: 500, meaning: 'a schema migration failed and was rolled back' },
  // probes and runs
  SERIES_INVALID: { status: 500, meaning: 'a probe produced an observation the series registry does not allow (a bug)' },
  PROBE_NOT_FOUND: { status: 404, meaning: 'no probe with that id' },
  PROBE_BUSY: { status: 409, meaning: 'the probe is already running' },
  PROBE_TIMEOUT: { status: 504, meaning: "the run did not finish within the probe's timeout" },
  PROBE_OVERLAP: { status: 409, meaning: 'a scheduled run was skipped: the previous run was still going' },
  PROBE_ABORTED: { status: 503, meaning: 'the run was stopped by shutdown' },
  PROBE_CRASHED: { status: 500, meaning: 'the probe threw something unexpected (a bug; the log has the stack)' },
  TARGET_UNRESOLVED: { status: 502, meaning: "a target's name did not resolve, so it could not be measured" },
  // DNS (src/protocols/dns) and blocklists: outcomes of a lookup, recorded per target
  DNS_TIMEOUT: { status: 504, meaning: 'no DNS answer within the timeout, after every attempt' },
  DNS_SERVFAIL: { status: 502, meaning: 'the resolver failed (SERVFAIL)' },
  DNS_REFUSED: { status: 502, meaning: 'the resolver refused the query' },
  DNS_MALFORMED: { status: 502, meaning: 'the DNS answer could not be decoded, or the name is not a DNS name' },
  DNS_ID_MISMATCH: { status: 502, meaning: 'DNS answers arrived with our id but for another question' },
  DNS_RCODE: { status: 502, meaning: 'the resolver answered with an unexpected response code' },
  DNS_NETWORK: { status: 502, meaning: 'the DNS query could not be sent' },
  DNS_ABORTED: { status: 503, meaning: 'the DNS query was abandoned' },
  DNSBL_REFUSED: { status: 502, meaning: 'the list refuses our queries (public or unregistered resolver, or no access key)' },
  DNSBL_RATE_LIMITED: { status: 502, meaning: 'the list says we query too much' },
  DNSBL_BAD_ZONE: { status: 502, meaning: 'the list says the zone name is wrong' },
  DNSBL_WRONG_KIND: { status: 502, meaning: 'an IP asked of a domain list, or a domain of an IP list' },
  DNSBL_BAD_ANSWER: { status: 502, meaning: 'an answer outside 127.0.0.0/8: a resolver rewriting answers, not the list' },
  DNSBL_UNKNOWN_CODE: { status: 502, meaning: 'an answer in 127.0.0.0/8 that the list does not document' },
  DNSBL_ERROR_ANSWER: { status: 502, meaning: 'an answer the list documents as an error' },
  DNSBL_BROKEN: { status: 502, meaning: 'the list failed its test points this run: none of its answers can be trusted' },
  // DNS authentication (src/probes/dns-auth*.ts)
  MTA_STS_UNREACHABLE: { status: 502, meaning: 'the MTA-STS policy host did not answer, so the policy is unknown' },
  // Placement: submission (src/protocols/smtp) and seed mailboxes (src/protocols/imap)
  SMTP_REJECTED: { status: 502, meaning: 'the routing engine or a receiver refused the message for this recipient (an outcome: rejected)' },
  SMTP_UNREACHABLE: { status: 502, meaning: "the routing engine's SMTP server could not be reached" },
  SMTP_AUTH_FAILED: { status: 502, meaning: 'the routing engine refused the SMTP credentials' },
  SMTP_TLS_FAILED: { status: 502, meaning: 'TLS with the routing engine failed' },
  SMTP_ERROR: { status: 502, meaning: 'the submission failed for another reason (the message says which)' },
  IMAP_AUTH_FAILED: { status: 502, meaning: 'the seed mailbox refused the IMAP credentials' },
  IMAP_UNREACHABLE: { status: 502, meaning: "the seed mailbox's IMAP server could not be reached" },
  IMAP_TLS_FAILED: { status: 502, meaning: 'TLS with the IMAP server failed (certificate or protocol)' },
  IMAP_ERROR: { status: 502, meaning: 'an IMAP command failed (the message says which)' },
  OAUTH_TOKEN_FAILED: { status: 502, meaning: 'no OAuth2 access token could be obtained for the seed mailbox' },
  // Alerts and notifiers
  NOTIFY_FAILED: { status: 502, meaning: 'a notification could not be delivered (the channel said why); it is retried with backoff' },
  ALERT_NOT_FOUND: { status: 404, meaning: 'no alert with that id' },
  ALERT_NOT_FIRING: { status: 409, meaning: 'only a firing alert can be acknowledged' },
  SILENCE_NOT_FOUND: { status: 404, meaning: 'no silence with that id' },
  // Send control and platform adapters
  CONTROL_NOT_FOUND: { status: 404, meaning: 'no control with that id' },
  CONTROL_NOT_ACTIVE: { status: 409, meaning: 'the control was already lifted or has expired' },
  PUSH_FAILED: { status: 502, meaning: 'a control could not be pushed to a sending platform (the platform said why); it is retried with backoff' },
  ACTION_FAILED: { status: 500, meaning: "a rule's control action could not be taken for an alert (its scope could not be made from the alert's tags); the alert and its notifications go on" },
  RELEASE_FAILED: { status: 502, meaning: 'held messages could not be released from the Postfix hold queue (postsuper/postqueue said why)' },
  // High availability (src/ha)
  LEASE_LOST: { status: 409, meaning: 'this instance no longer holds the lease the work needs (another took it over, or it expired): the work is left to the holder' },
  // HTTP API
  HTTP_LISTEN_FAILED: { status: 500, meaning: 'the API cannot listen on its address (taken, or not on this machine)' },
  BAD_REQUEST: { status: 400, meaning: "the request does not match the route's schema; every issue is listed" },
  REQUEST_TIMEOUT: { status: 408, meaning: 'the request did not arrive in full within http.requestTimeout; the connection is closed' },
  BODY_TOO_LARGE: { status: 413, meaning: 'the request body is larger than the API takes' },
  URI_TOO_LONG: { status: 414, meaning: 'a path segment of the URL is longer than the API takes' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, meaning: 'the request body is not JSON (Content-Type: application/json)' },
  HEADERS_TOO_LARGE: { status: 431, meaning: 'the request line and headers are larger than the API takes' },
  UNAUTHORIZED: { status: 401, meaning: 'no valid bearer token' },
  FORBIDDEN: { status: 403, meaning: "the token's role is too low for the route" },
  NOT_FOUND: { status: 404, meaning: 'no such resource or route' },
  INTERNAL: { status: 500, meaning: 'an unexpected failure; details are in the log only' },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof errorCodes;

/** The HTTP status the API answers a code with. */
export function statusOf(code: ErrorCode): number {
  return errorCodes[code].status;
}

export type ErrorDetails = Record<string, unknown>;

export class MailscopeError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails | undefined;

  constructor(code: ErrorCode, message: string, options: { details?: ErrorDetails; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MailscopeError';
    this.code = code;
    this.details = options.details;
  }
}

export function isMailscopeError(value: unknown): value is MailscopeError {
  return value instanceof MailscopeError;
}

/** The message of anything thrown, for places that must report a foreign throw as text. */
export function messageOf(value: unknown): string {
  if (value instanceof Error) return value.message;
  return String(value);
}
