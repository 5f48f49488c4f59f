/**
 * GET a small text document over HTTPS (an MTA-STS policy): no redirects, a size
 * cap, a deadline; the name resolved through the caller's lookup (our DNS client).
 */
import type { LookupFunction } from 'node:net';
import { request } from 'node:https';
import { rootCertificates } from 'node:tls';

export class TextTimeout extends Error {
  constructor(ms: number) {
    super(`no complete response within ${ms} ms`);
  }
}

export class TextTooLarge extends Error {
  constructor(bytes: number) {
    super(`the response is larger than ${bytes} bytes`);
  }
}

export interface TextResponse {
  status: number;
  contentType: string | undefined;
  body: string;
}

export interface TextOptions {
  lookup: LookupFunction;
  /** Extra CA certificates (PEM) trusted besides the system's. */
  extraCa?: Buffer | undefined;
  timeoutMs: number;
  maxBytes: number;
  signal?: AbortSignal | undefined;
}

export function getText(url: URL, options: TextOptions): Promise<TextResponse> {
  return new Promise((resolve, reject) => {
    const ca = options.extraCa ? [...rootCertificates, options.extraCa.toString('utf8')] : undefined;
    const req = request(url, { method: 'GET', lookup: options.lookup, agent: false, ...(ca ? { ca } : {}), ...(options.signal ? { signal: options.signal } : {}) }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBytes) req.destroy(new TextTooLarge(options.maxBytes));
        else chunks.push(chunk);
      });
      response.once('end', () => {
        clearTimeout(timer);
        resolve({ status: response.statusCode ?? 0, contentType: response.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') });
      });
      response.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    const timer = setTimeout(() => req.destroy(new TextTimeout(options.timeoutMs)), options.timeoutMs);
    req.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end();
  });
}
