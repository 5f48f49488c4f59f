/**
 * THE list of measurements: every tag and field Mailscope writes, with its type
 * and unit. record() checks each observation against it, alert rules are checked
 * against it at load time, and the dashboards query what it declares.
 */

export const fieldTypes = ['float', 'integer', 'boolean', 'string'] as const;
export type FieldType = (typeof fieldTypes)[number];

export interface FieldSpec {
  type: FieldType;
  unit?: string;
  description: string;
}

export interface MeasurementSpec {
  description: string;
  /** Tag name → description. Every measurement also carries the `probe` tag. */
  tags: Record<string, string>;
  fields: Record<string, FieldSpec>;
  /**
   * A state remembered per series across runs: while the boolean field `when` is
   * true, the integer field `field` carries when it first became true (ms since
   * the epoch). record() keeps it in the store; false ends it; absent (an error)
   * leaves it as it was.
   */
  since?: { when: string; field: string };
  /**
   * Change detection per series: record() remembers the last `digest` and `value`
   * fields of each series; when a new observation's digest differs, it also
   * records an observation of `into` (same tags) with the fields old_<value>,
   * new_<value>, old_<digest> and new_<digest>.
   * An observation without a digest (an error: the value is unknown) changes nothing.
   */
  changes?: { digest: string; value: string; into: string };
  /**
   * Written by Mailscope itself (the alert engine), not observed by a probe: no
   * run carries it, so an alert rule cannot watch it.
   */
  writtenBy?: string;
}

/** Tags every observation carries; the runner sets them, probes need not. */
export const commonTags = {
  probe: 'id of the probe definition that produced the observation',
} as const;

/** Placement counts, rates and latency: per provider and per run. */
const placementCounts = {
  seeds: { type: 'integer', description: 'seed mailboxes' },
  inbox: { type: 'integer', description: 'seeds where the message landed in the inbox' },
  spam: { type: 'integer', description: 'seeds where it landed in the spam folder' },
  category: { type: 'integer', description: 'seeds where it landed in a category (tab or folder)' },
  missing: { type: 'integer', description: 'seeds where it was not found by the deadline' },
  rejected: { type: 'integer', description: 'seeds that refused it (at submission, or a bounce)' },
  errors: { type: 'integer', description: 'seeds that could not be read (IMAP or submission failure): excluded from the rates' },
  inbox_rate: { type: 'float', unit: 'ratio', description: 'inbox / seeds with a known outcome (0..1); absent when none is known' },
  spam_rate: { type: 'float', unit: 'ratio', description: 'spam / seeds with a known outcome' },
  category_rate: { type: 'float', unit: 'ratio', description: 'category / seeds with a known outcome' },
  missing_rate: { type: 'float', unit: 'ratio', description: 'missing / seeds with a known outcome' },
  rejected_rate: { type: 'float', unit: 'ratio', description: 'rejected / seeds with a known outcome' },
  latency_p50_ms: { type: 'float', unit: 'ms', description: 'median delivery latency of the messages found' },
  latency_p90_ms: { type: 'float', unit: 'ms', description: '90th percentile delivery latency' },
  latency_max_ms: { type: 'float', unit: 'ms', description: 'slowest delivery' },
} as const satisfies Record<string, FieldSpec>;

export const measurements = {
  probe_run: {
    description: 'One run of a probe: whether it could measure, and how long it took.',
    tags: { kind: 'probe kind (tcp, http, blacklist, ...)' },
    fields: {
      success: { type: 'boolean', description: 'true when the probe measured; false when it could not (see error_code)' },
      duration_ms: { type: 'float', unit: 'ms', description: 'wall time of the run' },
      observations: { type: 'integer', description: 'observations the run produced, this one excluded' },
      error_code: { type: 'string', description: 'UPPER_SNAKE code of the failure; absent on success' },
    },
  },
  blacklist: {
    description: 'One target on one DNS blocklist: listed, not listed, or an error (never a guess).',
    tags: {
      target: 'the IP address or domain looked up',
      target_kind: 'ip | domain',
      list: 'list id (spamhaus-zen, spamcop, or your own)',
      range: 'the configured CIDR range the address belongs to, when it came from one',
    },
    fields: {
      status: { type: 'string', description: 'listed | not_listed | error' },
      listed: { type: 'boolean', description: 'absent when status is error: unknown is not clean' },
      codes: { type: 'string', description: 'the answer addresses, comma-separated (127.0.0.2,127.0.0.4)' },
      meanings: { type: 'string', description: "what the codes mean, from the list's catalog entry" },
      reason: { type: 'string', description: "the list's TXT record for the listing" },
      delist_url: { type: 'string', description: 'where to ask for delisting' },
      listed_since: { type: 'integer', unit: 'ms', description: 'when this listing was first seen (ms since the epoch); present while listed' },
      query_ms: { type: 'float', unit: 'ms', description: 'time of the A lookup' },
      error_code: { type: 'string', description: 'UPPER_SNAKE code when status is error (DNS_TIMEOUT, DNSBL_REFUSED, DNSBL_BROKEN, ...)' },
      error: { type: 'string', description: 'the error in words' },
    },
    since: { when: 'listed', field: 'listed_since' },
  },
  blacklist_target: {
    description: 'Per target and run: how many lists were checked, list it, or could not answer.',
    tags: { target: 'the IP address or domain', target_kind: 'ip | domain', range: 'the configured CIDR range, when it came from one' },
    fields: {
      lists_checked: { type: 'integer', description: 'lists that apply to the target' },
      listed_count: { type: 'integer', description: 'lists that list it' },
      error_count: { type: 'integer', description: 'lists that could not answer' },
      listed_on: { type: 'string', description: 'ids of the lists that list it, comma-separated' },
    },
  },
  blacklist_list: {
    description: "Per list and run: whether it passed its RFC 5782 test points (a broken list's answers are errors that run).",
    tags: { list: 'list id' },
    fields: {
      healthy: { type: 'boolean', description: 'the listed test point is listed and the other is not' },
      reason: { type: 'string', description: 'why it is broken' },
      test_ms: { type: 'float', unit: 'ms', description: 'time of the test-point lookups' },
    },
  },
  dns_auth: {
    description: 'One DNS authentication check of a sending domain (spf, spf_ip, dkim, dmarc, mx, address, ptr, mta_sts, tls_rpt, bimi): its verdict, what to fix, and the record seen.',
    tags: {
      domain: 'the sending domain',
      check: 'spf | spf_ip | dkim | dmarc | mx | address | ptr | mta_sts | tls_rpt | bimi',
      selector: 'the DKIM selector (check dkim)',
      ip: 'the sending IP (checks spf_ip and ptr)',
    },
    fields: {
      status: { type: 'string', description: 'pass | warn | fail | error (error: DNS or the policy host failed, so it is unknown; never a fail)' },
      level: { type: 'integer', description: 'the status as a number: pass 0, warn 1, fail 2, error 3' },
      message: { type: 'string', description: 'what is wrong and what to change, or what was verified' },
      findings: { type: 'string', description: 'finding codes, comma-separated (SPF_TOO_MANY_LOOKUPS, DKIM_SHORT_KEY, ...); empty when there are none' },
      record: { type: 'string', description: 'the records seen, one "name TYPE value" line each; empty when there are none; absent on error' },
      digest: { type: 'string', description: 'sha256 of the record (16 hex digits); absent on error' },
      error_code: { type: 'string', description: 'UPPER_SNAKE code when status is error (DNS_TIMEOUT, DNS_SERVFAIL, MTA_STS_UNREACHABLE, ...)' },
      spf_lookups: { type: 'integer', description: 'DNS-querying SPF terms counted through includes and redirects (limit 10)' },
      spf_void_lookups: { type: 'integer', description: 'SPF lookups that found no records (limit 2)' },
      spf_records: { type: 'integer', description: 'number of v=spf1 records, when more than one' },
      spf_result: { type: 'string', description: 'what SPF gives the IP: pass | fail | softfail | neutral | none | permerror' },
      dkim_key_type: { type: 'string', description: 'rsa | ed25519' },
      dkim_key_bits: { type: 'integer', unit: 'bits', description: 'RSA key size' },
      dkim_testing: { type: 'boolean', description: 'the key is in testing mode (t=y)' },
      dkim_revoked: { type: 'boolean', description: 'the key is revoked (empty p=)' },
      dmarc_policy: {
        type: 'string',
        description:
          'the policy receivers apply to the domain: none | quarantine | reject (sp= when inherited; none when p= is missing or p=, sp= or np= is invalid but rua= has a valid URI; the weakest value of a repeated tag); absent when they apply none',
      },
      dmarc_pct: { type: 'integer', unit: '%', description: 'pct= (100 when absent or invalid; RFC 9989 removed the tag)' },
      dmarc_record_domain: { type: 'string', description: 'where the record was found: the domain, or its organizational domain' },
      dmarc_rua: { type: 'boolean', description: 'aggregate reports are requested: rua= has at least one valid URI' },
      dmarc_adkim: { type: 'string', description: 'DKIM alignment: r | s (absent when adkim= is not given or invalid: receivers use r)' },
      dmarc_aspf: { type: 'string', description: 'SPF alignment: r | s (absent when aspf= is not given or invalid: receivers use r)' },
      mx_hosts: { type: 'integer', description: 'distinct MX hosts' },
      addresses: { type: 'integer', description: "the domain's A and AAAA records" },
      ptr_name: { type: 'string', description: 'the PTR name of the IP' },
      fcrdns: { type: 'boolean', description: 'the PTR name resolves back to the IP (forward-confirmed reverse DNS)' },
      mta_sts_mode: { type: 'string', description: 'enforce | testing | none' },
      mta_sts_max_age: { type: 'integer', unit: 's', description: "the policy's max_age" },
    },
    changes: { digest: 'digest', value: 'record', into: 'dns_auth_change' },
  },
  dns_auth_change: {
    description: 'A DNS authentication record that differs from the previous run (written by the store, once per change).',
    tags: {
      domain: 'the sending domain',
      check: 'which check saw the change',
      selector: 'the DKIM selector (check dkim)',
      ip: 'the sending IP (checks spf_ip and ptr)',
    },
    fields: {
      old_record: { type: 'string', description: 'the record before' },
      new_record: { type: 'string', description: 'the record now' },
      old_digest: { type: 'string', description: 'digest before' },
      new_digest: { type: 'string', description: 'digest now' },
    },
  },
  dns_auth_domain: {
    description: 'Per sending domain and run: how its DNS authentication checks came out.',
    tags: { domain: 'the sending domain' },
    fields: {
      status: { type: 'string', description: 'the worst check: fail, else error, else warn, else pass' },
      level: { type: 'integer', description: 'the status as a number: pass 0, warn 1, fail 2, error 3' },
      checks: { type: 'integer', description: 'checks run' },
      passed: { type: 'integer', description: 'checks that passed' },
      warnings: { type: 'integer', description: 'checks with a warning' },
      failures: { type: 'integer', description: 'checks that failed' },
      errors: { type: 'integer', description: 'checks that could not tell (DNS failed)' },
      failing: { type: 'string', description: 'the failing checks, comma-separated (dkim:s1, ptr:203.0.113.5)' },
    },
  },
  placement: {
    description: 'Where one seed mailbox received the probe message (or the campaign message, in passive mode), and what its headers say.',
    tags: { provider: 'the mailbox provider the seed belongs to (as configured: gmail, outlook, ...)', seed: 'the seed address' },
    fields: {
      outcome: { type: 'string', description: 'inbox | spam | category:<name> | missing | rejected | error (an IMAP or submission failure is never missing)' },
      folder: { type: 'string', description: 'the folder it was found in' },
      found_by: { type: 'string', description: 'how that folder was identified: inbox | special-use | name | config | gmail-category' },
      category: { type: 'string', description: 'the category (promotions, social, ...) when outcome is category:<name>' },
      delivery_ms: { type: 'float', unit: 'ms', description: "submission → the receiver's Received time (1 s resolution; INTERNALDATE when there is no Received time)" },
      found_ms: { type: 'float', unit: 'ms', description: 'submission → the probe found it (includes polling)' },
      spf: { type: 'string', description: 'SPF result as the receiver wrote it in Authentication-Results' },
      dkim: { type: 'string', description: 'DKIM result as the receiver saw it (pass if any signature passed)' },
      dmarc: { type: 'string', description: 'DMARC result as the receiver saw it' },
      arc: { type: 'string', description: 'ARC result, when the receiver checked it' },
      authserv_id: { type: 'string', description: 'the receiver that wrote those results' },
      spam_flag: { type: 'boolean', description: "the spam filter's verdict (X-Spam-Flag / X-Spam-Status)" },
      spam_score: { type: 'float', description: 'the spam score (X-Spam-Score / X-Spam-Status score=)' },
      spam_status: { type: 'string', description: 'the X-Spam-Status header, with the rules that fired' },
      rspamd_action: { type: 'string', description: 'X-Rspamd-Action' },
      rspamd_score: { type: 'float', description: 'X-Rspamd-Score' },
      tls: { type: 'boolean', description: 'the receiving hop used TLS (its Received header)' },
      tls_version: { type: 'string', description: 'TLS version of the receiving hop' },
      hops: { type: 'integer', description: 'Received headers' },
      rejected_at: { type: 'string', description: 'submission (the routing engine refused the recipient) | delivery (a bounce came back)' },
      smtp_code: { type: 'integer', description: 'SMTP reply code of a refusal at submission' },
      smtp_response: { type: 'string', description: 'SMTP reply text of a refusal at submission' },
      bounce_reason: { type: 'string', description: "the bounce's Diagnostic-Code (e.g. 554 5.7.1 ... blocked using zen.spamhaus.org)" },
      bounce_status: { type: 'string', description: "the bounce's enhanced status code (5.7.1)" },
      matches: { type: 'integer', description: 'passive mode: campaign messages found in the window' },
      message_id: { type: 'string', description: 'Message-ID of the message found' },
      token: { type: 'string', description: 'the probe token (active mode) in X-Mailscope-Token and the Message-ID' },
      searches: { type: 'integer', description: 'server-side searches run for this seed' },
      search_ms: { type: 'float', unit: 'ms', description: 'mean time of one folder search' },
      cleanup: { type: 'string', description: 'deleted | moved | kept | failed' },
      error_code: { type: 'string', description: 'IMAP_AUTH_FAILED, IMAP_UNREACHABLE, IMAP_TLS_FAILED, IMAP_ERROR, OAUTH_TOKEN_FAILED, SMTP_UNREACHABLE, ... when outcome is error' },
      error: { type: 'string', description: 'the error in words' },
    },
  },
  placement_provider: {
    description: 'Per provider and run: placement rates and delivery latency across its seeds.',
    tags: { provider: 'the mailbox provider (as configured)' },
    fields: {
      ...placementCounts,
    },
  },
  placement_run: {
    description: 'Per run: placement over every seed, and the submission.',
    tags: {},
    fields: {
      mode: { type: 'string', description: 'active | passive' },
      submitted: { type: 'boolean', description: 'active mode: the routing engine accepted the message for at least one seed' },
      smtp_response: { type: 'string', description: "the routing engine's reply to the submission" },
      token: { type: 'string', description: 'the probe token' },
      ...placementCounts,
    },
  },
  outbox: {
    description: "Mailscope's own outbox toward the time-series database (probe kind outbox): points waiting, the oldest one's age, refused lines, failed writes.",
    tags: {},
    fields: {
      configured: { type: 'boolean', description: 'an influx: section is configured, so something drains the outbox' },
      depth: { type: 'integer', description: 'points waiting' },
      oldest_age_s: { type: 'float', unit: 's', description: 'age of the oldest waiting point; 0 when none waits' },
      quarantined: { type: 'integer', description: 'lines the server refused as malformed (GET /v1/outbox/quarantine)' },
      consecutive_failures: { type: 'integer', description: 'failed writes in a row; 0 when the last write succeeded' },
      last_error: { type: 'string', description: 'the last write error, while writes are failing (no credentials)' },
    },
  },
  alert: {
    description:
      'The state of each alert instance, written by the alert engine (not a probe): at every evaluation while pending or firing, and at every change of state, so the latest point of an alert is its state.',
    writtenBy: 'the alert engine',
    tags: {
      rule: 'id of the alert rule',
      alert: 'id of the alert instance (GET /v1/alerts/:id)',
      severity: 'critical | warning | info',
    },
    fields: {
      state: { type: 'string', description: 'pending | firing | resolved | inactive' },
      firing: { type: 'boolean', description: 'true while the alert fires' },
      acknowledged: { type: 'boolean', description: 'someone acknowledged it (POST /v1/alerts/:id/ack); reminders stop' },
      silenced: { type: 'boolean', description: 'a silence matches it: notifications are held back' },
      flapping: { type: 'boolean', description: 'it changed state too often within alerts.flap.window: notifications are held back' },
      summary: { type: 'string', description: "one line for people: the rule's summary with the series filled in" },
      value: { type: 'string', description: 'the value last observed, as text (a number, true/false, or a record)' },
    },
  },
  control: {
    description:
      'Each send control (a pause or a throttle), written by the control service (not a probe): when it is created, changed or lifted, when its held mail is released, and every minute while it is active. One series per action and scope, whichever control holds it, so the latest point of a series is the state of that slice of traffic.',
    writtenBy: 'the control service',
    tags: {
      action: 'pause | throttle',
      scope: 'what it applies to, e.g. "ip=192.0.2.11 rcpt_domain=gmail.com"',
    },
    fields: {
      control: { type: 'string', description: 'id of the control (GET /v1/controls/:id)' },
      source: { type: 'string', description: 'rule:<id> (an alert rule), token:<name> (a person, by API token) or cli:<user> (a person, at the command line)' },
      active: { type: 'boolean', description: 'true until the control is lifted or expires' },
      reason: { type: 'string', description: 'why, as its maker said (a rule: its summary)' },
      rate_per_minute: { type: 'integer', unit: 'messages/min', description: 'a throttle: messages per minute for the whole scope' },
      held: { type: 'integer', description: 'messages a Postfix policy service held for it and not yet released' },
      released: { type: 'integer', description: 'messages held for it and released since' },
      push_failed: { type: 'boolean', description: 'a push to a platform gave up: that platform may not have applied (or lifted) it' },
    },
  },
  reachability: {
    description: 'Whether a network service answers: a TCP port (and its banner) or an HTTP endpoint.',
    tags: {
      target: 'host:port or URL as configured',
      protocol: 'tcp | http',
    },
    fields: {
      status: { type: 'string', description: 'up | down | error (error: could not tell, e.g. the name did not resolve)' },
      up: { type: 'boolean', description: 'true when the service answered as expected; absent when status is error' },
      duration_ms: { type: 'float', unit: 'ms', description: 'connect (tcp) or full response (http) time' },
      status_code: { type: 'integer', description: 'HTTP status code' },
      banner: { type: 'string', description: 'first line the TCP service sent, when a banner was expected' },
      reason: { type: 'string', description: 'why the service counts as down, or the error, in words' },
      error_code: { type: 'string', description: 'UPPER_SNAKE code when status is error' },
    },
  },
} as const satisfies Record<string, MeasurementSpec>;

export type MeasurementName = keyof typeof measurements;

export function isMeasurementName(name: string): name is MeasurementName {
  return Object.hasOwn(measurements, name);
}

export function measurementSpec(name: string): MeasurementSpec | undefined {
  return isMeasurementName(name) ? measurements[name] : undefined;
}

export function tagNames(spec: MeasurementSpec): string[] {
  return [...Object.keys(commonTags), ...Object.keys(spec.tags)];
}
