/**
 * Controls pushed to platforms, end to end over a real store and real HTTP
 * receivers: applied where the platform can, skipped with the reason where it
 * cannot, retried after a 500, lifted with what the apply returned, a lift never
 * overtaking its apply, and a push that fails for good visible on the control.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Pusher, pushTargetsOf } from '../../src/controls/pusher.ts';
import { ControlService } from '../../src/controls/service.ts';
import { ManualClock, systemClock } from '../../src/core/clock.ts';
import { platformConfigSchema } from '../../src/platforms/index.ts';
import { pushesOf } from '../../src/store/controls.ts';
import { Database } from '../../src/store/database.ts';
import { captureLog } from '../helpers/log.ts';
import { waitFor } from '../helpers/probes.ts';
import { httpServer } from '../helpers/servers.ts';
import { tempDir } from '../helpers/temp.ts';

async function body(request: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of request) text += String(chunk);
  return text;
}

async function rig(handlers: { hook: (request: IncomingMessage, response: ServerResponse, text: string) => void; kumo: (request: IncomingMessage, response: ServerResponse, text: string) => void }) {
  const hook = await httpServer((request, response) => void body(request).then((text) => handlers.hook(request, response, text)));
  const kumo = await httpServer((request, response) => void body(request).then((text) => handlers.kumo(request, response, text)));
  const platforms = [
    platformConfigSchema.parse({ id: 'ops-hook', kind: 'webhook', url: hook.url, secret: 'a-signing-secret-of-32-characters' }),
    platformConfigSchema.parse({ id: 'kumo', kind: 'kumomta', url: kumo.url.replace(/\/$/, '') }),
  ];
  const db = Database.open(tempDir());
  const log = captureLog().log;
  const controls = new ControlService({ db, clock: systemClock, log, settings: { failMode: 'open', providers: new Map() }, platforms: pushTargetsOf(platforms) });
  const pusher = new Pusher({ db, platforms, clock: systemClock, log, retry: { minMs: 50, maxMs: 200, attempts: 3, timeoutMs: 2_000, jitter: 0 } });
  controls.onChange(() => pusher.wake());
  pusher.start();
  onTestFinished(async () => {
    await pusher.stop();
    db.close();
  });
  return { db, controls };
}

const summary = (db: Database, id: string) => pushesOf(db, id).map((push) => `${push.platform} ${push.operation} ${push.status} ${push.attempts}${push.lastError ? `: ${push.lastError}` : ''}`);

describe('pushing controls to platforms', () => {
  it('applies and lifts at each platform that can, with the apply’s ref; a 500 is retried; an IP scope skips KumoMTA with the reason', async () => {
    const seen: string[] = [];
    let hookFailures = 1;
    const { db, controls } = await rig({
      hook(request, response, text) {
        const event = String(request.headers['x-mailscope-event']);
        if (hookFailures-- > 0) return void response.writeHead(500).end('busy');
        seen.push(`hook ${event} ${(JSON.parse(text) as { control: { scope: Record<string, string> } }).control.scope.rcpt_domain ?? 'ip'}`);
        response.writeHead(200).end();
      },
      kumo(request, response, text) {
        const json = JSON.parse(text) as Record<string, unknown>;
        seen.push(`kumo ${request.method} ${request.url} ${request.method === 'POST' ? String(json.domain) : String(json.id)}`);
        if (request.method === 'POST') return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: '0f8c2f5e-3f1a-4b7e-9a51-2d6f1c0b9e11' }));
        response.writeHead(200).end('removed');
      },
    });
    const domain = controls.create({ action: 'pause', scope: { rcpt_domain: 'gmail.com' }, reason: 'gmail blocks us', source: 'token:ops', actor: 'ops' }).control;
    const ip = controls.create({ action: 'pause', scope: { ip: '192.0.2.11' }, reason: 'listed', source: 'token:ops', actor: 'ops' }).control;
    await waitFor(() => pushesOf(db, domain.id).every((push) => push.status === 'done' || push.operation === 'renew') && pushesOf(db, ip.id).every((push) => push.status !== 'pending'), 'the applies');
    controls.lift(domain.id, 'ops', 'unblocked');
    await waitFor(() => pushesOf(db, domain.id).every((push) => push.status !== 'pending'), 'the lifts');
    expect(summary(db, ip.id)).toEqual(['ops-hook apply done 1', expect.stringMatching(/^kumo apply skipped 0: .*ip/)]);
    // KumoMTA's suspension lasts at most maxDuration (7d): a renewal waited, and the lift made it moot.
    expect(summary(db, domain.id)).toEqual([
      'ops-hook apply done 2',
      'kumo apply done 1',
      'kumo renew skipped 0: the control was lifted before its renewal',
      'ops-hook lift done 1',
      'kumo lift done 1',
    ]);
    expect(pushesOf(db, domain.id).find((push) => push.platform === 'kumo' && push.operation === 'apply')?.ref).toBe('0f8c2f5e-3f1a-4b7e-9a51-2d6f1c0b9e11');
    expect(seen.filter((line) => line.startsWith('kumo'))).toEqual(['kumo POST /api/admin/suspend/v1 gmail.com', 'kumo DELETE /api/admin/suspend/v1 0f8c2f5e-3f1a-4b7e-9a51-2d6f1c0b9e11']);
    expect(seen.filter((line) => line.includes('gmail.com') && line.startsWith('hook'))).toEqual(['hook control.pause gmail.com', 'hook control.resume gmail.com']);
  });

  it('a push that fails for good is visible on the control, and its lift has nothing to do', async () => {
    const { db, controls } = await rig({
      hook: (_request, response) => response.writeHead(200).end(),
      kumo: (_request, response) => response.writeHead(403).end('Trusted IP required'),
    });
    const control = controls.create({ action: 'pause', scope: { rcpt_domain: 'yahoo.com' }, reason: 'yahoo deferrals', source: 'token:ops', actor: 'ops' }).control;
    await waitFor(() => pushesOf(db, control.id).every((push) => push.status !== 'pending'), 'the applies');
    controls.lift(control.id, 'ops', 'better');
    await waitFor(() => pushesOf(db, control.id).every((push) => push.status !== 'pending'), 'the lifts');
    expect(summary(db, control.id)).toEqual(['ops-hook apply done 1', 'kumo apply failed 1: KumoMTA: HTTP 403: Trusted IP required', 'ops-hook lift done 1']);
  });

  it('KumoMTA: a suspension is renewed before maxDuration runs out, not when it covers the expiry; the lift deletes every id', async () => {
    const clock = new ManualClock('2026-11-24T10:00:00Z');
    const seen: string[] = [];
    let next = 0;
    const kumo = await httpServer(
      (request, response) =>
        void body(request).then((text) => {
          const json = JSON.parse(text) as Record<string, string>;
          if (request.method === 'POST') {
            const id = `0f8c2f5e-3f1a-4b7e-9a51-2d6f1c0b9e1${next++}`;
            seen.push(`POST ${json.domain} ${json.duration} → ${id.slice(-2)}`);
            return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id }));
          }
          seen.push(`DELETE ${json.id!.slice(-2)}`);
          response.writeHead(json.id!.endsWith('10') ? 404 : 200).end();
        }),
    );
    const platforms = [platformConfigSchema.parse({ id: 'kumo', kind: 'kumomta', url: kumo.url.replace(/\/$/, ''), maxDuration: '1h' })];
    const db = Database.open(tempDir());
    const log = captureLog().log;
    const controls = new ControlService({ db, clock, log, settings: { failMode: 'open', providers: new Map() }, platforms: pushTargetsOf(platforms) });
    const pusher = new Pusher({ db, platforms, clock, log, retry: { minMs: 50, maxMs: 200, attempts: 3, timeoutMs: 2_000, jitter: 0 } });
    onTestFinished(async () => {
      await pusher.stop();
      db.close();
    });
    const settled = async (id: string, count: number) => {
      await waitFor(() => pushesOf(db, id).filter((push) => push.status !== 'pending').length >= count, `${count} pushes settled`);
    };
    const long = controls.create({ action: 'pause', scope: { rcpt_domain: 'gmail.com' }, reason: 'blocked', source: 'token:ops', actor: 'ops' }).control;
    const short = controls.create({
      action: 'pause',
      scope: { rcpt_domain: 'yahoo.com' },
      reason: 'deferrals',
      source: 'token:ops',
      actor: 'ops',
      expiresAt: clock.now().getTime() + 1_800_000,
    }).control;
    await pusher.dispatchOnce();
    await settled(long.id, 1);
    await settled(short.id, 1);
    // 54 minutes later (nine tenths of maxDuration): renewed, and the next renewal queued.
    clock.advance(54 * 60_000);
    await pusher.dispatchOnce();
    await settled(long.id, 2);
    controls.lift(long.id, 'ops', 'unblocked');
    await pusher.dispatchOnce();
    await settled(long.id, 4);
    expect(summary(db, long.id)).toEqual(['kumo apply done 1', 'kumo renew done 1', 'kumo renew skipped 0: the control was lifted before its renewal', 'kumo lift done 1']);
    expect(summary(db, short.id)).toEqual(['kumo apply done 1']);
    expect(seen).toEqual(['POST gmail.com 3600s → 10', 'POST yahoo.com 1800s → 11', 'POST gmail.com 3600s → 12', 'DELETE 12', 'DELETE 10']);
  });

  it('KumoMTA: lifted while its suspension was on its way: no renewal is queued, and the lift deletes the id the platform gave', async () => {
    const seen: string[] = [];
    let answer: () => void = () => {};
    const answered = new Promise<void>((resolve) => (answer = resolve));
    const { db, controls } = await rig({
      hook: (_request, response) => response.writeHead(200).end(),
      kumo(request, response, text) {
        const json = JSON.parse(text) as Record<string, string>;
        if (request.method === 'POST') {
          seen.push('POST');
          // Lifted while the platform is still answering.
          return void answered.then(() => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: '0f8c2f5e-3f1a-4b7e-9a51-2d6f1c0b9e11' })));
        }
        seen.push(`DELETE ${json.id}`);
        response.writeHead(200).end();
      },
    });
    const control = controls.create({ action: 'pause', scope: { rcpt_domain: 'gmail.com' }, reason: 'blocked', source: 'token:ops', actor: 'ops' }).control;
    await waitFor(() => seen.includes('POST'), 'the suspension request');
    controls.lift(control.id, 'ops', 'unblocked');
    answer();
    await waitFor(() => pushesOf(db, control.id).every((push) => push.status !== 'pending'), 'the lift');
    expect(summary(db, control.id).filter((line) => line.startsWith('kumo'))).toEqual(['kumo apply done 1', 'kumo lift done 1']);
    expect(seen).toEqual(['POST', 'DELETE 0f8c2f5e-3f1a-4b7e-9a51-2d6f1c0b9e11']);
  });

  it('an apply waits for the lift of an earlier control with the same scope at that platform', async () => {
    const seen: string[] = [];
    let deleteFailures = 1;
    const { db, controls } = await rig({
      hook: (_request, response) => response.writeHead(200).end(),
      kumo(request, response, text) {
        const json = JSON.parse(text) as Record<string, string>;
        if (request.method === 'POST') {
          seen.push(`POST ${json.reason!.split(' ')[2]}`);
          return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: randomUUID() }));
        }
        seen.push(`DELETE${deleteFailures > 0 ? ' (500)' : ''}`);
        response.writeHead(deleteFailures-- > 0 ? 500 : 200).end();
      },
    });
    const first = controls.create({ action: 'pause', scope: { rcpt_domain: 'gmail.com' }, reason: 'blocked', source: 'token:ops', actor: 'ops' }).control;
    await waitFor(() => pushesOf(db, first.id).some((push) => push.platform === 'kumo' && push.status === 'done'), 'the first apply');
    controls.lift(first.id, 'ops', 'unblocked');
    const second = controls.create({ action: 'pause', scope: { rcpt_domain: 'gmail.com' }, reason: 'blocked again', source: 'token:ops', actor: 'ops' }).control;
    await waitFor(() => pushesOf(db, second.id).some((push) => push.platform === 'kumo' && push.status === 'done'), 'the second apply');
    expect(seen).toEqual([`POST ${first.id}`, 'DELETE (500)', 'DELETE', `POST ${second.id}`]);
    expect(pushesOf(db, second.id).find((push) => push.platform === 'kumo' && push.operation === 'apply')?.lastError).toBeUndefined();
  });
});
