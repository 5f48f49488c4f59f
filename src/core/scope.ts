/**
 * A slice of sending traffic: what a control (pause, throttle) applies to, and
 * what the routing engine says about each message when it asks. Shared by
 * controls/, the platform adapters and the API, so it lives here.
 */
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { plainTextProblem } from './text.ts';

/** The keys a scope may combine; a scope with several keys is their intersection. */
export const scopeKeys = {
  ip: 'sending IP address, or a CIDR range of them',
  pool: 'IP pool (a name the routing engine uses)',
  from_domain: "sender's domain (the envelope sender's, or the From domain)",
  rcpt_domain: "recipient's domain",
  provider: 'destination mailbox provider (gmail, outlook, yahoo, ...; see controls.providers)',
  campaign: 'campaign id (as the routing engine or the campaign tool names it)',
  tenant: 'tenant or customer id (as the routing engine names it)',
} as const;

export type ScopeKey = keyof typeof scopeKeys;
export const scopeKeyNames = Object.keys(scopeKeys) as ScopeKey[];

/** At least one key; every value a non-empty string. */
export type Scope = Partial<Record<ScopeKey, string>>;

const domainKeys: ReadonlySet<ScopeKey> = new Set(['from_domain', 'rcpt_domain']);

/** The value as compared: domains lower-case without a trailing dot, IPs in their canonical form. */
export function normalizeScopeValue(key: ScopeKey, value: string): string {
  const trimmed = value.trim();
  if (domainKeys.has(key)) return trimmed.toLowerCase().replace(/\.$/, '');
  if (key === 'ip') {
    if (trimmed.includes('/')) {
      const [address, bits] = ipaddr.parseCIDR(trimmed);
      return `${address.toString()}/${bits}`;
    }
    return ipaddr.process(trimmed).toString();
  }
  if (key === 'provider') return trimmed.toLowerCase();
  return trimmed;
}

/** What is wrong with one scope value; undefined when it is fine. */
export function scopeValueProblem(key: ScopeKey, value: string): string | undefined {
  if (value.trim() === '') return 'must not be empty';
  if (value.length > 253) return 'is longer than 253 characters';
  const control = plainTextProblem(value);
  if (control) return control;
  if (key === 'ip') {
    const [address = '', bits] = value.trim().split('/', 2);
    // Dotted-quad IPv4 only: "10.1" or "0x7f.1" would silently mean 10.0.0.1 or 127.0.0.1.
    const valid = ipaddr.IPv4.isValidFourPartDecimal(address) || ipaddr.IPv6.isValid(address);
    if (!valid || (bits !== undefined && !ipaddr.isValidCIDR(value.trim()))) return `"${value}" is not an IP address or CIDR range`;
  }
  if (domainKeys.has(key) && !/^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/i.test(value.trim())) return `"${value}" is not a domain name`;
  return undefined;
}

/** A scope as written in a request or a config: known keys only, valid values, at least one key; normalized. */
export const scopeSchema = z
  .record(z.string(), z.string())
  .superRefine((scope, ctx) => {
    const keys = Object.keys(scope);
    if (keys.length === 0) ctx.addIssue({ code: 'custom', message: `a scope needs at least one of: ${scopeKeyNames.join(', ')}` });
    if (keys.length > scopeKeyNames.length) {
      ctx.addIssue({ code: 'custom', message: `a scope has at most ${scopeKeyNames.length} keys (${scopeKeyNames.join(', ')}), not ${keys.length}` });
      return;
    }
    for (const key of keys) {
      if (!Object.hasOwn(scopeKeys, key)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `unknown scope key "${key}" (expected one of: ${scopeKeyNames.join(', ')})` });
        continue;
      }
      const problem = scopeValueProblem(key as ScopeKey, scope[key]!);
      if (problem) ctx.addIssue({ code: 'custom', path: [key], message: problem });
    }
  })
  .transform((scope): Scope => canonicalScope(scope as Scope));

/** Keys in the registry's order, values normalized: equal scopes are equal objects (and equal JSON). */
export function canonicalScope(scope: Scope): Scope {
  const canonical: Scope = {};
  for (const key of scopeKeyNames) {
    const value = scope[key];
    if (value !== undefined) canonical[key] = normalizeScopeValue(key, value);
  }
  return canonical;
}

/** What a message (or a question about one) is: any of the scope keys, each known or not. */
export type Traffic = Partial<Record<ScopeKey, string>>;

export type ScopeMatch = 'match' | 'no-match' | 'unknown';

/**
 * Does the traffic fall in the scope? Every key of the scope must match. A key the
 * traffic does not carry makes the answer unknown, unless another key already
 * rules it out: unknown is not a match, and not a "no" either.
 */
export function matchScope(scope: Scope, traffic: Traffic): ScopeMatch {
  let unknown = false;
  for (const key of scopeKeyNames) {
    const wanted = scope[key];
    if (wanted === undefined) continue;
    const value = traffic[key];
    if (value === undefined || value === '') {
      unknown = true;
      continue;
    }
    if (!valueMatches(key, wanted, value)) return 'no-match';
  }
  return unknown ? 'unknown' : 'match';
}

function valueMatches(key: ScopeKey, wanted: string, value: string): boolean {
  if (key === 'ip') {
    if (!wanted.includes('/')) return wanted === value;
    try {
      const address = ipaddr.process(value);
      const [range, bits] = ipaddr.parseCIDR(wanted);
      return address.kind() === range.kind() && address.match(range, bits);
    } catch {
      return false;
    }
  }
  return wanted === value;
}

/** `ip=192.0.2.1 rcpt_domain=gmail.com`: for logs, messages and reasons. */
export function describeScope(scope: Scope): string {
  return scopeKeyNames
    .filter((key) => scope[key] !== undefined)
    .map((key) => `${key}=${scope[key]}`)
    .join(' ');
}
