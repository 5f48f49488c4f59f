/**
 * The API as it listens: requests that never finish are closed after
 * http.requestTimeout; what Node's parser or Fastify's router refuse before a
 * route sees it is answered in the API's error shape, with its own code.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runningObservatory } from '../helpers/observatory.ts';
import { tempDir } from '../helpers/temp.ts';

const token = 'server-limits-admin-token-01';

async function listening(http = '') {
  const dir = tempDir();
  writeFileSync(join(dir, 'mailscope.yaml'), `dataDir: ./data\nhttp: { listen: "127.0.0.1:0"${http} }\ntokens: [{ name: root, role: admin, token: "${token}" }]\n`);
  mkdirSync(join(dir, 'probes'));
  const running = await runningObservatory(dir, { token, logLevel: 'warn' });
  return { port: running.observatory.address.port, running };
}

/** What the server writes back on one connection until it closes it (or `waitMs` passes). */
function exchange(port: number, text: string, waitMs = 5_000): Promise<{ answer: string; closed: boolean; ms: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ answer, closed: false, ms: Date.now() - started });
    }, waitMs);
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ answer, closed: true, ms: Date.now() - started });
    });
    socket.write(text);
  });
}

const bodyOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { code: string; message: string } };
const statusOf = (answer: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
const auth = `Authorization: Bearer ${token}\r\n`;

describe('requests that never finish', () => {
  it('200 connections that send headers and half a body, and 50 that send nothing, are answered 408 and closed after http.requestTimeout; the API still answers', async () => {
    const { port, running } = await listening(', requestTimeout: 1s');
    const half = `POST /v1/controls HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"action":"pause",`;
    const slow = await Promise.all([...Array.from({ length: 200 }, () => exchange(port, half)), ...Array.from({ length: 50 }, () => exchange(port, ''))]);
    expect(slow.every((result) => result.closed)).toBe(true);
    // Within the timeout and one look of the connection checker (a quarter of it), with room for a busy machine.
    expect(Math.max(...slow.map((result) => result.ms))).toBeLessThan(4_000);
    const halfAnswers = slow.slice(0, 200);
    expect(halfAnswers.every((result) => statusOf(result.answer) === 408)).toBe(true);
    expect(bodyOf(halfAnswers[0]!.answer)).toEqual({ error: { code: 'REQUEST_TIMEOUT', message: 'the request did not arrive in full within http.requestTimeout' } });
    expect((await running.api('/v1/controls')).status).toBe(200);
  });

  it('http.requestTimeout and http.maxConnections have a range', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'mailscope.yaml'), 'http: { requestTimeout: 100000000d, maxConnections: 0 }\n');
    const { cli } = await import('../helpers/cli.ts');
    const result = await cli(['config', 'check'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('http.requestTimeout: "100000000d" is longer than 3650d');
    expect(result.stderr).toContain('http.maxConnections: ');
  });
});

describe('errors before a route: the same shape, their own code', () => {
  it.each([
    ['a path segment of 20,000 characters (request line too large)', `GET /v1/controls/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n${auth}\r\n`, 431, 'HEADERS_TOO_LARGE'],
    ['a header of 20,000 characters', `GET /v1/controls HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n${auth}\r\n`, 431, 'HEADERS_TOO_LARGE'],
    ['a path segment of 300 characters', `GET /v1/controls/${'a'.repeat(300)} HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`, 414, 'URI_TOO_LONG'],
    ['a malformed %-escape', `GET /v1/controls/%E0%A4%A HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`, 400, 'BAD_REQUEST'],
    ['NUL in the path', `GET /v1/controls/%00 HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`, 400, 'BAD_REQUEST'],
    ['bytes that are not HTTP', 'GARBAGE\r\n\r\n', 400, 'BAD_REQUEST'],
    ['a body of 2 MB', `POST /v1/controls HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 2000000\r\nConnection: close\r\n\r\n{}`, 413, 'BODY_TOO_LARGE'],
    ['a body that is not JSON', `POST /v1/controls HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: text/xml\r\nContent-Length: 2\r\nConnection: close\r\n\r\n<a`, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['a run id written in hex', `GET /v1/runs/0x1 HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`, 400, 'BAD_REQUEST'],
  ])('%s → %i %s', async (_what, request, status, code) => {
    const { port } = await listening();
    const { answer } = await exchange(port, request);
    expect(statusOf(answer)).toBe(status);
    const body = bodyOf(answer);
    expect(body.error.code).toBe(code);
    expect(Object.keys(body)).toEqual(['error']);
    // Never the URL back (it may carry a credential), and one line.
    expect(body.error.message).not.toContain('aaaaaaaaaa');
    expect(body.error.message).not.toMatch(/[\u0000-\u001f]/);
  });
});
