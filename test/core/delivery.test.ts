import { describe, expect, it } from 'vitest';
import { deliver, DeliveryError, webhookHeaders } from '../../src/core/delivery.ts';
import { closedPort, httpServer } from '../helpers/servers.ts';

const request = { method: 'POST', body: '{}', headers: {}, what: 'hook', code: 'PUSH_FAILED' } as const;

describe('deliver', () => {
  it('a URL with credentials never reaches the error (fetch names the URL when it refuses it)', async () => {
    const error = await deliver(`http://user:s3cret-pass@127.0.0.1:${await closedPort()}/x`, { ...request, signal: AbortSignal.timeout(2_000) }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as Error).message).toBe('hook: Request cannot be constructed from a URL that includes credentials: <url>');
    expect(JSON.stringify(error)).not.toContain('s3cret-pass');
    expect((error as Error).cause).toBeUndefined();
  });

  it('4xx is final, 5xx and 429 are retried, and the body of a success is returned', async () => {
    const statuses = [400, 503, 429, 200];
    const { url } = await httpServer((_request, response) => response.writeHead(statuses.shift()!).end('said'));
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      outcomes.push(await deliver(url, { ...request, signal: AbortSignal.timeout(2_000) }).catch((error: DeliveryError) => `${error.code} retryable=${error.retryable}: ${error.message}`));
    }
    expect(outcomes).toEqual(['PUSH_FAILED retryable=false: hook: HTTP 400: said', 'PUSH_FAILED retryable=true: hook: HTTP 503: said', 'PUSH_FAILED retryable=true: hook: HTTP 429: said', 'said']);
  });
});

describe('webhookHeaders', () => {
  const request = { event: 'control.pause', delivery: '42', body: '{"version":1}', secret: 'a-signing-secret-of-32-characters', now: new Date('2026-12-06T10:00:00Z') };

  it('carries the fencing token (the epoch of the lease it is sent under) when there is one', () => {
    const headers = webhookHeaders({ ...request, fencingToken: 7 });
    expect(headers['x-mailscope-fencing-token']).toBe('7');
    // Everything else as without it: the token is not signed over, and changes nothing else.
    const { 'x-mailscope-fencing-token': _token, ...rest } = headers;
    expect(rest).toEqual(webhookHeaders(request));
  });

  it('carries none alone (epoch 0) or without a token', () => {
    for (const headers of [webhookHeaders({ ...request, fencingToken: 0 }), webhookHeaders({ ...request, fencingToken: undefined }), webhookHeaders(request)]) {
      expect(headers).not.toHaveProperty('x-mailscope-fencing-token');
      expect(headers).toMatchObject({ 'x-mailscope-event': 'control.pause', 'x-mailscope-delivery': '42', 'x-mailscope-timestamp': '1796551200' });
      expect(headers['x-mailscope-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    }
  });
});
