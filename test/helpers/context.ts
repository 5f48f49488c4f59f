import { ManualClock } from '../../src/core/clock.ts';
import type { ProbeContext } from '../../src/probes/define.ts';
import { captureLog } from './log.ts';

export function probeContext(signal: AbortSignal = new AbortController().signal): ProbeContext & { clock: ManualClock } {
  return { clock: new ManualClock('2026-11-23T10:00:00Z'), log: captureLog().log, signal };
}
