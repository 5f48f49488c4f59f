/**
 * Postfix's policy delegation protocol (SMTPD_POLICY_README), server side: Postfix
 * connects over TCP, sends requests of `name=value` lines ended by an empty line,
 * and reads `action=...` followed by an empty line; a connection carries many
 * requests. What to answer is the caller's (controls/); this file only speaks the
 * protocol, and answers `fallback` when the caller fails or a request is malformed.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { z } from 'zod';
import { listenAddress, readableFile } from '../core/schema.ts';
import { definePlatform, PlatformBase } from './define.ts';

const configSchema = PlatformBase.extend({
  kind: z.literal('postfix-policy'),
  listen: listenAddress.describe('where the policy service listens (Postfix: check_policy_service inet:HOST:PORT)'),
  release: z
    .strictObject({
      configDir: z.string().min(1).default('/etc/postfix').describe("Postfix's configuration directory (postsuper/postqueue -c)"),
      postsuper: readableFile.default('/usr/sbin/postsuper').describe('path to postsuper'),
      postqueue: readableFile.default('/usr/sbin/postqueue').describe('path to postqueue'),
    })
    .optional()
    .describe('reserved, not used yet: where postsuper/postqueue are, to release the messages a lifted pause held (postsuper -H) when Mailscope runs beside Postfix with the rights to'),
}).strict();

export type PostfixPolicyConfig = z.output<typeof configSchema>;

export const postfixPolicy = definePlatform({
  kind: 'postfix-policy',
  description: "a Postfix policy delegation service: Postfix asks about each recipient; a paused scope's mail goes to the hold queue (HOLD), a throttle over its rate is deferred (DEFER_IF_PERMIT)",
  configSchema,
});

/** One request's attributes, as Postfix sent them. */
export type PolicyRequest = Record<string, string>;

/** Longest request accepted (Postfix's are a few hundred bytes; a client sending more is not Postfix). */
const maxRequestBytes = 64 * 1024;

export interface PolicyServer {
  server: Server;
  address: { host: string; port: number };
  close(): Promise<void>;
}

/**
 * Serve the protocol. `answer` gets each request's attributes and returns the
 * action line's value (`HOLD reason`, `DUNNO`, ...); when it throws, or the request
 * is malformed, `fallback()` says what to answer instead (fail open or closed).
 */
export async function startPolicyServer(options: {
  listen: { host: string; port: number };
  answer(request: PolicyRequest): string;
  fallback(reason: string): string;
  onError?(reason: string): void;
}): Promise<PolicyServer> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    let buffer = '';
    let attributes: PolicyRequest = {};
    let malformed: string | undefined;
    const reply = (action: string) => socket.write(`action=${action.replace(/[\r\n]+/g, ' ')}\n\n`);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.length > maxRequestBytes) {
        options.onError?.(`request longer than ${maxRequestBytes} bytes: connection closed`);
        socket.destroy();
        return;
      }
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, '');
        buffer = buffer.slice(newline + 1);
        if (line === '') {
          let action: string;
          if (malformed !== undefined || Object.keys(attributes).length === 0) {
            const reason = malformed ?? 'empty request';
            options.onError?.(reason);
            action = options.fallback(reason);
          } else {
            try {
              action = options.answer(attributes);
            } catch (error) {
              const reason = error instanceof Error ? error.message : String(error);
              options.onError?.(reason);
              action = options.fallback(reason);
            }
          }
          reply(action);
          attributes = {};
          malformed = undefined;
          continue;
        }
        const equals = line.indexOf('=');
        if (equals <= 0) malformed ??= `not a name=value line: ${JSON.stringify(line.slice(0, 80))}`;
        else attributes[line.slice(0, equals)] = line.slice(equals + 1);
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listen.port, options.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const address = typeof bound === 'object' && bound ? { host: bound.address, port: bound.port } : options.listen;
  return {
    server,
    address,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
