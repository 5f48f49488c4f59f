/**
 * The Postfix policy service over TCP, speaking Postfix's protocol (name=value
 * lines, an empty line ends a request, several requests per connection): HOLD for
 * a paused scope and the held message recorded at END-OF-MESSAGE, DEFER_IF_PERMIT
 * once a throttle's rate is spent, DUNNO otherwise; malformed requests and
 * failures answered per the fail mode.
 */
import { connect, type Socket } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ControlService } from '../../src/controls/service.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { startPolicyServer, trafficOf } from '../../src/platforms/postfix-policy.ts';
import { heldBy } from '../../src/store/controls.ts';
import { Database } from '../../src/store/database.ts';
import { captureLog } from '../helpers/log.ts';
import { postfixPolicyAnswers } from '../helpers/platforms.ts';
import { tempDir } from '../helpers/temp.ts';

async function serve(failMode: 'open' | 'closed' = 'open', limits: { idleTimeoutMs?: number; maxConnections?: number } = {}) {
  const db = Database.open(tempDir());
  const clock = new ManualClock('2026-11-24T10:00:00Z');
  const logs = captureLog();
  const controls = new ControlService({ db, clock, log: logs.log, settings: { failMode, providers: new Map([['gmail.test', 'gmail']]) } });
  const server = await startPolicyServer({ listen: { host: '127.0.0.1', port: 0 }, ...limits, ...postfixPolicyAnswers({ platformId: 'mta', controls, db, clock, log: logs.log }) });
  onTestFinished(async () => {
    await server.close();
    db.close();
  });
  return { db, clock, controls, server, logs };
}

/** A Postfix-like client: one connection, requests one after another. */
async function client(port: number) {
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  onTestFinished(() => {
    socket.destroy();
  });
  socket.setEncoding('utf8');
  let buffer = '';
  const waiting: ((reply: string) => void)[] = [];
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const reply = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      waiting.shift()?.(reply);
    }
  });
  return {
    raw(text: string): Promise<string> {
      return new Promise((resolve) => {
        waiting.push(resolve);
        socket.write(text);
      });
    },
    ask(attributes: Record<string, string>): Promise<string> {
      return this.raw(
        `${Object.entries(attributes)
          .map(([name, value]) => `${name}=${value}`)
          .join('\n')}\n\n`,
      );
    },
  };
}

const rcpt = (instance: string, recipient: string, context = 'ip=127.0.0.14 pool=managed-a') => ({
  request: 'smtpd_access_policy',
  protocol_state: 'RCPT',
  protocol_name: 'ESMTP',
  client_address: '127.0.0.1',
  sender: 'news@sender.test',
  recipient,
  instance,
  queue_id: '',
  policy_context: context,
});

describe('Postfix policy service', () => {
  it('reads the scope from policy_context, the sender and the recipient', () => {
    expect(trafficOf({ policy_context: 'ip=127.0.0.14, pool=managed-a tenant=acme bogus=1', sender: 'News@Sender.test', recipient: 'seed@gmail.test' })).toEqual({
      ip: '127.0.0.14',
      pool: 'managed-a',
      tenant: 'acme',
      from_domain: 'Sender.test',
      rcpt_domain: 'gmail.test',
    });
  });

  it('HOLD for a paused scope (the held message recorded at END-OF-MESSAGE), DUNNO for other scopes, several requests on one connection', async () => {
    const { controls, server, db } = await serve();
    const pause = controls.create({ action: 'pause', scope: { ip: '127.0.0.14' }, reason: 'listed on lab-zen', source: 'token:ops', actor: 'ops' }).control;
    const postfix = await client(server.address.port);
    expect(await postfix.ask(rcpt('a.1', 'seed1@gmail.test'))).toBe('action=HOLD paused by Mailscope (ip=127.0.0.14): listed on lab-zen');
    expect(await postfix.ask({ ...rcpt('a.1', 'seed1@gmail.test'), protocol_state: 'END-OF-MESSAGE', recipient: '', queue_id: '4XyZ1234AB' })).toBe('action=DUNNO');
    expect(await postfix.ask(rcpt('b.1', 'seed1@gmail.test', 'ip=127.0.0.15 pool=managed-b'))).toBe('action=DUNNO');
    expect(await postfix.ask({ ...rcpt('b.1', ''), protocol_state: 'END-OF-MESSAGE', queue_id: '5QQQ' })).toBe('action=DUNNO');
    expect(heldBy(db, pause.id).map((held) => [held.platform, held.queueId, held.traffic])).toEqual([
      ['mta', '4XyZ1234AB', { ip: '127.0.0.14', pool: 'managed-a', from_domain: 'sender.test', rcpt_domain: 'gmail.test' }],
    ]);
  });

  it('DEFER_IF_PERMIT once a throttle has let its rate through; again after a minute', async () => {
    const { controls, server, clock } = await serve();
    controls.create({ action: 'throttle', scope: { provider: 'gmail' }, ratePerMinute: 2, reason: 'gmail deferring us', source: 'token:ops', actor: 'ops' });
    const postfix = await client(server.address.port);
    const replies = [];
    for (let i = 0; i < 3; i++) replies.push(await postfix.ask(rcpt(`t.${i}`, `seed${i}@gmail.test`)));
    expect(replies).toEqual(['action=DUNNO', 'action=DUNNO', 'action=DEFER_IF_PERMIT 4.7.1 Mailscope throttle (provider=gmail, 2/min): try again later']);
    expect(await postfix.ask(rcpt('o.1', 'someone@outlook.test'))).toBe('action=DUNNO');
    clock.advance(60_000);
    expect(await postfix.ask(rcpt('t.9', 'seed9@gmail.test'))).toBe('action=DUNNO');
  });

  it('a malformed request is answered per the fail mode, and the connection goes on', async () => {
    const open = await serve('open');
    const closed = await serve('closed');
    for (const { controls } of [open, closed]) controls.create({ action: 'pause', scope: { ip: '127.0.0.14', tenant: 'acme' }, reason: 'acme complaints', source: 'token:ops', actor: 'ops' });
    const openClient = await client(open.server.address.port);
    const closedClient = await client(closed.server.address.port);
    expect(await openClient.raw('this is not postfix\n\n')).toBe('action=DUNNO');
    expect(await closedClient.raw('this is not postfix\n\n')).toBe('action=DEFER_IF_PERMIT 4.3.0 Mailscope policy unavailable (not a name=value line: "this is not postfix")');
    // The tenant is not in the request: unknown. Open lets it go; closed holds it.
    expect(await openClient.ask(rcpt('u.1', 'seed1@gmail.test'))).toBe('action=DUNNO');
    expect(await closedClient.ask(rcpt('u.1', 'seed1@gmail.test'))).toBe('action=HOLD paused by Mailscope (ip=127.0.0.14 tenant=acme): acme complaints');
    expect(open.logs.entries().some((entry) => entry.msg === 'policy request could not be answered')).toBe(true);
  });

  it('a connection that says nothing, or stops halfway through a request, is closed after idleTimeout', async () => {
    const { server } = await serve('open', { idleTimeoutMs: 300 });
    const closedAfter = (text: string) =>
      new Promise<number>((resolve) => {
        const started = Date.now();
        const socket = connect(server.address.port, '127.0.0.1', () => socket.write(text));
        socket.on('error', () => undefined);
        socket.on('close', () => resolve(Date.now() - started));
        setTimeout(() => socket.destroy(), 5_000).unref();
      });
    const [silent, halfway] = await Promise.all([closedAfter(''), closedAfter('request=smtpd_access_policy\nprotocol_state=RCPT\n')]);
    expect(silent).toBeGreaterThanOrEqual(250);
    expect(silent).toBeLessThan(3_000);
    expect(halfway).toBeLessThan(3_000);
  });
});
