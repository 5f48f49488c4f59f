import type { Database } from './database.ts';

export interface PruneStep {
  /** Rows deleted by this step (0: nothing left to delete of this kind). */
  deleted: number;
  table: 'observations' | 'probe_runs' | 'outbox_quarantine' | 'outbox';
}

/**
 * Deletes at most `limit` rows older than the cutoff, in one short transaction:
 * observations of old runs first, then the runs left empty, then old quarantined
 * lines, then (only when nothing drains it) old outbox lines.
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
    return { table: 'observations', deleted: 0 };
  });
}
