/** Placement rates and latency percentiles over a set of seed outcomes. */
import type { FieldValue } from '../core/observation.ts';

export interface Counted {
  outcome: string;
  deliveryMs?: number | undefined;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

export function placementCounts(seeds: Counted[]): Record<string, FieldValue> {
  const count = (test: (outcome: string) => boolean) => seeds.filter((seed) => test(seed.outcome)).length;
  const inbox = count((outcome) => outcome === 'inbox');
  const spam = count((outcome) => outcome === 'spam');
  const category = count((outcome) => outcome.startsWith('category:'));
  const missing = count((outcome) => outcome === 'missing');
  const rejected = count((outcome) => outcome === 'rejected');
  const errors = count((outcome) => outcome === 'error');
  const fields: Record<string, FieldValue> = { seeds: seeds.length, inbox, spam, category, missing, rejected, errors };
  const known = seeds.length - errors;
  if (known > 0) {
    fields.inbox_rate = inbox / known;
    fields.spam_rate = spam / known;
    fields.category_rate = category / known;
    fields.missing_rate = missing / known;
    fields.rejected_rate = rejected / known;
  }
  const latencies = seeds
    .map((seed) => seed.deliveryMs)
    .filter((ms): ms is number => typeof ms === 'number')
    .sort((a, b) => a - b);
  const p50 = percentile(latencies, 50);
  if (p50 !== undefined) {
    fields.latency_p50_ms = p50;
    fields.latency_p90_ms = percentile(latencies, 90)!;
    fields.latency_max_ms = latencies.at(-1)!;
  }
  return fields;
}
