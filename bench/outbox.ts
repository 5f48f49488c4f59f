/**
 * npm run bench -- outbox
 *
 * Points per second through the outbox (recorded in SQLite, flushed in batches,
 * deleted on acknowledgement) against the client writing the same points
 * directly, to the same server, in the same run:
 * - v2 write API (VictoriaMetrics): the client's WriteApi (its own batching) vs the flusher;
 * - v1 (InfluxDB 1.6): the client's transport posting the same batches vs the flusher.
 * Goal: outbox / direct ≥ 0.5 (durability costs at most half).
 */
import { InfluxDB } from '@influxdata/influxdb-client';
import { createLogger } from '../src/core/logger.ts';
import type { Observation } from '../src/core/observation.ts';
import { OutboxFlusher } from '../src/runner/outbox-flusher.ts';
import { createInfluxWriter, type InfluxConfig } from '../src/series/influx-writer.ts';
import { toLineProtocol } from '../src/measurements/index.ts';
import { Database } from '../src/store/database.ts';
import { enqueueLine } from '../src/store/outbox.ts';
import { labUp } from '../test/lab/lab.ts';
import { lab } from '../test/lab/plan.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const points = 100_000;
const batchSize = 5_000;
await labUp({ log: () => {} });

function lines(probe: string): string[] {
  const start = Date.now() - 3_600_000;
  return Array.from({ length: points }, (_, i) => {
    const observation: Observation = {
      measurement: 'reachability',
      tags: { probe, target: `127.0.0.1:${1000 + (i % 50)}`, protocol: 'tcp' },
      fields: { status: 'up', up: true, duration_ms: i % 1000 },
      time: new Date(start + Math.floor(i / 50)),
    };
    return toLineProtocol(observation);
  });
}

async function throughOutbox(config: InfluxConfig, probe: string): Promise<{ total: number; flush: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'mailscope-bench-'));
  const db = Database.open(dir);
  const all = lines(probe);
  const started = performance.now();
  // Recording: what record() does for these points, in transactions of one run's size.
  for (let i = 0; i < all.length; i += 1_000) {
    db.transaction(() => {
      for (const line of all.slice(i, i + 1_000)) enqueueLine(db, line, new Date());
    });
  }
  const recorded = performance.now();
  const flusher = new OutboxFlusher(db, createInfluxWriter(config), createLogger({ level: 'silent' }), { batchSize, intervalMs: 10, maxRetryMs: 1_000 });
  for (;;) {
    const outcome = await flusher.flushOnce();
    if (!outcome.ok) throw new Error(outcome.failure.message);
    if (outcome.delivered === 0) break;
  }
  const ended = performance.now();
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return { total: points / ((ended - started) / 1000), flush: points / ((ended - recorded) / 1000) };
}

async function directV2(probe: string): Promise<number> {
  const all = lines(probe);
  const started = performance.now();
  const writeApi = new InfluxDB({ url: lab.victoria.url }).getWriteApi('lab', 'mailscope', 'ns', { batchSize, flushInterval: 0, maxRetries: 0 });
  writeApi.writeRecords(all);
  await writeApi.close();
  return points / ((performance.now() - started) / 1000);
}

async function directV1(database: string, probe: string): Promise<number> {
  const all = lines(probe);
  const client = new InfluxDB({ url: lab.influxdb.url });
  const started = performance.now();
  for (let i = 0; i < all.length; i += batchSize) {
    await client.transport.request(`/write?db=${database}&precision=n`, all.slice(i, i + batchSize).join('\n'), { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' } });
  }
  return points / ((performance.now() - started) / 1000);
}

const database = `bench_${Date.now()}`;
const query = (q: string) => fetch(`${lab.influxdb.url}/query?q=${encodeURIComponent(q)}`, { method: 'POST' });
await query(`CREATE DATABASE ${database}`);
try {
  const tag = Date.now();
  // Alternate, twice each, so neither side only gets the warm server.
  const v2: { direct: number[]; outbox: { total: number; flush: number }[] } = { direct: [], outbox: [] };
  const v1: { direct: number[]; outbox: { total: number; flush: number }[] } = { direct: [], outbox: [] };
  for (let round = 0; round < 2; round++) {
    v2.direct.push(await directV2(`bd${tag}r${round}`));
    v2.outbox.push(await throughOutbox({ api: 'v2', url: lab.victoria.url, org: 'lab', bucket: 'mailscope', timeout: 30_000 }, `bo${tag}r${round}`));
    v1.direct.push(await directV1(database, `bd${tag}r${round}`));
    v1.outbox.push(await throughOutbox({ api: 'v1', url: lab.influxdb.url, database, timeout: 30_000 }, `bo${tag}r${round}`));
  }
  const best = (values: number[]) => Math.max(...values);
  const fmt = (value: number) => Math.round(value).toLocaleString('en');
  for (const [name, result] of [
    ['v2 (VictoriaMetrics)', v2],
    ['v1 (InfluxDB 1.6)', v1],
  ] as const) {
    const direct = best(result.direct);
    const flush = best(result.outbox.map((run) => run.flush));
    const total = best(result.outbox.map((run) => run.total));
    console.log(
      `${name}: direct ${fmt(direct)} points/s; outbox flush ${fmt(flush)} points/s → ratio ${(flush / direct).toFixed(2)} (goal ≥ 0.5); ` +
        `recording into the outbox included ${fmt(total)} points/s → ${(total / direct).toFixed(2)}; ${fmt(points)} points, batches of ${batchSize}`,
    );
  }
} finally {
  await query(`DROP DATABASE ${database}`);
}
