/**
 * Active controls made ready for per-message questions: each scope compiled once
 * (CIDR ranges parsed, values normalized), and indexed by one of its exact keys,
 * so a question looks only at the controls that can match it, plus those it
 * cannot rule out (their key is missing from the question: unknown, never "no").
 * Same answers as matchScope(), control by control, in the controls' order.
 */
import ipaddr from 'ipaddr.js';
import { scopeKeyNames, type Scope, type ScopeKey, type Traffic } from '../core/scope.ts';

type Check = { key: ScopeKey; value: string } | { key: 'ip'; range: [ipaddr.IPv4 | ipaddr.IPv6, number] };

interface Compiled<T> {
  item: T;
  order: number;
  checks: Check[];
}

export interface Lookup<T> {
  matched: T[];
  unsure: { item: T; missing: ScopeKey[] }[];
}

const isRange = (key: ScopeKey, value: string) => key === 'ip' && value.includes('/');

function parseAddress(value: string | undefined): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (value === undefined) return undefined;
  try {
    return ipaddr.process(value);
  } catch {
    return undefined;
  }
}

/** The first exact (not a range) check: the key and value a control is indexed by. */
function exactCheck<T>(compiled: Compiled<T>): { key: ScopeKey; value: string } | undefined {
  return compiled.checks.find((check): check is { key: ScopeKey; value: string } => 'value' in check);
}

export class ScopeIndex<T extends { id: string | number; scope: Scope }> {
  /** Index key → value → the controls whose first exact key is that. */
  readonly #byKey = new Map<ScopeKey, Map<string, Compiled<T>[]>>();
  /** Controls with no exact key (only CIDR ranges): looked at for every question. */
  readonly #scan: Compiled<T>[] = [];
  /** Each control by id, to change or remove one without rebuilding the rest. */
  readonly #byId = new Map<T['id'], Compiled<T>>();
  #nextOrder = 0;

  constructor(items: readonly T[]) {
    for (const item of items) this.add(item);
  }

  get size(): number {
    return this.#byId.size;
  }

  /** A control, after the others (or in its old place when it replaces one with the same id). */
  add(item: T): void {
    const previous = this.#byId.get(item.id);
    const order = previous ? previous.order : this.#nextOrder++;
    if (previous) this.remove(item.id);
    const checks: Check[] = [];
    for (const key of scopeKeyNames) {
      const value = item.scope[key];
      if (value === undefined) continue;
      if (isRange(key, value)) {
        const [address, bits] = ipaddr.parseCIDR(value);
        checks.push({ key: 'ip', range: [address, bits] });
      } else {
        checks.push({ key, value });
      }
    }
    const compiled: Compiled<T> = { item, order, checks };
    this.#byId.set(item.id, compiled);
    this.#bucketOf(compiled, true).push(compiled);
  }

  /** Forget a control; false when it was not there. */
  remove(id: T['id']): boolean {
    const compiled = this.#byId.get(id);
    if (!compiled) return false;
    this.#byId.delete(id);
    const bucket = this.#bucketOf(compiled, false);
    bucket.splice(bucket.indexOf(compiled), 1);
    const exact = exactCheck(compiled);
    if (exact && bucket.length === 0) this.#byKey.get(exact.key)?.delete(exact.value);
    return true;
  }

  /** Where a control is kept: the list of its first exact key's value, or the scan list. */
  #bucketOf(compiled: Compiled<T>, create: boolean): Compiled<T>[] {
    const exact = exactCheck(compiled);
    if (!exact) return this.#scan;
    let byValue = this.#byKey.get(exact.key);
    if (!byValue) {
      byValue = new Map();
      if (create) this.#byKey.set(exact.key, byValue);
    }
    let bucket = byValue.get(exact.value);
    if (!bucket) {
      bucket = [];
      if (create) byValue.set(exact.value, bucket);
    }
    return bucket;
  }

  /** The controls whose scope the traffic (normalized) falls in, and those it cannot be decided for. */
  lookup(traffic: Traffic): Lookup<T> {
    const address = parseAddress(traffic.ip);
    const matched: Compiled<T>[] = [];
    const unsure: { compiled: Compiled<T>; missing: ScopeKey[] }[] = [];
    const consider = (compiled: Compiled<T>) => {
      let missing: ScopeKey[] | undefined;
      for (const check of compiled.checks) {
        const value = traffic[check.key];
        if (value === undefined || value === '') {
          (missing ??= []).push(check.key);
          continue;
        }
        if ('range' in check) {
          if (!address || address.kind() !== check.range[0].kind() || !address.match(check.range)) return;
        } else if (check.value !== value) return;
      }
      if (missing) unsure.push({ compiled, missing });
      else matched.push(compiled);
    };
    for (const [key, byValue] of this.#byKey) {
      const value = traffic[key];
      if (value === undefined || value === '') {
        for (const bucket of byValue.values()) for (const compiled of bucket) consider(compiled);
      } else {
        for (const compiled of byValue.get(value) ?? []) consider(compiled);
      }
    }
    for (const compiled of this.#scan) consider(compiled);
    matched.sort((a, b) => a.order - b.order);
    unsure.sort((a, b) => a.compiled.order - b.compiled.order);
    return { matched: matched.map((compiled) => compiled.item), unsure: unsure.map(({ compiled, missing }) => ({ item: compiled.item, missing })) };
  }
}
