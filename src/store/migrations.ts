/**
 * Versioned schema. The version lives in `PRAGMA user_version`; each migration
 * runs in its own transaction with the version bump, so a data dir is always at
 * exactly one version. Never edit an applied migration: add the next one.
 * Times are integers, milliseconds since the epoch (UTC).
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'probe runs, observations, outbox',
    sql: `
      CREATE TABLE probe_runs (
        id INTEGER PRIMARY KEY,
        probe_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        trigger TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        finished_at INTEGER NOT NULL,
        duration_ms REAL NOT NULL,
        success INTEGER NOT NULL CHECK (success IN (0, 1)),
        error_code TEXT,
        error_message TEXT,
        observation_count INTEGER NOT NULL
      );
      CREATE INDEX probe_runs_by_probe ON probe_runs (probe_id, started_at);
      CREATE INDEX probe_runs_by_time ON probe_runs (started_at);

      CREATE TABLE observations (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES probe_runs (id) ON DELETE CASCADE,
        probe_id TEXT NOT NULL,
        measurement TEXT NOT NULL,
        time INTEGER NOT NULL,
        tags TEXT NOT NULL,
        fields TEXT NOT NULL
      );
      CREATE INDEX observations_by_measurement ON observations (measurement, time);
      CREATE INDEX observations_by_probe ON observations (probe_id, time);
      CREATE INDEX observations_by_run ON observations (run_id);

      -- Line protocol waiting for the time-series database; deleted only once acknowledged.
      CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        line TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
      );
    `,
  },
  {
    version: 2,
    name: 'alerts, controls, audit log',
    sql: `
      -- One row per alert instance: a rule and one tag combination (series).
      CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        rule_id TEXT NOT NULL,
        series TEXT NOT NULL,
        labels TEXT NOT NULL,
        state TEXT NOT NULL,
        severity TEXT NOT NULL,
        since INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        last_value TEXT,
        last_notified_at INTEGER,
        acknowledged_by TEXT,
        acknowledged_at INTEGER,
        UNIQUE (rule_id, series)
      );
      CREATE INDEX alerts_by_state ON alerts (state);

      -- Pauses and throttles on a slice of sending traffic.
      CREATE TABLE controls (
        id TEXT PRIMARY KEY,
        action TEXT NOT NULL,
        scope TEXT NOT NULL,
        rate_per_minute INTEGER,
        reason TEXT NOT NULL,
        source TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        lifted_at INTEGER,
        lifted_by TEXT
      );
      CREATE INDEX controls_active ON controls (lifted_at, expires_at);

      -- Who changed what, why and when. Append-only.
      CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        details TEXT NOT NULL DEFAULT '{}'
      );
      CREATE INDEX audit_log_by_time ON audit_log (at);
    `,
  },
  {
    version: 3,
    name: 'series state (first-seen times)',
    sql: `
      -- When a series' state began (e.g. a listing's first sighting), kept across runs.
      CREATE TABLE series_state (
        series TEXT PRIMARY KEY,
        since INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'series digests (change detection)',
    sql: `
      -- The last value seen per series, by digest, so a change between runs is noticed once.
      CREATE TABLE series_digest (
        series TEXT PRIMARY KEY,
        digest TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 5,
    name: 'outbox quarantine',
    sql: `
      -- Lines the time-series server refused as malformed, with its reason: kept, never retried.
      CREATE TABLE outbox_quarantine (
        id INTEGER PRIMARY KEY,
        line TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        quarantined_at INTEGER NOT NULL,
        reason TEXT NOT NULL
      );
    `,
  },
  {
    version: 6,
    name: 'alert instances, notifications, silences',
    sql: `
      -- Version 2's alerts table was never written to: replaced by one that keeps each instance's state machine.
      DROP TABLE alerts;
      -- One row per alert instance: a rule and one series (tag combination).
      CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        rule_id TEXT NOT NULL,
        series TEXT NOT NULL,
        labels TEXT NOT NULL,
        severity TEXT NOT NULL,
        state TEXT NOT NULL,
        machine TEXT NOT NULL,
        last_value TEXT,
        details TEXT NOT NULL DEFAULT '{}',
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        UNIQUE (rule_id, series)
      );
      CREATE INDEX alerts_by_state ON alerts (state);

      -- One delivery of one notification to one channel: queued with the state change, retried until sent or given up.
      CREATE TABLE notifications (
        id INTEGER PRIMARY KEY,
        alert_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        event TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        sent_at INTEGER
      );
      CREATE INDEX notifications_due ON notifications (status, next_attempt_at);
      CREATE INDEX notifications_by_alert ON notifications (alert_id, id);

      -- Silences: matching alerts notify no one until ends_at (or until deleted).
      CREATE TABLE silences (
        id TEXT PRIMARY KEY,
        matchers TEXT NOT NULL,
        starts_at INTEGER NOT NULL,
        ends_at INTEGER NOT NULL,
        comment TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        deleted_at INTEGER,
        deleted_by TEXT
      );
    `,
  },
  {
    version: 7,
    name: 'send control: controls, their pushes to platforms, held messages',
    sql: `
      -- Version 2's controls table was never written to: replaced by one that knows its alert and its cool-down.
      DROP TABLE controls;
      CREATE TABLE controls (
        id TEXT PRIMARY KEY,
        action TEXT NOT NULL,
        scope TEXT NOT NULL,
        rate_per_minute INTEGER,
        reason TEXT NOT NULL,
        source TEXT NOT NULL,
        rule_id TEXT,
        alert_id TEXT,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        expires_at INTEGER,
        lift_at INTEGER,
        keep_until_resumed INTEGER NOT NULL DEFAULT 0,
        lifted_at INTEGER,
        lifted_by TEXT,
        lift_reason TEXT
      );
      -- One active control per action and scope: creating it again is the same control.
      CREATE UNIQUE INDEX controls_one_active ON controls (action, scope) WHERE lifted_at IS NULL;
      CREATE INDEX controls_by_alert ON controls (alert_id) WHERE lifted_at IS NULL;
      CREATE INDEX controls_by_time ON controls (created_at);

      -- Each control applied at, then lifted from, each push platform: retried until done or given up.
      CREATE TABLE control_pushes (
        id INTEGER PRIMARY KEY,
        control_id TEXT NOT NULL,
        platform TEXT NOT NULL,
        operation TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        ref TEXT,
        created_at INTEGER NOT NULL,
        done_at INTEGER
      );
      CREATE INDEX control_pushes_due ON control_pushes (status, next_attempt_at);
      CREATE INDEX control_pushes_by_control ON control_pushes (control_id, id);

      -- Messages a Postfix policy service put on hold, so lifting the pause releases exactly them.
      CREATE TABLE held_messages (
        platform TEXT NOT NULL,
        queue_id TEXT NOT NULL,
        control_id TEXT NOT NULL,
        traffic TEXT NOT NULL,
        held_at INTEGER NOT NULL,
        released_at INTEGER,
        release_error TEXT,
        PRIMARY KEY (platform, queue_id)
      );
      CREATE INDEX held_messages_by_control ON held_messages (control_id) WHERE released_at IS NULL;
    `,
  },
  {
    version: 8,
    name: 'send control: the alerts behind a rule-made control',
    sql: `
      -- Several alerts can stand behind one control (one IP listed on two lists; two rules pausing the same pool):
      -- it is lifted when the last of them resolves.
      CREATE TABLE control_alerts (
        control_id TEXT NOT NULL,
        alert_id TEXT NOT NULL,
        linked_at INTEGER NOT NULL,
        PRIMARY KEY (control_id, alert_id)
      );
      CREATE INDEX control_alerts_by_alert ON control_alerts (alert_id);
      INSERT INTO control_alerts (control_id, alert_id, linked_at) SELECT id, alert_id, created_at FROM controls WHERE alert_id IS NOT NULL;
      DROP INDEX controls_by_alert;
    `,
  },
  {
    version: 9,
    name: 'traffic: minute aggregates, reasons, source checkpoints',
    sql: `
      -- The platform's traffic per minute and slice; '' where the source did not say (an IP, a pool) or campaigns are not kept apart.
      -- dirty: changed since its point was last written to the outbox (and shown to the alert rules).
      CREATE TABLE traffic_minutes (
        minute INTEGER NOT NULL,
        provider TEXT NOT NULL,
        ip TEXT NOT NULL,
        pool TEXT NOT NULL,
        campaign TEXT NOT NULL,
        delivered INTEGER NOT NULL DEFAULT 0,
        deferred INTEGER NOT NULL DEFAULT 0,
        bounced INTEGER NOT NULL DEFAULT 0,
        expired INTEGER NOT NULL DEFAULT 0,
        complained INTEGER NOT NULL DEFAULT 0,
        classes TEXT NOT NULL DEFAULT '{}',
        latency_sum REAL NOT NULL DEFAULT 0,
        latency_count INTEGER NOT NULL DEFAULT 0,
        latency_max REAL,
        dirty INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (minute, provider, ip, pool, campaign)
      );
      CREATE INDEX traffic_minutes_dirty ON traffic_minutes (minute) WHERE dirty = 1;
      -- What the receivers said, per hour, provider and class: each distinct reply (its variable parts masked) with its count.
      CREATE TABLE traffic_reasons (
        hour INTEGER NOT NULL,
        provider TEXT NOT NULL,
        class TEXT NOT NULL,
        reason TEXT NOT NULL,
        count INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        example TEXT NOT NULL,
        PRIMARY KEY (hour, provider, class, reason)
      );
      -- Where each tailing source got to (a log file's identity and offset): written with the counts it produced.
      CREATE TABLE source_checkpoints (
        source TEXT PRIMARY KEY,
        checkpoint TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 10,
    name: 'send control: adaptive throttles',
    sql: `
      -- A throttle whose rate follows the traffic (JSON: every, down, up, floor, ceiling, next step): NULL for a fixed one.
      ALTER TABLE controls ADD COLUMN adaptive TEXT;
    `,
  },
  {
    version: 11,
    name: 'feedback reports: reports, DMARC rows, quarantine, names of source IPs',
    sql: `
      -- One report as recorded (DMARC aggregate, TLS-RPT, ARF complaint, DSN bounce). dedupe_key identifies it
      -- (reporter, report id, domain, begin, end; the carrying mail's digest for ARF and DSN): the same report
      -- delivered twice, or read again after a crash before its mailbox move, is recorded once.
      CREATE TABLE reports (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        dedupe_key TEXT NOT NULL UNIQUE,
        source TEXT NOT NULL,
        org TEXT NOT NULL,
        report_id TEXT NOT NULL,
        domain TEXT NOT NULL,
        begin_at INTEGER NOT NULL,
        end_at INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        messages INTEGER NOT NULL,
        summary TEXT NOT NULL
      );
      CREATE INDEX reports_by_received ON reports (received_at);
      CREATE INDEX reports_by_domain ON reports (kind, domain, end_at);
      -- The rows of DMARC aggregate reports (one per source IP and result set, as the reporter grouped them).
      CREATE TABLE dmarc_rows (
        report INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
        domain TEXT NOT NULL,
        reporter TEXT NOT NULL,
        end_at INTEGER NOT NULL,
        source_ip TEXT NOT NULL,
        -- who sent: the base domain of the IP's forward-confirmed reverse DNS (google.com), else the IP itself
        source TEXT NOT NULL,
        count INTEGER NOT NULL,
        disposition TEXT NOT NULL,
        dkim_aligned INTEGER NOT NULL,
        spf_aligned INTEGER NOT NULL,
        header_from TEXT NOT NULL,
        envelope_from TEXT,
        dkim TEXT NOT NULL,
        spf TEXT NOT NULL,
        overrides TEXT NOT NULL
      );
      CREATE INDEX dmarc_rows_by_domain ON dmarc_rows (domain, end_at);
      CREATE INDEX dmarc_rows_by_source ON dmarc_rows (domain, source);
      CREATE INDEX dmarc_rows_by_report ON dmarc_rows (report);
      -- Inputs (or parts of one) that could not be read, with the reason; the input's digest and part keep a
      -- second reading of the same file from adding a second row.
      CREATE TABLE report_quarantine (
        id INTEGER PRIMARY KEY,
        digest TEXT NOT NULL,
        part TEXT NOT NULL,
        source TEXT NOT NULL,
        name TEXT NOT NULL,
        size INTEGER NOT NULL,
        code TEXT NOT NULL,
        reason TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        UNIQUE (digest, part)
      );
      CREATE INDEX report_quarantine_by_received ON report_quarantine (received_at);
      -- The reverse DNS of report source IPs: the name, its base domain, whether the name's addresses include the
      -- IP (forward-confirmed: only then does the name say who sent); error when the lookup failed (asked again later).
      CREATE TABLE ip_names (
        ip TEXT PRIMARY KEY,
        name TEXT,
        base TEXT,
        confirmed INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        resolved_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 12,
    name: 'console: sign-in sessions',
    sql: `
      -- A person signed in to the console with a token: the session id's digest (the id itself is only in the
      -- browser's HttpOnly cookie), the digest of the token used (a token removed from the configuration ends its
      -- sessions), its name and role as they were at sign-in, and the form token (CSRF).
      CREATE TABLE console_sessions (
        digest TEXT PRIMARY KEY,
        token TEXT NOT NULL,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        csrf TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);
    `,
  },
];

export const latestVersion = migrations.at(-1)!.version;
