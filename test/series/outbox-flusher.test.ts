/**
 * The outbox flusher against the real servers of the lab: InfluxDB 1.6 (api v1)
 * and VictoriaMetrics (api v2). Outages are made by a proxy in front of them.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import type { Observation } from '../../src/core/observation.ts';
import { OutboxFlusher } from '../../src/runner/outbox-flusher.ts';
import { createInfluxWriter, WriteFailure } from '../../src/series/influx-writer.ts';
import { toLineProtocol } from '../../src/series/line-protocol.ts';
import { Database } from '../../src/store/database.ts';
import { enqueueLine, listQuarantine, outboxStats } from '../../src/store/outbox.ts';
import { lab } from '../lab/plan.ts';
import { captureLog } from '../helpers/log.ts';
import { waitFor } from '../helpers/probes.ts';
import { tcpProxy } from '../helpers/tcp-proxy.ts';
import { tempDir } from '../helpers/temp.ts';

const influxUrl = new URL(lab.influxdb.url);

async function influxQuery(database: string, query: string): Promise<unknown> {
  const response = await fetch(`${lab.influxdb.url}/query?db=${database}&q=${encodeURIComponent(query)}`, { method: 'POST' });
  return response.json();
}

async function freshDatabase(): Promise<string> {
  const database = `flush_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  await influxQuery(database, `CREATE DATABASE ${database}`);
  onTestFinished(async () => {
    await influxQuery(database, `DROP DATABASE ${database}`);
  });
  return database;
}

async function countIn(database: string, probe: string): Promise<number> {
  const result = (await influxQuery(database, `SELECT count(duration_ms) FROM reachability WHERE probe = '${probe}'`)) as { results: { series?: { values: [string, number][] }[] }[] };
  return result.results[0]?.series?.[0]?.values[0]?.[1] ?? 0;
}

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

describe('outbox → InfluxDB 1.x (api v1)', () => {
  it('keeps every point through an outage and delivers them all when the server is back', async () => {
    const database = await freshDatabase();
    const proxy = await tcpProxy({ host: influxUrl.hostname, port: Number(influxUrl.port) });
    await proxy.down();
    const db = Database.open(tempDir());
    onTestFinished(() => db.close());
    queuePoints(db, 'outage', 2_500);
    const writer = createInfluxWriter({ api: 'v1', url: proxy.url, database, timeout: 2_000 });
    const flusher = new OutboxFlusher(db, writer, captureLog().log, { batchSize: 1_000, intervalMs: 50, minRetryMs: 100, maxRetryMs: 400 });
    flusher.start();
    onTestFinished(() => flusher.stop());
    await waitFor(() => flusher.status().consecutiveFailures >= 3, 'three failed writes');
    expect(flusher.status()).toMatchObject({ depth: 2_500, delivered: 0 });
    expect(flusher.status().lastError?.message).toMatch(/ECONNREFUSED/);
    await proxy.up();
    await waitFor(() => flusher.status().depth === 0, 'the outbox drained', 20_000);
    expect(await countIn(database, 'outage')).toBe(2_500);
    expect(flusher.status()).toMatchObject({ delivered: 2_500, consecutiveFailures: 0, quarantined: 0 });
  });

  it('quarantines a line the server refuses, with its reason, and delivers the rest', async () => {
    const database = await freshDatabase();
    const db = Database.open(tempDir());
    onTestFinished(() => db.close());
    queuePoints(db, 'malformed', 300);
    enqueueLine(db, 'reachability,probe=malformed duration_ms=oops 1795000000000000000', new Date());
    queuePoints(db, 'malformed', 300, Date.parse('2026-11-23T11:00:00Z'));
    const flusher = new OutboxFlusher(db, createInfluxWriter({ api: 'v1', url: lab.influxdb.url, database, timeout: 5_000 }), captureLog().log, {
      batchSize: 1_000,
      intervalMs: 50,
      maxRetryMs: 1_000,
    });
    const outcome = await flusher.flushOnce();
    expect(outcome).toEqual({ ok: true, delivered: 600, quarantined: 1 });
    expect(await countIn(database, 'malformed')).toBe(600);
    const [quarantined] = listQuarantine(db, 10);
    expect(quarantined).toMatchObject({ line: 'reachability,probe=malformed duration_ms=oops 1795000000000000000' });
    expect(quarantined!.reason).toMatch(/^HTTP 400: .*unable to parse/);
    expect(outboxStats(db, new Date())).toMatchObject({ depth: 0, quarantined: 1 });
  });
});

describe('outbox → v2 write API (VictoriaMetrics)', () => {
  it('keeps every point through an outage and delivers each once', async () => {
    const probe = `v2outage${Date.now()}`;
    const victoria = new URL(lab.victoria.url);
    const proxy = await tcpProxy({ host: victoria.hostname, port: Number(victoria.port) });
    await proxy.down();
    const db = Database.open(tempDir());
    onTestFinished(() => db.close());
    const start = Date.now() - 60_000;
    queuePoints(db, probe, 500, start);
    const flusher = new OutboxFlusher(db, createInfluxWriter({ api: 'v2', url: proxy.url, org: 'lab', bucket: 'mailscope', timeout: 2_000 }), captureLog().log, {
      batchSize: 200,
      intervalMs: 50,
      minRetryMs: 100,
      maxRetryMs: 300,
    });
    flusher.start();
    onTestFinished(() => flusher.stop());
    await waitFor(() => flusher.status().consecutiveFailures >= 2, 'two failed writes');
    expect(flusher.status().depth).toBe(500);
    await proxy.up();
    await waitFor(() => flusher.status().depth === 0, 'the outbox drained', 20_000);
    let values: number[] = [];
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && values.length < 500) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const exported = await (await fetch(`${lab.victoria.url}/api/v1/export?match[]={__name__="reachability_duration_ms",probe="${probe}"}&start=${Math.floor(start / 1000) - 1}`)).text();
      values = exported.trim() ? exported.trim().split('\n').flatMap((line) => (JSON.parse(line) as { values: number[] }).values) : [];
    }
    expect(values).toHaveLength(500);
    expect(new Set(values).size).toBe(500);
  });
});

describe('outbox: SIGKILL while flushing', () => {
  it('a flusher killed mid-drain and started again leaves every point in InfluxDB exactly once', async () => {
    const { spawn } = await import('node:child_process');
    const { join } = await import('node:path');
    const database = await freshDatabase();
    const dataDir = tempDir();
    const db = Database.open(dataDir);
    queuePoints(db, 'sigkill', 20_000);
    db.close();
    const child = (until?: (delivered: number) => boolean) =>
      new Promise<{ code: number | null; signal: NodeJS.Signals | null; delivered: number }>((resolve) => {
        const process_ = spawn(process.execPath, [join(import.meta.dirname, '..', 'helpers', 'flush-child.ts'), dataDir, lab.influxdb.url, database, '500'], { stdio: ['ignore', 'pipe', 'inherit'] });
        let delivered = 0;
        process_.stdout.on('data', (chunk: Buffer) => {
          const last = /delivered (\d+)\n$/.exec(chunk.toString());
          if (last) delivered = Number(last[1]);
          // Killed while writes are going on: most of the time is spent between a write's start and its rows' deletion.
          if (until?.(delivered)) process_.kill('SIGKILL');
        });
        process_.on('exit', (code, signal) => resolve({ code, signal, delivered }));
      });
    const killed = await child((delivered) => delivered >= 6_000);
    expect(killed.signal).toBe('SIGKILL');
    const after = Database.open(dataDir);
    const left = outboxStats(after, new Date()).depth;
    after.close();
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(20_000);
    const finished = await child();
    expect(finished.code).toBe(0);
    expect(await countIn(database, 'sigkill')).toBe(20_000);
    const end = Database.open(dataDir);
    expect(outboxStats(end, new Date())).toMatchObject({ depth: 0, quarantined: 0 });
    end.close();
  });
});

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
    const flusher = new OutboxFlusher(db, createInfluxWriter({ api: 'v2', url: server.url, org: 'o', bucket: 'b', timeout: 2_000 }), captureLog().log, { batchSize: 100, intervalMs: 10, maxRetryMs: 60_000 });
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
