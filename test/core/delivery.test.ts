import { describe, expect, it } from 'vitest';
import { deliver, DeliveryError } from '../../src/core/delivery.ts';
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
