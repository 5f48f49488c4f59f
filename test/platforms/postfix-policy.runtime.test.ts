/**
 * The postfix-policy kind owns its runtime: `runtime.start` serves Postfix's
 * policy protocol and asks only a SendPolicy (no store, no control service: a
 * fake one here), and `runtime.holdQueue` looks at and releases from Postfix's
 * hold queue through postqueue and postsuper (scripts standing in for them here;
 * test/controls/release.test.ts runs the lab's real ones).
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { HeldMail, PolicyVerdict, SendPolicy } from '../../src/platforms/define.ts';
import { findPlatform, platformConfigSchema, platforms } from '../../src/platforms/index.ts';
import { postfixPolicy } from '../../src/platforms/postfix-policy.ts';
import { releaseTargetsOf } from '../../src/controls/release.ts';
import { captureLog } from '../helpers/log.ts';
import { tempDir } from '../helpers/temp.ts';

const runtime = postfixPolicy.runtime!;

/** A policy that answers `verdict` and remembers what it was asked. */
function fakePolicy(verdict: PolicyVerdict, failMode: 'open' | 'closed' = 'open') {
  const asked: unknown[] = [];
  const held: HeldMail[] = [];
  const policy: SendPolicy = {
    decide: (traffic) => {
      asked.push(traffic);
      return verdict;
    },
    failMode,
    held: (message) => void held.push(message),
  };
  return { policy, asked, held };
}

function ask(port: number, requests: Record<string, string>[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () =>
      socket.write(
        requests
          .map(
            (request) =>
              `${Object.entries(request)
                .map(([name, value]) => `${name}=${value}`)
                .join('\n')}\n\n`,
          )
          .join(''),
      ),
    );
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      const replies = text.split('\n\n').filter(Boolean);
      if (replies.length === requests.length) {
        socket.destroy();
        resolve(replies);
      }
    });
    socket.on('error', reject);
  });
}

const config = (extra: Record<string, unknown> = {}) => postfixPolicy.configSchema.parse({ id: 'mta', kind: 'postfix-policy', listen: '127.0.0.1:0', ...extra });

describe('the postfix-policy runtime', () => {
  it('is the only registered kind with a runtime today; push kinds have none', () => {
    expect(platforms.filter((platform) => platform.runtime).map((platform) => platform.kind)).toEqual(['postfix-policy']);
    expect(findPlatform('kumomta')?.runtime).toBeUndefined();
  });

  it('answers Postfix from the SendPolicy it is given: HOLD, and the held message handed back with its queue id', async () => {
    const pause = { id: 'c-1', scope: { ip: '127.0.0.14' }, reason: 'listed' };
    const { policy, asked, held } = fakePolicy({ action: 'pause', control: pause });
    const logs = captureLog();
    const running = await runtime.start(config(), { policy, log: logs.log });
    onTestFinished(() => running.stop());
    expect(running.address).toMatchObject({ host: '127.0.0.1', port: expect.any(Number) });
    const rcpt = { request: 'smtpd_access_policy', protocol_state: 'RCPT', sender: 'a@sender.test', recipient: 'b@gmail.test', instance: 'i.1', policy_context: 'ip=127.0.0.14' };
    const replies = await ask(running.address.port, [rcpt, { ...rcpt, protocol_state: 'END-OF-MESSAGE', recipient: '', queue_id: '4XyZ1234AB' }]);
    expect(replies).toEqual(['action=HOLD paused by Mailscope (ip=127.0.0.14): listed', 'action=DUNNO']);
    expect(asked).toEqual([{ ip: '127.0.0.14', from_domain: 'sender.test', rcpt_domain: 'gmail.test' }]);
    expect(held).toEqual([{ id: '4XyZ1234AB', controlId: 'c-1', traffic: { ip: '127.0.0.14', from_domain: 'sender.test', rcpt_domain: 'gmail.test' } }]);
    expect(logs.entries().find((entry) => entry.msg === 'message held')).toMatchObject({ queueId: '4XyZ1234AB', control: 'c-1' });
  });

  it("DEFER_IF_PERMIT over a throttle's rate; a malformed request answered per the policy's fail mode; stop closes the port", async () => {
    const { policy } = fakePolicy({ action: 'over-rate', control: { id: 'c-2', scope: { provider: 'gmail' }, reason: 'slow down', ratePerMinute: 5 } }, 'closed');
    const running = await runtime.start(config({ maxConnections: 5 }), { policy, log: captureLog().log });
    const replies = await ask(running.address.port, [{ protocol_state: 'RCPT', recipient: 'b@gmail.test' }]);
    expect(replies).toEqual(['action=DEFER_IF_PERMIT 4.7.1 Mailscope throttle (provider=gmail, 5/min): try again later']);
    await running.stop();
    await expect(ask(running.address.port, [{ protocol_state: 'RCPT' }])).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('has a hold queue only when release: is set', () => {
    expect(runtime.holdQueue!(config())).toBeUndefined();
    expect(runtime.holdQueue!(config({ release: { postsuper: '/bin/true', postqueue: '/bin/true' } }))?.releasedBy).toBe('postsuper -H');
  });
});

describe("Postfix's hold queue", () => {
  /** A postqueue and a postsuper that print a fixed queue and record their arguments and input. */
  function fakePostfix(queue: Record<string, string>) {
    const dir = tempDir();
    const script = (name: string, body: string) => {
      const file = join(dir, name);
      writeFileSync(file, `#!/bin/sh\necho "$@" >> ${join(dir, 'calls')}\n${body}\n`);
      chmodSync(file, 0o755);
      return file;
    };
    const lines = Object.entries(queue).map(([id, name]) => JSON.stringify({ queue_id: id, queue_name: name }));
    const postqueue = script('postqueue', `case "$3" in -j) printf '%s\\n' ${lines.map((line) => `'${line}'`).join(' ')} ;; esac`);
    const postsuper = script('postsuper', `cat >> ${join(dir, 'stdin')}`);
    return {
      release: { configDir: '/etc/postfix-test', postqueue, postsuper },
      calls: () => readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n'),
      stdin: () => readFileSync(join(dir, 'stdin'), 'utf8'),
    };
  }

  it("lists each message as held, arriving or queued (with Postfix's queue name), releases with postsuper -H and asks postqueue -i", async () => {
    const postfix = fakePostfix({ AAAA11111A: 'hold', BBBB22222B: 'incoming', CCCC33333C: 'maildrop', DDDD44444D: 'deferred' });
    const queue = runtime.holdQueue!(config({ release: postfix.release }))!;
    const ctx = { signal: new AbortController().signal, timeoutMs: 5_000 };
    expect(Object.fromEntries(await queue.list(ctx))).toEqual({
      AAAA11111A: { state: 'held', where: 'hold' },
      BBBB22222B: { state: 'arriving', where: 'incoming' },
      CCCC33333C: { state: 'arriving', where: 'maildrop' },
      DDDD44444D: { state: 'queued', where: 'deferred' },
    });
    await queue.release(['AAAA11111A'], ctx);
    expect(await queue.deliverNow(['AAAA11111A', 'not an id'], ctx)).toEqual(['not an id']);
    expect(postfix.stdin()).toBe('AAAA11111A\n');
    expect(postfix.calls()).toEqual(['-c /etc/postfix-test -j', '-c /etc/postfix-test -H -', '-c /etc/postfix-test -i AAAA11111A']);
  });

  it('is released from for exactly the configured platforms whose kind has one and whose config allows it', () => {
    const release = { postsuper: '/bin/true', postqueue: '/bin/true' };
    const configured = [config({ id: 'with-release', release }), config({ id: 'by-hand' }), platformConfigSchema.parse({ id: 'kumo', kind: 'kumomta', url: 'http://127.0.0.1:8000' })];
    expect(releaseTargetsOf(configured).map((target) => [target.id, target.queue.releasedBy])).toEqual([['with-release', 'postsuper -H']]);
  });
});
