/**
 * Many rows in few statements. On PostgreSQL each statement is a round trip the
 * store waits for (about 0.1 ms on loopback), so a run of 1,000 blacklist pairs
 * written a row at a time held the process for 0.4 s; in slices of up to 128 rows
 * it is a few dozen statements. The slices are powers of two (128, 64, … 1), so a
 * table has at most eight statement texts, each prepared once.
 */
import type { Database } from './database.ts';
import type { SqlValue } from './engine.ts';

const largest = 128;

/** The sizes a count of rows is written in: as many full slices as fit, then the binary digits of the rest. */
function slices(count: number): number[] {
  const sizes: number[] = [];
  let left = count;
  while (left >= largest) {
    sizes.push(largest);
    left -= largest;
  }
  for (let size = largest / 2; size >= 1; size /= 2) {
    if (left >= size) {
      sizes.push(size);
      left -= size;
    }
  }
  return sizes;
}

/** INSERT every row (each `columns.length` values) in as few statements as the slices allow. Inside the caller's transaction. */
export function insertRows(db: Database, table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[]): void {
  const placeholders = `(${columns.map(() => '?').join(', ')})`;
  let at = 0;
  for (const size of slices(rows.length)) {
    const values = Array.from({ length: size }, () => placeholders).join(', ');
    db.statement(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values}`).run(...rows.slice(at, at + size).flat());
    at += size;
  }
}

/** Each slice of `keys` as the parameters of `sql(placeholders)`, e.g. `DELETE … WHERE series IN (${placeholders})`; the changes, added up. */
export function forKeys(db: Database, keys: readonly SqlValue[], sql: (placeholders: string) => string, before: readonly SqlValue[] = []): number {
  let changes = 0;
  let at = 0;
  for (const size of slices(keys.length)) {
    changes += db.statement(sql(Array.from({ length: size }, () => '?').join(', '))).run(...before, ...keys.slice(at, at + size)).changes;
    at += size;
  }
  return changes;
}

/** The rows `sql(placeholders)` selects for each slice of `keys`, together. */
export function selectForKeys(db: Database, keys: readonly SqlValue[], sql: (placeholders: string) => string): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  let at = 0;
  for (const size of slices(keys.length)) {
    rows.push(...db.statement(sql(Array.from({ length: size }, () => '?').join(', '))).all(...keys.slice(at, at + size)));
    at += size;
  }
  return rows;
}
