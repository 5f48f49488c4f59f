/**
 * npm run bench -- controls
 *
 * What one more control costs when many are active. With 200 and with 2,000
 * active controls in the store, 200 more are created through ControlService.create
 * (the API's and the CLI's path: a transaction, the audit entry, memory catching
 * up); the reference, in the same run, is reading every active control into a
 * fresh index (ControlService.reload: what each create cost before memory caught
 * up incrementally). Goal: a create at 2,000 active costs at most a fifth of a
 * reload, and at most twice a create at 200 (it does not grow with the count).
 * Each create is checked: the new control answers the policy at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlService } from '../src/controls/service.ts';
import { systemClock } from '../src/core/clock.ts';
import { createLogger } from '../src/core/logger.ts';
import { Database } from '../src/store/database.ts';
import { median } from './lib/measure.ts';

const rounds = 5;
const creates = 200;

function measure(active: number): { createMs: number; reloadMs: number } {
  const dir = mkdtempSync(join(tmpdir(), 'mailscope-bench-controls-'));
  const db = Database.open(dir);
  try {
    const service = new ControlService({ db, clock: systemClock, log: createLogger({ level: 'silent' }), settings: { failMode: 'open', providers: new Map() } });
    db.transaction(() => {
      for (let i = 0; i < active; i++)
        service.createWithin({
          action: i % 3 ? 'pause' : 'throttle',
          ...(i % 3 ? {} : { ratePerMinute: 100 + i }),
          scope: { campaign: `base-${i}`, ...(i % 2 ? { pool: `p${i % 7}` } : {}) },
          reason: 'bench',
          source: 'token:ops',
          actor: 'ops',
        });
    });
    service.reload();
    const createMs: number[] = [];
    const reloadMs: number[] = [];
    let made = 0;
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < creates; i++) {
        const started = performance.now();
        service.create({ action: 'pause', scope: { campaign: `new-${made}` }, reason: 'bench', source: 'token:ops', actor: 'ops' });
        createMs.push(performance.now() - started);
        if (service.decide({ campaign: `new-${made}` }).action !== 'pause') throw new Error(`control new-${made} does not answer the policy`);
        made++;
      }
      for (let i = 0; i < 20; i++) {
        const started = performance.now();
        service.reload();
        reloadMs.push(performance.now() - started);
      }
    }
    return { createMs: median(createMs), reloadMs: median(reloadMs) };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const small = measure(200);
const large = measure(2_000);
const vsReload = large.createMs / large.reloadMs;
const vsSmall = large.createMs / small.createMs;
console.log(`controls: ${creates * rounds} creates at each size; medians`);
console.log(`  200 active:   create ${small.createMs.toFixed(3)} ms, reload ${small.reloadMs.toFixed(3)} ms`);
console.log(`  2,000 active: create ${large.createMs.toFixed(3)} ms, reload ${large.reloadMs.toFixed(3)} ms`);
console.log(`controls create: ${vsReload.toFixed(3)} of a reload at 2,000 active (goal ≤ 0.2) ${vsReload <= 0.2 ? 'ok' : 'MISSED'}`);
console.log(`controls create: 2,000 active / 200 active = ${vsSmall.toFixed(2)} (goal ≤ 2) ${vsSmall <= 2 ? 'ok' : 'MISSED'}`);
if (vsReload > 0.2 || vsSmall > 2) process.exitCode = 1;
