/**
 * npm run bench -- reports-parse
 *
 * Feedback reports through readFeedback, against reading the same bytes alone in
 * the same run:
 * - a 100 MB DMARC aggregate report (250,000 records) written to disk, read
 *   from a file stream, plain and gzip: rows, seconds, MB/s, and peak RSS above
 *   the baseline (goal: < 150 MB, the rows included: nothing else is kept);
 * - 10,000 small reports (Google's layout, two records) given as buffers,
 *   plain and gzip: reports per second.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip, gzipSync } from 'node:zlib';
import { readFeedback } from '../src/protocols/reports/read.ts';

const records = 250_000;
const smallReports = 10_000;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

/** The report, record by record, indented: ~420 bytes a record. */
function* aggregateReport(): Generator<string> {
  yield `<?xml version="1.0" encoding="UTF-8" ?>
<feedback>
  <report_metadata>
    <org_name>google.com</org_name>
    <email>noreply-dmarc-support@google.com</email>
    <report_id>bench-${records}</report_id>
    <date_range>
      <begin>1704067200</begin>
      <end>1704153599</end>
    </date_range>
  </report_metadata>
  <policy_published>
    <domain>example.com</domain>
    <adkim>r</adkim>
    <aspf>r</aspf>
    <p>none</p>
    <sp>none</sp>
    <pct>100</pct>
  </policy_published>
`;
  let batch = '';
  for (let i = 0; i < records; i++) {
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const pass = i % 10 === 0 ? 'fail' : 'pass';
    batch += `<record>
  <row><source_ip>${ip}</source_ip><count>${1 + (i % 50)}</count>
    <policy_evaluated><disposition>none</disposition><dkim>${pass}</dkim><spf>pass</spf></policy_evaluated>
  </row>
  <identifiers><header_from>example.com</header_from></identifiers>
  <auth_results>
    <dkim><domain>example.com</domain><result>${pass}</result><selector>s${i % 4}</selector></dkim>
    <spf><domain>bounces.example.com</domain><result>pass</result></spf>
  </auth_results>
</record>
`;
    if (batch.length > 256 * 1024) {
      yield batch;
      batch = '';
    }
  }
  yield `${batch}</feedback>\n`;
}

/** Runs `work` with RSS sampled every 5 ms: its result, seconds, and peak RSS above the RSS before it. */
async function measured<T>(work: () => Promise<T>): Promise<{ result: T; seconds: number; peakAbove: number }> {
  gc();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const started = performance.now();
  const result = await work();
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { result, seconds, peakAbove: peak - baseline };
}

/** The large report read in a process of its own, so one run's heap does not hide the next one's growth. */
async function parseInChild(file: string): Promise<{ rows: number; messages: number; seconds: number; peakAbove: number }> {
  const child = spawn(process.execPath, ['--expose-gc', import.meta.filename], { env: { ...process.env, MAILSCOPE_BENCH_REPORT: file }, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  for await (const chunk of child.stdout) output += chunk;
  const [code] = (await once(child, 'close')) as [number];
  if (code !== 0) throw new Error(`the child exited with ${code}`);
  return JSON.parse(output);
}

const childFile = process.env.MAILSCOPE_BENCH_REPORT;
if (childFile) {
  const run = await measured(() => readFeedback(createReadStream(childFile)));
  const [outcome] = run.result;
  if (!outcome?.ok || outcome.report.kind !== 'dmarc-aggregate') throw new Error(`not read: ${outcome && !outcome.ok ? outcome.error.message : 'no outcome'}`);
  process.stdout.write(JSON.stringify({ rows: outcome.report.rows.length, messages: outcome.report.messages, seconds: run.seconds, peakAbove: run.peakAbove }));
} else {
  const dir = mkdtempSync(join(tmpdir(), 'mailscope-bench-reports-'));
  try {
    const plain = join(dir, 'report.xml');
    const gzipped = join(dir, 'report.xml.gz');
    await pipeline(aggregateReport, createWriteStream(plain));
    await pipeline(createReadStream(plain), createGzip(), createWriteStream(gzipped));
    const size = statSync(plain).size;
    console.log(`aggregate report: ${records} records, ${mb(size)} MB plain, ${mb(statSync(gzipped).size)} MB gzip`);
    const reference = await measured(async () => {
      let bytes = 0;
      for await (const chunk of createReadStream(plain)) bytes += (chunk as Buffer).length;
      return bytes;
    });
    console.log(`  reference (the file read alone): ${reference.seconds.toFixed(2)} s`);
    for (const [label, file] of [
      ['plain', plain],
      ['gzip', gzipped],
    ] as const) {
      const run = await parseInChild(file);
      console.log(
        `  ${label}: ${run.rows} rows, ${run.messages} messages in ${run.seconds.toFixed(2)} s (${(size / 1024 / 1024 / run.seconds).toFixed(1)} MB/s of XML, ${(run.seconds / reference.seconds).toFixed(1)}× the read alone), peak RSS +${mb(run.peakAbove)} MB above the process's baseline (goal < 150)`,
      );
    }

    const small = readFileSync(join(import.meta.dirname, '../test/fixtures/reports/google.xml'));
    for (const [label, body] of [
      ['plain', small],
      ['gzip', gzipSync(small)],
    ] as const) {
      const run = await measured(async () => {
        let read = 0;
        for (let i = 0; i < smallReports; i++) if ((await readFeedback(body))[0]?.ok) read++;
        return read;
      });
      if (run.result !== smallReports) throw new Error(`${smallReports - run.result} small reports not read`);
      console.log(`small reports (${label}, ${body.length} bytes): ${smallReports} in ${run.seconds.toFixed(2)} s, ${Math.round(smallReports / run.seconds)} reports/s`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
