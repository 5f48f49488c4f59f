import { ManualClock } from '../../src/core/clock.ts';
import type { ProbeContext } from '../../src/probes/define.ts';
import { captureLog } from './log.ts';
import { unitServices } from './services.ts';

/** A probe's context in a unit test: a clock that stays put, a captured log, DNS on no resolver (pass `dns`), the built-in lists. */
export function probeContext(signal: AbortSignal = new AbortController().signal, services: Partial<Omit<ProbeContext, 'clock'>> = {}): ProbeContext & { clock: ManualClock } {
  return { ...unitServices(), clock: new ManualClock('2026-11-23T10:00:00Z'), log: captureLog().log, signal, ...services };
}
