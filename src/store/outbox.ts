import type { Database } from './database.ts';

/**
 * Line protocol waiting for the time-series database. Rows are written in the
 * same transaction as the results they describe and deleted only once the
 * server acknowledged them, so neither an outage nor a SIGKILL loses a point.
 */
export function enqueueLine(db: Database, line: string, at: Date): void {
  db.statement('INSERT INTO outbox (line, created_at) VALUES (?, ?)').run(line, at.getTime());
}

export function outboxDepth(db: Database): number {
  return Number((db.statement('SELECT count(*) AS n FROM outbox').get() as { n: number }).n);
}
