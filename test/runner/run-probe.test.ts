import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { MailscopeError } from '../../src/core/errors.ts';
import { runProbe } from '../../src/runner/run-probe.ts';
import { captureLog } from '../helpers/log.ts';
import { unitServices } from '../helpers/services.ts';
import { definition, testKind, upObservation } from '../helpers/probes.ts';

const clock = new ManualClock('2026-11-23T10:00:00Z');

function options(extra: { signal?: AbortSignal } = {}) {
  const captured = captureLog();
  return { captured, options: { trigger: 'schedule' as const, clock, log: captured.log, services: unitServices(), ...extra } };
}

describe('runProbe: the one place a throw becomes a failed run', () => {
  it('returns what the probe observed, with timing', async () => {
    const kind = testKind('ok', async (_d, ctx) => [upObservation(ctx)]);
    const result = await runProbe(definition('p', 'ok'), kind, options().options);
    expect(result).toMatchObject({ probeId: 'p', kind: 'ok', trigger: 'schedule', success: true, startedAt: clock.now() });
    expect(result.error).toBeUndefined();
    expect(result.observations).toHaveLength(1);
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('keeps the code of a MailscopeError: could not measure', async () => {
    const kind = testKind('blind', async () => {
      throw new MailscopeError('TARGET_UNRESOLVED', 'cannot resolve mx.example.test');
    });
    const result = await runProbe(definition('p', 'blind'), kind, options().options);
    expect(result).toMatchObject({ success: false, error: { code: 'TARGET_UNRESOLVED', message: 'cannot resolve mx.example.test' }, observations: [] });
  });

  it('turns any other throw into PROBE_CRASHED and logs its stack', async () => {
    const kind = testKind('buggy', async () => {
      throw new TypeError("Cannot read properties of undefined (reading 'x')");
    });
    const { captured, options: opts } = options();
    const result = await runProbe(definition('p', 'buggy'), kind, opts);
    expect(result.error).toEqual({ code: 'PROBE_CRASHED', message: "the probe failed unexpectedly: Cannot read properties of undefined (reading 'x')" });
    const entry = captured.entries().find((e) => e.msg === 'probe crashed');
    expect(entry).toMatchObject({ level: 'error', probe: 'p', kind: 'buggy' });
    expect(String((entry?.err as { stack?: string })?.stack)).toContain('TypeError');
  });

  it('abandons a probe that hangs and ignores its signal, at its timeout', async () => {
    const kind = testKind('hang', () => new Promise(() => {}));
    const result = await runProbe(definition('p', 'hang', { timeout: 200 }), kind, options().options);
    expect(result.error).toEqual({ code: 'PROBE_TIMEOUT', message: "no result within the probe's timeout of 200 ms" });
    expect(result.durationMs).toBeGreaterThanOrEqual(190);
  });

  it('reports the timeout, not the probe’s own complaint, when the probe reacts to the abort', async () => {
    let sawAbort = false;
    const kind = testKind(
      'polite',
      (_d, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            sawAbort = true;
            reject(new Error('socket destroyed'));
          });
        }),
    );
    const result = await runProbe(definition('p', 'polite', { timeout: 100 }), kind, options().options);
    expect(sawAbort).toBe(true);
    expect(result.error?.code).toBe('PROBE_TIMEOUT');
  });

  it('stops with PROBE_ABORTED when aborted from outside (shutdown)', async () => {
    const shutdown = new AbortController();
    const kind = testKind('slow', () => new Promise(() => {}));
    const pending = runProbe(definition('p', 'slow', { timeout: 60_000 }), kind, options({ signal: shutdown.signal }).options);
    setTimeout(() => shutdown.abort(), 50);
    const result = await pending;
    expect(result.error).toEqual({ code: 'PROBE_ABORTED', message: 'the run was stopped before it finished (shutdown)' });
  });

  it('does not start a probe when already aborted', async () => {
    let started = false;
    const kind = testKind('never', async () => {
      started = true;
      return [];
    });
    const result = await runProbe(definition('p', 'never'), kind, options({ signal: AbortSignal.abort() }).options);
    expect(result.error?.code).toBe('PROBE_ABORTED');
    expect(started).toBe(false);
  });

  it('rejects a probe result that is not a list of observations', async () => {
    const kind = testKind('weird', async () => ({ not: 'a list' }) as never);
    const result = await runProbe(definition('p', 'weird'), kind, options().options);
    expect(result.error).toEqual({ code: 'PROBE_CRASHED', message: 'the probe failed unexpectedly: probe returned object instead of an array of observations' });
  });
});
