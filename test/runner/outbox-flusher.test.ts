/**
 * The outbox flusher without a server of the lab: its backoff, a server that asks
 * to slow down (on loopback), and the clock its status is read with. Against the
 * lab's InfluxDB 1.6 and VictoriaMetrics: outbox-flusher.lab.test.ts.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import type { Observation } from '../../src/core/observation.ts';
import { OutboxFlusher } from '../../src/runner/outbox-flusher.ts';
import { createInfluxWriter, WriteFailure } from '../../src/series/influx-writer.ts';
import { toLineProtocol } from '../../src/measurements/index.ts';
import { Database } from '../../src/store/database.ts';
import { enqueueLine, outboxStats } from '../../src/store/outbox.ts';
import { captureLog } from '../helpers/log.ts';
import { waitFor } from '../helpers/probes.ts';
import { tempDir } from '../helpers/temp.ts';

/** n reachability points of one probe, 1 ms apart, queued in the outbox as record() does. */
function queuePoints(db: Database, probe: string, n: number, start = Date.parse('2026-11-23T10:00:00Z')): void {
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const observation: Observation = {
        measurement: 'reachability',
        tags: { probe, target: '127.0.0.1:25', protocol: 'tcp' },
        fields: { status: 'up', up: true, duration_ms: i },
        time: new Date(start + i),
      };
      enqueueLine(db, toLineProtocol(observation), new Date());
    }
  });
}

describe('outbox: backoff', () => {
  it('doubles from the minimum up to the maximum, scaled down by jitter, and never under Retry-After', () => {
    const db = Database.open(tempDir());
    onTestFinished(() => db.close());
    const writer = { target: 'nowhere', write: async () => {} };
    const exact = new OutboxFlusher(db, writer, captureLog().log, { batchSize: 10, intervalMs: 10, minRetryMs: 1_000, maxRetryMs: 30_000, jitter: 0.5, random: () => 0 });
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => exact.backoffMs(n))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    const jittered = new OutboxFlusher(db, writer, captureLog().log, { batchSize: 10, intervalMs: 10, minRetryMs: 1_000, maxRetryMs: 30_000, jitter: 0.5, random: () => 1 });
    expect(jittered.backoffMs(3)).toBe(2_000);
    expect(jittered.backoffMs(1, 10_000)).toBe(10_000);
    expect(jittered.backoffMs(1, 90_000)).toBe(30_000);
  });

  it('reads Retry-After from a server that asks to slow down (429), and keeps the points', async () => {
    const { httpServer } = await import('../helpers/servers.ts');
    let requests = 0;
    const server = await httpServer((_request, response) => {
      requests++;
      response.writeHead(429, { 'retry-after': '7', 'content-type': 'application/json' }).end('{"error":"too many requests"}');
    });
    const db = Database.open(tempDir());
    onTestFinished(() => db.close());
    queuePoints(db, 'slow', 10);
    const flusher = new OutboxFlusher(db, createInfluxWriter({ api: 'v2', url: server.url, org: 'o', bucket: 'b', timeout: 2_000 }), captureLog().log, {
      batchSize: 100,
      intervalMs: 10,
      maxRetryMs: 60_000,
    });
    const outcome = await flusher.flushOnce();
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && [outcome.failure.kind, outcome.failure.status, outcome.failure.retryAfterMs, outcome.failure.message]).toEqual(['retry', 429, 7_000, 'HTTP 429: too many requests']);
    expect(requests).toBe(1);
    expect(outboxStats(db, new Date()).depth).toBe(10);
  });
});

describe('outbox: the clock', () => {
  it('reads every time of day it reports from its injected clock: the oldest point’s age, the last error, the next retry, the last flush', async () => {
    const clock = new ManualClock('2026-11-23T10:00:00Z');
    const db = Database.open(tempDir());
    onTestFinished(() => db.close());
    enqueueLine(db, 'reachability,probe=clock duration_ms=1 1795428000000000000', new Date('2026-11-23T09:55:00Z'));
    let up = false;
    const writes: number[] = [];
    const writer = {
      target: 'nowhere',
      write: async (lines: string[]) => {
        writes.push(lines.length);
        if (!up) throw new WriteFailure('retry', 'HTTP 503: down', { status: 503 });
      },
    };
    const flusher = new OutboxFlusher(db, writer, captureLog().log, { batchSize: 10, intervalMs: 10, minRetryMs: 20, maxRetryMs: 20, random: () => 0, clock });
    expect(flusher.status()).toMatchObject({ depth: 1, oldestAgeMs: 5 * 60_000 });
    clock.advance(60_000);
    expect(flusher.status().oldestAgeMs).toBe(6 * 60_000);

    flusher.start();
    onTestFinished(() => flusher.stop());
    await waitFor(() => flusher.status().consecutiveFailures >= 1, 'a failed write');
    expect(flusher.status()).toMatchObject({ lastError: { at: '2026-11-23T10:01:00.000Z', message: 'HTTP 503: down', status: 503 }, retryAt: '2026-11-23T10:01:00.020Z' });
    expect(flusher.status().lastFlushAt).toBeUndefined();

    clock.advance(60_000);
    up = true;
    await waitFor(() => flusher.status().depth === 0, 'the point delivered');
    expect(flusher.status()).toMatchObject({ lastFlushAt: '2026-11-23T10:02:00.000Z', consecutiveFailures: 0, delivered: 1, oldestAgeMs: 0 });
    expect(flusher.status().retryAt).toBeUndefined();
    expect(writes.length).toBeGreaterThanOrEqual(2);
  });
});
