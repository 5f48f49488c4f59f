/**
 * Adding a probe kind is one file plus one registry line (DESIGN.md, "the rule
 * of ownership"). The file is fixtures/scratch-kind.ts: its schema, its
 * measurement, its load check and its run. The line is the mock below: the
 * registry's list with the kind appended, everything else derived by the
 * registry's own code. Nothing else is told about the kind, yet the config
 * loader validates its definitions and runs its load check, alert rules may
 * watch its measurement, and record() checks and keeps its observations.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.ts';
import { systemClock } from '../../src/core/clock.ts';
import { measurements } from '../../src/measurements/index.ts';
import { buildCatalog } from '../../src/probes/dnsbl-lists.ts';
import { findProbeKind, probeKindNames } from '../../src/probes/index.ts';
import type { Resolver } from '../../src/protocols/dns/types.ts';
import { Runner } from '../../src/runner/runner.ts';
import { Database } from '../../src/store/database.ts';
import { listObservations } from '../../src/store/runs.ts';
import { scratch } from './fixtures/scratch-kind.ts';
import { captureLog } from '../helpers/log.ts';
import { tempDir } from '../helpers/temp.ts';

vi.mock('../../src/probes/index.ts', async (importOriginal) => {
  const registry = await importOriginal<typeof import('../../src/probes/index.ts')>();
  const { scratch: kind } = await import('./fixtures/scratch-kind.ts');
  // The one line a new kind adds to the registry: `export const probes = [tcp, ..., outbox, scratch]`.
  const probes = [...registry.probes, kind] as const;
  return { ...registry, probes, ...registry.probeKindsOf(probes) };
});

/** An instance with a DNS rate limit, and one probe file. */
function instance(probeFile: string, rateLimit = 2): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'mailscope.yaml'), `dataDir: ./data\ndns: { rateLimit: ${rateLimit} }\n`);
  mkdirSync(join(dir, 'probes'));
  writeFileSync(join(dir, 'probes', 'scratch.yaml'), probeFile);
  return dir;
}

function problemsOf(dir: string): string[] {
  try {
    loadConfig('mailscope.yaml', { env: {}, cwd: dir });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

const probe = (fields: string) => `probes:\n  - { id: echo, kind: scratch, schedule: "* * * * *", timeout: 2s, ${fields} }\n`;

describe('adding a probe kind: one file plus one registry line', () => {
  it('joins the registry of kinds and, with its measurement, the series registry', () => {
    expect(probeKindNames).toContain('scratch');
    expect(findProbeKind('scratch')).toBe(scratch);
    expect(measurements).toHaveProperty('scratch_echo', scratch.measurements.scratch_echo);
  });

  it('loads its definitions, and rules over its measurement, through the normal config path', () => {
    const dir = instance(`${probe('targets: [a.example, b.example]')}rules:\n  - { id: silent, condition: scratch_echo.answered == false, where: { target: a.example } }\n`);
    const config = loadConfig('mailscope.yaml', { env: {}, cwd: dir });
    expect(config.probes.map(({ definition }) => definition)).toEqual([expect.objectContaining({ id: 'echo', kind: 'scratch', targets: ['a.example', 'b.example'], answer: true })]);
    expect(config.rules.map(({ rule }) => rule.id)).toEqual(['silent']);
  });

  it('reports its load check with the other problems, at the path of the definition', () => {
    const dir = instance(`${probe('targets: [a.example, b.example, c.example, d.example, e.example]')}rules:\n  - { id: typo, condition: scratch_echo.answerd == false }\n`);
    expect(problemsOf(dir)).toEqual([
      'probes/scratch.yaml: rules[0].condition: scratch_echo has no field "answerd" (fields: answered)',
      'probes/scratch.yaml: probes[0].targets: 5 queries do not fit in 2000 ms at dns.rateLimit 2/s',
    ]);
    // The same check sees the instance: at a higher rate the sweep fits.
    expect(problemsOf(instance(probe('targets: [a.example, b.example, c.example, d.example, e.example]'), 10))).toEqual([]);
  });

  it('has its observations checked by record() against the measurement it declared', async () => {
    const db = Database.open(tempDir());
    const services = { dns: {} as Resolver, blocklists: buildCatalog(), outbox: () => ({ configured: false, depth: 0, oldestAgeMs: 0, quarantined: 0, consecutiveFailures: 0 }) };
    const runner = new Runner({ db, clock: systemClock, log: captureLog().log, services });
    const [good, bad] = loadConfig('mailscope.yaml', {
      env: {},
      cwd: instance(`${probe('targets: [a.example]')}  - { id: bug, kind: scratch, schedule: "* * * * *", targets: [a.example], answer: "yes" }\n`),
    }).probes;

    const kept = await runner.run(good!.definition, 'api');
    expect(kept.success).toBe(true);
    expect(listObservations(db, { measurement: 'scratch_echo', limit: 10 }).map((o) => [o.tags, o.fields])).toEqual([[{ target: 'a.example', probe: 'echo' }, { answered: true }]]);

    const refused = await runner.run(bad!.definition, 'api');
    expect(refused).toMatchObject({
      success: false,
      error: { code: 'SERIES_INVALID', message: 'observations do not match the series registry: scratch_echo.answered: expected a boolean (boolean), got "yes"' },
    });
    expect(listObservations(db, { measurement: 'scratch_echo', limit: 10 })).toHaveLength(1);
    db.close();
  });
});
