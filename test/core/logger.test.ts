import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, prettyDestination, resolveLogFormat } from '../../src/core/logger.ts';
import { Secret } from '../../src/core/secret.ts';

// Made the way configuration parsing makes them: a value never to emit.
const token = new Secret('pretty-tok-SECRET-0001-abcdefgh');
const password = new Secret('pa ss "pretty" SECRET-0002');

/** A pretty logger writing into a string, as it would to a terminal. */
function prettyLog(colorize: boolean) {
  let text = '';
  const to = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  const log = createLogger({ level: 'trace', destination: prettyDestination(to, { colorize }) });
  return { log, text: () => text };
}

describe('log formats', () => {
  it('auto is pretty on a terminal and JSON elsewhere; json and pretty are what they say', () => {
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat('auto', false)).toBe('json');
    expect(resolveLogFormat('json', true)).toBe('json');
    expect(resolveLogFormat('pretty', false)).toBe('pretty');
  });

  it('pretty: one line per message (time, level, component, message), the other fields below it; written at once', () => {
    const { log, text } = prettyLog(false);
    log.child({ component: 'runner' }).warn({ probe: 'smtp', attempts: 2 }, 'probe failed');
    expect(text()).toMatch(/^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}\] WARN: runner: probe failed\n {4}probe: "smtp"\n {4}attempts: 2\n$/);
    log.info('started');
    expect(text().split('\n').at(-2)).toMatch(/^\[.*\] INFO: started$/);
    expect(text()).not.toContain('mailscope');
    expect(text()).not.toContain('\u001b');
  });

  it('pretty: colours only when asked', () => {
    const { log, text } = prettyLog(true);
    log.error('bad');
    expect(text()).toContain('\u001b[31mERROR\u001b[39m');
  });

  it('pretty: a configured secret never reaches the output, in any field, the message or an error, nor a secret-named key', () => {
    const { log, text } = prettyLog(true);
    log.warn({ reason: `HTTP 401 for ${token.reveal()}`, nested: { deep: [`x ${encodeURIComponent(password.reveal())}`] } }, `refused ${token.reveal()}`);
    log.error({ err: new Error(`login as ${password.reveal()} refused`) }, 'crashed');
    log.info({ password: 'not-configured-but-named-so', token }, 'credentials');
    const output = text();
    expect(output).not.toContain('SECRET');
    expect(output).not.toContain('not-configured-but-named-so');
    expect(output).toContain('refused [redacted]');
    expect(output).toContain('HTTP 401 for [redacted]');
    expect(output).toContain('login as [redacted] refused');
    expect(output.match(/\[redacted\]/g)?.length).toBeGreaterThanOrEqual(6);
  });
});
