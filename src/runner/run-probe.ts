import type { z } from 'zod';
import type { Clock } from '../core/clock.ts';
import { MailscopeError, messageOf } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { ProbeKind, ProbeServices } from '../probes/define.ts';
import type { ProbeDefinition } from '../probes/index.ts';
import type { RunResult, RunTrigger } from '../store/runs.ts';

export type AnyProbeKind = ProbeKind<string, z.ZodType<ProbeDefinition>>;

export interface RunProbeOptions {
  trigger: RunTrigger;
  clock: Clock;
  log: Logger;
  services: ProbeServices;
  /** Aborts the run from outside (shutdown). */
  signal?: AbortSignal;
}

/**
 * Run one probe once, with its timeout. The one place where a probe's throw
 * becomes a failed run with a code and a message: a MailscopeError keeps its
 * code, anything else is a crash (a bug) and is logged with its stack. A probe
 * that ignores its abort signal is abandoned at the deadline; it cannot hold
 * the run, the scheduler or the other probes.
 */
export async function runProbe(definition: ProbeDefinition, probe: AnyProbeKind, options: RunProbeOptions): Promise<RunResult> {
  const log = options.log.child({ probe: definition.id, kind: definition.kind, trigger: options.trigger });
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(new MailscopeError('PROBE_TIMEOUT', `no result within the probe's timeout of ${definition.timeout} ms`));
  }, definition.timeout);
  const onOuterAbort = () => controller.abort(new MailscopeError('PROBE_ABORTED', 'the run was stopped before it finished (shutdown)'));
  if (options.signal?.aborted) onOuterAbort();
  else options.signal?.addEventListener('abort', onOuterAbort, { once: true });

  const startedAt = options.clock.now();
  const started = performance.now();
  let observations: RunResult['observations'] = [];
  let error: RunResult['error'];
  try {
    controller.signal.throwIfAborted();
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    const ctx = { ...options.services, clock: options.clock, log, signal: controller.signal };
    observations = await Promise.race([probe.run(definition, ctx), aborted]);
    if (!Array.isArray(observations)) {
      throw new TypeError(`probe returned ${typeof observations} instead of an array of observations`);
    }
  } catch (thrown) {
    // Whatever the probe threw after its deadline, the deadline is the reason.
    const cause = controller.signal.aborted ? controller.signal.reason : thrown;
    observations = [];
    if (cause instanceof MailscopeError) {
      error = { code: cause.code, message: cause.message };
      log.warn({ code: cause.code, reason: cause.message }, 'probe run failed');
    } else {
      error = { code: 'PROBE_CRASHED', message: `the probe failed unexpectedly: ${messageOf(cause)}` };
      log.error({ err: cause }, 'probe crashed');
    }
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onOuterAbort);
  }
  const durationMs = performance.now() - started;
  return {
    probeId: definition.id,
    kind: definition.kind,
    trigger: options.trigger,
    startedAt,
    finishedAt: options.clock.now(),
    durationMs,
    success: error === undefined,
    ...(error ? { error } : {}),
    observations,
  };
}
