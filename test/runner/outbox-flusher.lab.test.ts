/**
 * The outbox flusher against the real servers of the lab: InfluxDB 1.6 (api v1)
 * and VictoriaMetrics (api v2). Outages are made by a proxy in front of them.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Observation } from '../../src/core/observation.ts';
import { OutboxFlusher } from '../../src/runner/outbox-flusher.ts';
import { createInfluxWriter } from '../../src/series/influx-writer.ts';
import { toLineProtocol } from '../../src/measurements/index.ts';
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
      values = exported.trim()
        ? exported
            .trim()
            .split('\n')
            .flatMap((line) => (JSON.parse(line) as { values: number[] }).values)
        : [];
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
