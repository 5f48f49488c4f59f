import { z } from 'zod';
import type { Observation } from '../../src/core/observation.ts';
import { defineProbe, ProbeBase, type ProbeContext } from '../../src/probes/define.ts';
import type { ProbeDefinition } from '../../src/probes/index.ts';
import type { AnyProbeKind } from '../../src/runner/run-probe.ts';

/**
 * Probe kinds that misbehave on purpose, for the runner and the scheduler:
 * they exist only in tests, next to the real registry, never in it.
 */
export function testKind(kind: string, run: (definition: ProbeDefinition, ctx: ProbeContext) => Promise<Observation[]>): AnyProbeKind {
  return defineProbe({
    kind,
    description: `test kind ${kind}`,
    configSchema: ProbeBase.extend({ kind: z.literal(kind) }),
    measurements: {},
    run: (config, ctx) => run(config as unknown as ProbeDefinition, ctx),
  }) as unknown as AnyProbeKind;
}

export function definition(id: string, kind: string, overrides: Partial<Record<string, unknown>> = {}): ProbeDefinition {
  return { id, kind, schedule: '* * * * * *', timeout: 1_000, jitter: 0, enabled: true, ...overrides } as unknown as ProbeDefinition;
}

export function upObservation(ctx: ProbeContext, target = '127.0.0.1:25'): Observation {
  return { measurement: 'reachability', tags: { target, protocol: 'tcp' }, fields: { status: 'up', up: true, duration_ms: 1 }, time: ctx.clock.now() };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves when `check` is true, polling; rejects after `timeoutMs` with `what`. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
