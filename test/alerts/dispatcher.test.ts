/**
 * The notification queue in a cluster (core/retry-queue.ts through the Dispatcher),
 * with a webhook channel to a receiver on loopback and a Duty the test drives: an
 * instance that does not lead sends nothing and leaves the notifications pending;
 * the one that leads sends each once, under its epoch (x-mailscope-fencing-token);
 * a delivery whose recording finds the lease lost stays pending, untouched, for the
 * next leader, and nothing crashes.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Dispatcher } from '../../src/alerts/dispatcher.ts';
import { ManualClock } from '../../src/core/clock.ts';
import type { Duty } from '../../src/core/duty.ts';
import { notifierConfigSchema } from '../../src/notifiers/index.ts';
import { enqueueNotification, listNotifications } from '../../src/store/alerts.ts';
import { Database } from '../../src/store/database.ts';
import { testDuty } from '../helpers/duty.ts';
import { captureLog } from '../helpers/log.ts';
import { sleep, waitFor } from '../helpers/probes.ts';
import { httpServer } from '../helpers/servers.ts';

interface Received {
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

async function setup(duty?: Duty) {
  const received: Received[] = [];
  const { url } = await httpServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      received.push({ headers: request.headers, body: JSON.parse(body) as Record<string, unknown> });
      response.writeHead(204).end();
    });
  });
  const db = Database.open(':memory:');
  const clock = new ManualClock('2026-12-06T10:00:00Z');
  const log = captureLog();
  const channel = notifierConfigSchema.parse({ id: 'ops-hook', kind: 'webhook', url: `${url}/notify` });
  const dispatcher = new Dispatcher({
    db,
    channels: [channel],
    clock,
    log: log.log,
    retry: { minMs: 50, maxMs: 200, attempts: 3, timeoutMs: 2_000, jitter: 0 },
    ...(duty ? { duty } : {}),
  });
  onTestFinished(async () => {
    await dispatcher.stop();
    db.close();
  });
  const id = enqueueNotification(db, {
    alertId: '9f2c4e1a0b7d3c55',
    channel: 'ops-hook',
    event: 'firing',
    payload: { event: 'firing', at: clock.now().toISOString(), alert: { id: '9f2c4e1a0b7d3c55', rule: 'ip-listed', severity: 'critical', state: 'firing' }, links: {} },
    at: clock.now().getTime(),
  });
  const row = () => listNotifications(db, { limit: 10 }).find((notification) => notification.id === id)!;
  return { db, dispatcher, received, log, id, row };
}

describe('Dispatcher in a cluster', () => {
  it('sends nothing while this instance does not lead, and leaves the notification pending; once it leads, sends it once under its epoch', async () => {
    const duty = testDuty({ leading: false, epoch: 7 });
    const { dispatcher, received, row, id } = await setup(duty);

    await dispatcher.dispatchOnce();
    dispatcher.start();
    await sleep(300);
    expect(received).toEqual([]);
    expect(row()).toMatchObject({ status: 'pending', attempts: 0 });
    expect(row()).not.toHaveProperty('lastError');
    expect(duty.fences).toBe(0);

    // The lease came to this instance: its queue looks again within a second.
    duty.leading = true;
    await waitFor(() => row().status === 'sent', 'the notification sent', 5_000);
    await sleep(200);
    expect(received).toHaveLength(1);
    expect(received[0]!.headers['x-mailscope-fencing-token']).toBe('7');
    expect(received[0]!.headers['x-mailscope-delivery']).toBe(String(id));
    expect(row()).toMatchObject({ status: 'sent', attempts: 1 });
    // Its recording was fenced.
    expect(duty.fences).toBe(1);
  });

  it('alone (epoch 0), a delivery carries no fencing token', async () => {
    const { dispatcher, received, row } = await setup();
    await dispatcher.dispatchOnce();
    expect(received).toHaveLength(1);
    expect(received[0]!.headers).not.toHaveProperty('x-mailscope-fencing-token');
    expect(received[0]!.headers['x-mailscope-event']).toBe('alert.firing');
    expect(row()).toMatchObject({ status: 'sent', attempts: 1 });
  });

  it('sent, but the lease was lost before it was recorded: it stays pending, neither sent nor failed, its attempts unchanged', async () => {
    const duty = testDuty({ leading: true, epoch: 3, lost: true });
    const { dispatcher, received, row, log } = await setup(duty);

    await expect(dispatcher.dispatchOnce()).resolves.toBeUndefined();
    expect(received).toHaveLength(1);
    expect(received[0]!.headers['x-mailscope-fencing-token']).toBe('3');
    expect(row()).toMatchObject({ status: 'pending', attempts: 0 });
    expect(row()).not.toHaveProperty('lastError');
    expect(row()).not.toHaveProperty('sentAt');
    const said = log.entries().filter((entry) => entry.component === 'notifications' && ['warn', 'error', 'fatal'].includes(String(entry.level)));
    expect(said.map((entry) => entry.msg)).toEqual(["notification not recorded: this instance lost the cluster's lease"]);
    expect(said[0]).toMatchObject({ attempt: 1, reason: 'the leader lease passed to another instance (epoch 3 is over)' });
  });

  it('on its timer, a lost lease crashes nothing: the notification waits, and the next time this instance leads it is sent and recorded', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    onTestFinished(() => void process.off('unhandledRejection', onUnhandled));
    const duty = testDuty({ leading: true, epoch: 4, lost: true });
    // As the cluster's lease does: the fence that finds it lost, finds this instance no longer leading.
    duty.onFence = () => {
      if (duty.lost) duty.leading = false;
    };
    const { dispatcher, received, row, log } = await setup(duty);

    dispatcher.start();
    await waitFor(() => log.entries().some((entry) => entry.msg === "notification not recorded: this instance lost the cluster's lease"), 'the lost lease logged', 5_000);
    await sleep(300);
    expect(received).toHaveLength(1);
    expect(row()).toMatchObject({ status: 'pending', attempts: 0 });

    // Leading again, with a new epoch.
    duty.epoch = 5;
    duty.lost = false;
    duty.leading = true;
    await waitFor(() => row().status === 'sent', 'the notification sent again', 5_000);
    expect(received.map((request) => request.headers['x-mailscope-fencing-token'])).toEqual(['4', '5']);
    expect(row()).toMatchObject({ status: 'sent', attempts: 1 });
    expect(unhandled).toEqual([]);
    expect(log.entries().filter((entry) => ['error', 'fatal'].includes(String(entry.level)))).toEqual([]);
  });
});
