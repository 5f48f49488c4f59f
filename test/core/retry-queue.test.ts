/**
 * The retry queue on its own timer, over a store that stops answering for a while
 * (PostgreSQL away, a statement past its timeout): nothing crashes, the failure is
 * logged, and once the store answers again the waiting item is delivered.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { MailscopeError } from '../../src/core/errors.ts';
import { type QueueItem, RetryQueue } from '../../src/core/retry-queue.ts';
import { captureLog } from '../helpers/log.ts';
import { sleep, waitFor } from '../helpers/probes.ts';

/** Unhandled rejections and uncaught exceptions while the test runs (either would end the process of `mailscope run`). */
function crashes(): unknown[] {
  const seen: unknown[] = [];
  const record = (error: unknown) => void seen.push(error);
  process.on('unhandledRejection', record);
  process.on('uncaughtException', record);
  onTestFinished(() => {
    process.off('unhandledRejection', record);
    process.off('uncaughtException', record);
  });
  return seen;
}

describe('RetryQueue', () => {
  it('survives a store that does not answer: says so, looks again, and delivers once the store answers', async () => {
    const crashed = crashes();
    const log = captureLog();
    const store = { down: true, looks: 0 };
    const ask = <T>(answer: () => T): T => {
      store.looks += 1;
      if (store.down) throw new MailscopeError('STORE_UNAVAILABLE', 'the store did not answer within 5000 ms');
      return answer();
    };
    const items: QueueItem[] = [{ id: 1, attempts: 0 }];
    const delivered: number[] = [];
    const waiting = () => items.filter((item) => !delivered.includes(item.id));
    const queue = new RetryQueue<QueueItem>({
      what: 'test item',
      clock: new ManualClock('2026-12-06T10:00:00Z'),
      log: log.log,
      retry: { minMs: 50, maxMs: 200, attempts: 3, timeoutMs: 2_000, jitter: 0 },
      store: { due: () => ask(waiting), nextAt: () => ask(() => (waiting().length > 0 ? 0 : undefined)) },
      worker: {
        attempt: async (item) => void delivered.push(item.id),
        failed: () => {
          throw new Error('no attempt fails here');
        },
        describe: (item) => ({ item: item.id }),
      },
    });
    onTestFinished(() => queue.stop());

    queue.start();
    await sleep(2_500);
    expect(crashed).toEqual([]);
    expect(delivered).toEqual([]);
    // It kept looking, about once a second, and said why nothing moved.
    const looksWhileDown = store.looks;
    expect(looksWhileDown).toBeGreaterThanOrEqual(4);
    expect(looksWhileDown).toBeLessThan(20);
    const said = log.entries().filter((entry) => entry.msg === 'test item queue could not be read; trying again');
    expect(said.length).toBeGreaterThanOrEqual(2);
    expect(said[0]).toMatchObject({ level: 'error', err: { code: 'STORE_UNAVAILABLE' } });

    store.down = false;
    await waitFor(() => delivered.length > 0, 'the item delivered', 5_000);
    await sleep(200);
    expect(delivered).toEqual([1]);
    expect(crashed).toEqual([]);
  });
});
