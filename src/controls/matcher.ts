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

export class ScopeIndex<T extends { scope: Scope }> {
  /** Index key → value → the controls whose first exact key is that. */
  readonly #byKey = new Map<ScopeKey, Map<string, Compiled<T>[]>>();
  /** Controls with no exact key (only CIDR ranges): looked at for every question. */
  readonly #scan: Compiled<T>[] = [];

  constructor(items: readonly T[]) {
    items.forEach((item, order) => {
      const checks: Check[] = [];
      let indexKey: ScopeKey | undefined;
      for (const key of scopeKeyNames) {
        const value = item.scope[key];
        if (value === undefined) continue;
        if (isRange(key, value)) {
          const [address, bits] = ipaddr.parseCIDR(value);
          checks.push({ key: 'ip', range: [address, bits] });
        } else {
          checks.push({ key, value });
          indexKey ??= key;
        }
      }
      const compiled = { item, order, checks };
      if (indexKey === undefined) {
        this.#scan.push(compiled);
        return;
      }
      let byValue = this.#byKey.get(indexKey);
      if (!byValue) this.#byKey.set(indexKey, (byValue = new Map()));
      const value = item.scope[indexKey]!;
      const bucket = byValue.get(value);
      if (bucket) bucket.push(compiled);
      else byValue.set(value, [compiled]);
    });
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
