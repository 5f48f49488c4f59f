/** A field value as InfluxDB knows them: float/integer (number), boolean, string. */
export type FieldValue = number | boolean | string;

/** Longest string field accepted; InfluxDB's own limit is 64 KiB. */
export const maxStringFieldLength = 16_384;

/**
 * One measured fact. Checked against the series registry (src/measurements/)
 * before it is recorded. Tags are low-cardinality (probe, provider, list, target);
 * message ids and tokens are fields, never tags.
 */
export interface Observation {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, FieldValue>;
  time: Date;
}
