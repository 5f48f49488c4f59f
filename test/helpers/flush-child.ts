// A process that drains an outbox into InfluxDB 1.x and reports progress, for the
// SIGKILL test: node test/helpers/flush-child.ts <dataDir> <influxUrl> <database> <batchSize>
import { OutboxFlusher } from '../../src/runner/outbox-flusher.ts';
import { createLogger } from '../../src/core/logger.ts';
import { createInfluxWriter } from '../../src/series/influx-writer.ts';
import { Database } from '../../src/store/database.ts';

const [dataDir, url, database, batchSize] = process.argv.slice(2);
const db = Database.open(dataDir!);
const flusher = new OutboxFlusher(db, createInfluxWriter({ api: 'v1', url: url!, database: database!, timeout: 10_000 }), createLogger({ level: 'silent' }), {
  batchSize: Number(batchSize),
  intervalMs: 10,
  maxRetryMs: 1_000,
});
for (;;) {
  const outcome = await flusher.flushOnce();
  if (!outcome.ok) throw new Error(outcome.failure.message);
  process.stdout.write(`delivered ${flusher.status().delivered}\n`);
  if (outcome.delivered === 0 && outcome.quarantined === 0) break;
}
db.close();
