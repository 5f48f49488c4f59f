/**
 * Writes line protocol to InfluxDB through @influxdata/influxdb-client's HTTP
 * transport: the v2 write API (/api/v2/write: InfluxDB 2.x, 3, and v2-compatible
 * servers) or the v1 one (/write: InfluxDB 1.x, which 1.6/1.7 only speak). The
 * client's own WriteApi buffers and retries in memory and drops the buffer on
 * close(); here every write is one acknowledged request, and the outbox (not the
 * client) holds what is not yet acknowledged.
 */
import { HttpError, InfluxDB, RequestTimedOutError } from '@influxdata/influxdb-client';
import { peerExcerpt } from '../core/redact.ts';
import type { Secret } from '../core/secret.ts';

/** The `influx:` section of the instance config, as far as writing needs it. */
export interface InfluxConfig {
  api: 'v1' | 'v2';
  url: string;
  org?: string | undefined;
  bucket?: string | undefined;
  token?: Secret | undefined;
  database?: string | undefined;
  retentionPolicy?: string | undefined;
  username?: string | undefined;
  password?: Secret | undefined;
  timeout: number;
}

/** Why a write failed: the batch is malformed (never retry it as is) or the server is not taking writes now. */
export class WriteFailure extends Error {
  readonly kind: 'rejected' | 'retry';
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(kind: 'rejected' | 'retry', message: string, options: { status?: number | undefined; retryAfterMs?: number | undefined } = {}) {
    super(message);
    this.kind = kind;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

export interface LineWriter {
  /** Resolves when the server acknowledged every line; rejects with a WriteFailure. */
  write(lines: string[]): Promise<void>;
  /** Where writes go, for logs and the API (no credentials). */
  readonly target: string;
}

function serverReason(error: HttpError): string {
  const json = error.json as { error?: unknown; message?: unknown } | undefined;
  const text = typeof json?.error === 'string' ? json.error : typeof json?.message === 'string' ? json.message : (error.body ?? error.message);
  // The server's (or a proxy's) words: bounded, without control characters or a secret it echoed.
  return peerExcerpt(text);
}

/** Retry-After as delay seconds or an HTTP date (RFC 9110 §10.2.3), in ms. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1_000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

function failureOf(error: unknown): WriteFailure {
  if (error instanceof HttpError) {
    const reason = `HTTP ${error.statusCode}: ${serverReason(error)}`;
    const retryAfter = retryAfterMs(error.headers?.['retry-after']);
    // 400: the batch (some line in it) is malformed; 413: too large, split it. Everything else can pass with time.
    if (error.statusCode === 400 || error.statusCode === 413 || error.statusCode === 422) return new WriteFailure('rejected', reason, { status: error.statusCode });
    return new WriteFailure('retry', reason, { status: error.statusCode, retryAfterMs: retryAfter });
  }
  if (error instanceof RequestTimedOutError) return new WriteFailure('retry', 'the write timed out');
  const code = (error as { code?: string }).code;
  const said = peerExcerpt((error as Error).message ?? String(error));
  return new WriteFailure('retry', `${said}${code && !said.includes(code) ? ` (${code})` : ''}`);
}

export function createInfluxWriter(config: InfluxConfig): LineWriter {
  const client = new InfluxDB({ url: config.url, timeout: config.timeout, ...(config.api === 'v2' && config.token ? { token: config.token.reveal() } : {}) });
  const params = new URLSearchParams();
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
  let path: string;
  if (config.api === 'v2') {
    params.set('org', config.org!);
    params.set('bucket', config.bucket!);
    params.set('precision', 'ns');
    path = `/api/v2/write?${params}`;
  } else {
    params.set('db', config.database!);
    if (config.retentionPolicy) params.set('rp', config.retentionPolicy);
    // InfluxDB 1.6 takes n/u/ms/s (not "ns"/"us"); nanoseconds are its default anyway.
    params.set('precision', 'n');
    path = `/write?${params}`;
    if (config.username && config.password) headers.authorization = `Basic ${Buffer.from(`${config.username}:${config.password.reveal()}`).toString('base64')}`;
  }
  const target = `${new URL(config.url).origin} (${config.api === 'v2' ? `org ${config.org}, bucket ${config.bucket}` : `database ${config.database}${config.retentionPolicy ? `, rp ${config.retentionPolicy}` : ''}`})`;
  return {
    target,
    async write(lines) {
      try {
        await client.transport.request(path, lines.join('\n'), { method: 'POST', headers });
      } catch (error) {
        throw failureOf(error);
      }
    },
  };
}
