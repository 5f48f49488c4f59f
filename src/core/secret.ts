import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * Values shorter than this are not looked for in text (core/redact.ts): a
 * four-letter password would wipe the same four letters out of every message.
 * Such a value still renders as "[redacted]" as a Secret.
 */
export const minRedactedLength = 8;

const neverEmitted = new Set<string>();
let generation = 0;

function add(value: string | undefined): void {
  if (value === undefined || value.length < minRedactedLength || neverEmitted.has(value)) return;
  neverEmitted.add(value);
  generation++;
}

/** The pieces of a URL that carry its secret, as sent and as decoded: credentials, path, query values, long path segments. */
function urlParts(value: string): string[] {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [];
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return [];
  const parts = [url.href, url.username, url.password, url.pathname + url.search, url.search.slice(1)];
  if (url.pathname !== '/') parts.push(url.pathname);
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      return text;
    }
  };
  parts.push(decode(url.username), decode(url.password));
  for (const pair of url.search.slice(1).split('&')) {
    const raw = pair.slice(pair.indexOf('=') + 1);
    parts.push(raw, decode(raw.replaceAll('+', ' ')));
  }
  // A token in the path (Slack's /services/T…/B…/<token>): the long segments; short ones are words (services, hooks, api).
  for (const segment of url.pathname.split('/')) if (segment.length >= 16) parts.push(segment, decode(segment));
  return parts;
}

/**
 * Remember a value that must never be written out: every Secret does this when
 * it is made (configuration parsing), and core/redact.ts removes these values
 * from text received from peers and from every log line. A URL adds the parts
 * that carry its token; "Bearer <token>" (a header value) adds the token too.
 */
function neverEmit(value: string): void {
  add(value);
  add(/^\S+\s+(\S+)$/.exec(value.trim())?.[1]);
  for (const part of urlParts(value)) add(part);
}

/** What neverEmit was given (and derived); `generation` changes whenever it grows. */
export function neverEmittedValues(): { generation: number; values: ReadonlySet<string> } {
  return { generation, values: neverEmitted };
}

/**
 * A configured secret (password, token, webhook URL, header value). It renders
 * as "[redacted]" through every path that turns a value into text — JSON,
 * template strings, util.inspect, pino — so the only way to the value is an
 * explicit reveal(). Its value is also one never to emit (neverEmit).
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
    neverEmit(value);
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

export const redacted = REDACTED;

/** The values of a record of secrets (request headers), for the one request that sends them. */
export function revealAll(secrets: Readonly<Record<string, Secret>>): Record<string, string> {
  return Object.fromEntries(Object.entries(secrets).map(([name, value]) => [name, value.reveal()]));
}
