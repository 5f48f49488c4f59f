/**
 * What the store asks of a database engine: prepared statements with positional
 * `?` parameters, and plain SQL for transactions. Two engines serve it: node:sqlite
 * (the embedded default, a file in the data dir) and PostgreSQL (several instances
 * on one database). Both are synchronous, so a transaction runs from BEGIN to
 * COMMIT without another task of the process in between, on either engine.
 */
export type SqlValue = null | number | bigint | string | Uint8Array;
export type Row = Record<string, unknown>;

export interface Statement {
  /** Runs a write: how many rows it changed. (An INSERT that needs its id says RETURNING id and uses get().) */
  run(...parameters: SqlValue[]): { changes: number };
  get(...parameters: SqlValue[]): Row | undefined;
  all(...parameters: SqlValue[]): Row[];
}

export type EngineKind = 'sqlite' | 'postgres';

export interface Engine {
  readonly kind: EngineKind;
  /** Where the store lives, for messages: a file path, or the database's URL without its password. */
  readonly location: string;
  prepare(sql: string): Statement;
  /** SQL without results: several statements may be in one text. */
  exec(sql: string): void;
  /** BEGIN for a write transaction. */
  readonly begin: string;
  close(): void;
}

/** SQL that is written differently on the two engines. */
export interface Dialect {
  /** The text at `key` of a JSON object stored as text in `column`: null when absent. */
  jsonText(column: string, key: string): string;
  /** The number at `key` of a JSON object stored as text in `column`. */
  jsonNumber(column: string, key: string): string;
  /** A condition: the value at `key` of a JSON object stored as text in `column` is true. */
  jsonTrue(column: string, key: string): string;
  /** A subquery of the numbers in a JSON array given as the parameter `parameter` (for `id NOT IN (…)`). */
  numbersOf(parameter: string): string;
  /** An aggregate: the distinct values of `column`, joined by commas. */
  joinDistinct(column: string): string;
  /** The column, in a form the planner uses no index for (SQLite's unary +). */
  noIndex(column: string): string;
}

export const dialects: Record<EngineKind, Dialect> = {
  sqlite: {
    jsonText: (column, key) => `json_extract(${column}, '$.${key}')`,
    jsonNumber: (column, key) => `json_extract(${column}, '$.${key}')`,
    jsonTrue: (column, key) => `json_extract(${column}, '$.${key}') = 1`,
    numbersOf: (parameter) => `SELECT value FROM json_each(${parameter})`,
    joinDistinct: (column) => `group_concat(DISTINCT ${column})`,
    noIndex: (column) => `+${column}`,
  },
  postgres: {
    jsonText: (column, key) => `((${column})::jsonb ->> '${key}')`,
    jsonNumber: (column, key) => `((${column})::jsonb ->> '${key}')::double precision`,
    jsonTrue: (column, key) => `((${column})::jsonb -> '${key}') = 'true'::jsonb`,
    numbersOf: (parameter) => `SELECT jsonb_array_elements_text(CAST(${parameter} AS jsonb))::bigint`,
    joinDistinct: (column) => `string_agg(DISTINCT ${column}, ',')`,
    noIndex: (column) => column,
  },
};
