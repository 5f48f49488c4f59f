import type { Database } from './database.ts';

/** What pruneStep deletes from, in the order it goes. */
export const prunedTables = [
  'observations',
  'probe_runs',
  'outbox_quarantine',
  'outbox',
  'notifications',
  'alerts',
  'control_alerts',
  'silences',
  'dmarc_rows',
  'reports',
  'report_quarantine',
  'ip_names',
] as const;

export interface PruneStep {
  /** Rows deleted by this step (0: nothing left to delete of this kind). */
  deleted: number;
  table: (typeof prunedTables)[number];
}

/**
 * Deletes at most `limit` rows older than the cutoff, in one short transaction:
 * observations of old runs first, then the runs left empty, then old quarantined
 * lines, then (only when nothing drains it) old outbox lines; then notifications
 * delivered or given up on, alerts resolved (or never fired) since before the
 * cutoff with nothing left to deliver, the links of lifted controls to alerts
 * pruned, and silences that ended before it; then feedback reports received
 * before it (their DMARC rows first), quarantined inputs and names of source IPs.
 * Notifications waiting for delivery and live alerts are never pruned.
 */
export function pruneStep(db: Database, cutoff: Date, limit: number, options: { pruneOutbox: boolean }): PruneStep {
  const before = cutoff.getTime();
  return db.transaction(() => {
    const observations = db
      .statement('DELETE FROM observations WHERE id IN (SELECT o.id FROM probe_runs r JOIN observations o ON o.run_id = r.id WHERE r.started_at < ? LIMIT ?)')
      .run(before, limit).changes;
    if (Number(observations) > 0) return { table: 'observations', deleted: Number(observations) };
    const runs = db
      .statement('DELETE FROM probe_runs WHERE id IN (SELECT id FROM probe_runs r WHERE r.started_at < ? AND NOT EXISTS (SELECT 1 FROM observations o WHERE o.run_id = r.id) LIMIT ?)')
      .run(before, limit).changes;
    if (Number(runs) > 0) return { table: 'probe_runs', deleted: Number(runs) };
    const quarantined = db.statement('DELETE FROM outbox_quarantine WHERE id IN (SELECT id FROM outbox_quarantine WHERE quarantined_at < ? LIMIT ?)').run(before, limit).changes;
    if (Number(quarantined) > 0) return { table: 'outbox_quarantine', deleted: Number(quarantined) };
    if (options.pruneOutbox) {
      const outbox = db.statement('DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE created_at < ? LIMIT ?)').run(before, limit).changes;
      if (Number(outbox) > 0) return { table: 'outbox', deleted: Number(outbox) };
    }
    const notifications = db.statement(`DELETE FROM notifications WHERE id IN (SELECT id FROM notifications WHERE status IN ('sent', 'failed') AND created_at < ? LIMIT ?)`).run(before, limit).changes;
    if (Number(notifications) > 0) return { table: 'notifications', deleted: Number(notifications) };
    const alerts = db
      .statement(
        `DELETE FROM alerts WHERE id IN (SELECT id FROM alerts a WHERE a.state IN ('resolved', 'inactive') AND a.updated_at < ?
           AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.alert_id = a.id) LIMIT ?)`,
      )
      .run(before, limit).changes;
    if (Number(alerts) > 0) return { table: 'alerts', deleted: Number(alerts) };
    const links = db
      .statement(
        `DELETE FROM control_alerts WHERE rowid IN (SELECT l.rowid FROM control_alerts l JOIN controls c ON c.id = l.control_id
           WHERE c.lifted_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.id = l.alert_id) LIMIT ?)`,
      )
      .run(limit).changes;
    if (Number(links) > 0) return { table: 'control_alerts', deleted: Number(links) };
    const silences = db
      .statement('DELETE FROM silences WHERE id IN (SELECT id FROM silences WHERE CASE WHEN deleted_at IS NOT NULL AND deleted_at < ends_at THEN deleted_at ELSE ends_at END < ? LIMIT ?)')
      .run(before, limit).changes;
    if (Number(silences) > 0) return { table: 'silences', deleted: Number(silences) };
    const rows = db.statement('DELETE FROM dmarc_rows WHERE rowid IN (SELECT d.rowid FROM reports r JOIN dmarc_rows d ON d.report = r.id WHERE r.received_at < ? LIMIT ?)').run(before, limit).changes;
    if (Number(rows) > 0) return { table: 'dmarc_rows', deleted: Number(rows) };
    const reports = db.statement('DELETE FROM reports WHERE id IN (SELECT id FROM reports WHERE received_at < ? LIMIT ?)').run(before, limit).changes;
    if (Number(reports) > 0) return { table: 'reports', deleted: Number(reports) };
    const refused = db.statement('DELETE FROM report_quarantine WHERE id IN (SELECT id FROM report_quarantine WHERE received_at < ? LIMIT ?)').run(before, limit).changes;
    if (Number(refused) > 0) return { table: 'report_quarantine', deleted: Number(refused) };
    const names = db.statement('DELETE FROM ip_names WHERE ip IN (SELECT ip FROM ip_names WHERE resolved_at < ? LIMIT ?)').run(before, limit).changes;
    if (Number(names) > 0) return { table: 'ip_names', deleted: Number(names) };
    return { table: 'observations', deleted: 0 };
  });
}
