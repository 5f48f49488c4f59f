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

/** `each` for every slice of `items`, in order. */
function inSlices<T>(items: readonly T[], each: (slice: readonly T[]) => void): void {
  let at = 0;
  for (const size of slices(items.length)) {
    each(items.slice(at, at + size));
    at += size;
  }
}

const marks = (count: number) => Array.from({ length: count }, () => '?').join(', ');

/** INSERT every row (each `columns.length` values) in as few statements as the slices allow. Inside the caller's transaction. */
export function insertRows(db: Database, table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[]): void {
  const row = `(${marks(columns.length)})`;
  inSlices(rows, (slice) => {
    db.statement(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${slice.map(() => row).join(', ')}`).run(...slice.flat());
  });
}

/** Each slice of `keys` as the parameters of `sql(placeholders)`, e.g. `DELETE … WHERE series IN (${placeholders})`; the changes, added up. */
export function forKeys(db: Database, keys: readonly SqlValue[], sql: (placeholders: string) => string, before: readonly SqlValue[] = []): number {
  let changes = 0;
  inSlices(keys, (slice) => {
    changes += db.statement(sql(marks(slice.length))).run(...before, ...slice).changes;
  });
  return changes;
}

/** The rows `sql(placeholders)` selects for each slice of `keys`, together. */
export function selectForKeys(db: Database, keys: readonly SqlValue[], sql: (placeholders: string) => string): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  inSlices(keys, (slice) => {
    rows.push(...db.statement(sql(marks(slice.length))).all(...slice));
  });
  return rows;
}
