/**
 * How a measurement is declared: its tags, its typed fields with their units,
 * and the state record() keeps per series. A probe kind declares the
 * measurements it writes in its own file with these types; series/ composes
 * them, with Mailscope's own, into the series registry. They live in core/
 * because both sides need them and neither may import the other.
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
   * Written by Mailscope itself (the alert engine, the control service), not
   * observed by a probe: no run carries it, so an alert rule cannot watch it.
   */
  writtenBy?: string;
}

/** Measurement name → its declaration. */
export type Measurements = Record<string, MeasurementSpec>;

/** Tags every observation carries; the runner sets them, probes need not. */
export const commonTags = {
  probe: 'id of the probe definition that produced the observation',
} as const;

export function tagNames(spec: MeasurementSpec): string[] {
  return [...Object.keys(commonTags), ...Object.keys(spec.tags)];
}
