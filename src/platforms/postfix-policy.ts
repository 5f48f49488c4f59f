/**
 * Postfix: a policy delegation service (SMTPD_POLICY_README) and its hold queue.
 * Postfix connects over TCP, sends requests of `name=value` lines ended by an
 * empty line, and reads `action=...` followed by an empty line; a connection
 * carries many requests. Per recipient (RCPT) the answer is HOLD for a paused
 * scope (the message waits in Postfix's hold queue: nothing is lost),
 * DEFER_IF_PERMIT when a throttle's rate is spent, DUNNO otherwise; at the end of
 * the message Postfix sends the queue id, and a held message is recorded with the
 * control that held it, so lifting that control releases exactly it (postsuper -H,
 * checked with postqueue -j). What the controls decide is the `SendPolicy`'s
 * (controls/); this file speaks Postfix.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { z } from 'zod';
import { MailscopeError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { duration, listenAddress, readableFile } from '../core/schema.ts';
import { describeScope, scopeKeyNames, type Traffic } from '../core/scope.ts';
import { definePlatform, PlatformBase, type HoldQueue, type QueuePlace, type SendPolicy } from './define.ts';

const configSchema = PlatformBase.extend({
  kind: z.literal('postfix-policy'),
  listen: listenAddress.describe('where the policy service listens (Postfix: check_policy_service inet:HOST:PORT)'),
  idleTimeout: duration.prefault('10m').describe("a connection with no request for this long is closed (longer than Postfix's smtpd_policy_service_max_idle, 300s, so Postfix closes first)"),
  maxConnections: z.int().min(1).max(100_000).default(1_000).describe('connections open at once (Postfix keeps one per smtpd process); more are refused'),
  release: z
    .strictObject({
      configDir: z.string().min(1).default('/etc/postfix').describe("Postfix's configuration directory (postsuper/postqueue -c)"),
      postsuper: readableFile.default('/usr/sbin/postsuper').describe('path to postsuper'),
      postqueue: readableFile.default('/usr/sbin/postqueue').describe('path to postqueue'),
    })
    .optional()
    .describe(
      'release held mail when its pause lifts (postsuper -H on the queue ids it held, checked with postqueue -j): set it ({} for the defaults) when Mailscope runs beside Postfix with the rights to (root, or the Postfix admin); without it, release by hand',
    ),
}).strict();

export type PostfixPolicyConfig = z.output<typeof configSchema>;
export type ReleaseConfig = NonNullable<PostfixPolicyConfig['release']>;

export const postfixPolicy = definePlatform({
  kind: 'postfix-policy',
  description: "a Postfix policy delegation service: Postfix asks about each recipient; a paused scope's mail goes to the hold queue (HOLD), a throttle over its rate is deferred (DEFER_IF_PERMIT)",
  configSchema,
  runtime: {
    what: 'the Postfix policy service',
    async start(config, ctx) {
      const server = await startPolicyServer({ listen: config.listen, idleTimeoutMs: config.idleTimeout, maxConnections: config.maxConnections, ...policyAnswers(ctx.policy, ctx.log) });
      return { address: server.address, stop: () => server.close() };
    },
    holdQueue: (config) => (config.release ? holdQueueOf(config.release) : undefined),
  },
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
  /** A connection idle this long is closed (default 10 minutes). */
  idleTimeoutMs?: number;
  /** Connections open at once (default 1,000). */
  maxConnections?: number;
  answer(request: PolicyRequest): string;
  fallback(reason: string): string;
  onError?(reason: string): void;
}): Promise<PolicyServer> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    // A peer that connects and says nothing (or stops halfway) does not keep a socket forever.
    socket.setTimeout(options.idleTimeoutMs ?? 600_000, () => {
      options.onError?.('connection idle past idleTimeout: closed');
      socket.destroy();
    });
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
  server.maxConnections = options.maxConnections ?? 1_000;
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

// ── the answers: the scope a request describes, and what the controls say of it ──

const domainOf = (address: string | undefined) => {
  const at = address?.lastIndexOf('@') ?? -1;
  return at >= 0 ? address!.slice(at + 1) : undefined;
};

/** The traffic a request describes: `policy_context` (set per submission service: "ip=192.0.2.11 pool=b tenant=acme"), the sender's and the recipient's domains. */
export function trafficOf(request: PolicyRequest): Traffic {
  const traffic: Traffic = {};
  for (const pair of (request.policy_context ?? '').split(/[\s,;]+/)) {
    const equals = pair.indexOf('=');
    if (equals <= 0) continue;
    const key = pair.slice(0, equals);
    if ((scopeKeyNames as string[]).includes(key)) traffic[key as keyof Traffic] = pair.slice(equals + 1);
  }
  const from = domainOf(request.sender);
  if (from && traffic.from_domain === undefined) traffic.from_domain = from;
  const to = domainOf(request.recipient);
  if (to && traffic.rcpt_domain === undefined) traffic.rcpt_domain = to;
  return traffic;
}

/** Messages held at RCPT, waiting for their queue id (END-OF-MESSAGE): by Postfix's `instance`. */
const maxPending = 10_000;

/** What the service answers (startPolicyServer's answer, fallback and onError), asking `policy`. */
export function policyAnswers(policy: SendPolicy, log: Logger) {
  const heldInstances = new Map<string, { controlId: string; traffic: Traffic }>();
  return {
    answer(request: PolicyRequest): string {
      const state = request.protocol_state ?? '';
      if (state === 'END-OF-MESSAGE') {
        const held = request.instance ? heldInstances.get(request.instance) : undefined;
        if (held && request.queue_id) {
          heldInstances.delete(request.instance!);
          if (!queueIdPattern.test(request.queue_id)) {
            log.warn({ queueId: request.queue_id.slice(0, 40), control: held.controlId }, "a held message came with a queue id that is not Postfix's: not recorded");
            return 'DUNNO';
          }
          policy.held({ id: request.queue_id, controlId: held.controlId, traffic: held.traffic });
          log.info({ queueId: request.queue_id, control: held.controlId }, 'message held');
        }
        return 'DUNNO';
      }
      if (state !== 'RCPT') return 'DUNNO';
      const traffic = trafficOf(request);
      const verdict = policy.decide(traffic);
      if (verdict.action === 'pause') {
        const { control } = verdict;
        if (request.instance) {
          if (heldInstances.size >= maxPending) heldInstances.delete(heldInstances.keys().next().value!);
          heldInstances.set(request.instance, { controlId: control.id, traffic });
        }
        return `HOLD paused by Mailscope (${describeScope(control.scope)}): ${control.reason}`;
      }
      if (verdict.action === 'over-rate') {
        const { control } = verdict;
        return `DEFER_IF_PERMIT 4.7.1 Mailscope throttle (${describeScope(control.scope)}, ${control.ratePerMinute}/min): try again later`;
      }
      return 'DUNNO';
    },
    /** Mailscope could not answer: open lets the mail go, closed defers it (the client retries; nothing lost). */
    fallback(reason: string): string {
      return policy.failMode === 'closed' ? `DEFER_IF_PERMIT 4.3.0 Mailscope policy unavailable (${reason.slice(0, 100)})` : 'DUNNO';
    },
    onError(reason: string): void {
      log.warn({ reason }, 'policy request could not be answered');
    },
  };
}

// ── the hold queue: postqueue -j to look, postsuper -H to release ─────────────

/** Run a Postfix command; its stdout, or RELEASE_FAILED with what it said on stderr. */
export interface RunOptions {
  timeoutMs?: number;
  /** Kills the command (shutdown). */
  signal?: AbortSignal;
}

function run(file: string, args: string[], options: { input?: string; timeoutMs: number; signal?: AbortSignal | undefined }): Promise<string> {
  const what = `${file.split('/').pop()} ${args.join(' ')}`;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: options.timeoutMs, ...(options.signal ? { signal: options.signal } : {}) });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => reject(new MailscopeError('RELEASE_FAILED', `${what}: ${error.message}`, { cause: error })));
    child.on('close', (code, signal) => {
      const said = Buffer.concat(stderr).toString('utf8').trim().split('\n').slice(-3).join('; ').slice(0, 500);
      if (code === 0) resolve(Buffer.concat(stdout).toString('utf8'));
      else reject(new MailscopeError('RELEASE_FAILED', `${what}: ${signal ? `killed by ${signal} (timeout ${options.timeoutMs} ms?)` : `exit ${code}`}${said ? `: ${said}` : ''}`));
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/** Where each message is in Postfix's queue (`postqueue -j`): queue id → queue name (hold, deferred, active, incoming, maildrop). */
export async function queueOf(release: ReleaseConfig, options: RunOptions = {}): Promise<Map<string, string>> {
  const output = await run(release.postqueue, ['-c', release.configDir, '-j'], { timeoutMs: options.timeoutMs ?? 30_000, signal: options.signal });
  const queue = new Map<string, string>();
  for (const line of output.split('\n')) {
    if (line.trim() === '') continue;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      throw new MailscopeError('RELEASE_FAILED', `postqueue -j printed a line that is not JSON: ${JSON.stringify(line.slice(0, 80))}`);
    }
    const { queue_id: id, queue_name: name } = (entry ?? {}) as { queue_id?: unknown; queue_name?: unknown };
    if (typeof id !== 'string' || typeof name !== 'string')
      throw new MailscopeError('RELEASE_FAILED', `postqueue -j printed an entry without queue_id and queue_name: ${JSON.stringify(line.slice(0, 80))}`);
    queue.set(id, name);
  }
  return queue;
}

/** Postfix queue ids: short (hex) or long (enable_long_queue_ids); anything else never reaches postsuper. */
const queueIdPattern = /^[0-9A-Za-z]{6,32}$/;

/** `postsuper -H -`: release these messages from the hold queue (ids on stdin). */
export async function releaseFromHold(release: ReleaseConfig, ids: readonly string[], options: RunOptions = {}): Promise<void> {
  const bad = ids.find((id) => !queueIdPattern.test(id));
  if (bad !== undefined) throw new MailscopeError('RELEASE_FAILED', `not a Postfix queue id: ${JSON.stringify(bad.slice(0, 40))}`);
  if (ids.length === 0) return;
  await run(release.postsuper, ['-c', release.configDir, '-H', '-'], { input: `${ids.join('\n')}\n`, timeoutMs: options.timeoutMs ?? 30_000, signal: options.signal });
}

/**
 * postsuper -H moves a message to the deferred queue, which the queue manager
 * scans every queue_run_delay (300 s by default): ask for each one's delivery
 * now (`postqueue -i`, one id per call). Best effort: the ids that could not be
 * scheduled are returned; they go at the next queue run anyway.
 */
export async function deliverNow(release: ReleaseConfig, ids: readonly string[], options: RunOptions = {}): Promise<string[]> {
  const failed: string[] = [];
  for (const id of ids) {
    if (options.signal?.aborted) {
      failed.push(id);
      continue;
    }
    if (!queueIdPattern.test(id)) {
      failed.push(id);
      continue;
    }
    try {
      await run(release.postqueue, ['-c', release.configDir, '-i', id], { timeoutMs: options.timeoutMs ?? 30_000, signal: options.signal });
    } catch {
      failed.push(id);
    }
  }
  return failed;
}

/** Where Postfix's queues put a message, as the releaser sees it: hold is held; incoming and maildrop are still arriving. */
function placeOf(queueName: string): QueuePlace {
  if (queueName === 'hold') return { state: 'held', where: queueName };
  if (queueName === 'incoming' || queueName === 'maildrop') return { state: 'arriving', where: queueName };
  return { state: 'queued', where: queueName };
}

/** Postfix's hold queue through postqueue and postsuper, with the paths and config directory of `release:`. */
export function holdQueueOf(release: ReleaseConfig): HoldQueue {
  return {
    releasedBy: 'postsuper -H',
    async list(ctx) {
      const queue = await queueOf(release, ctx);
      return new Map([...queue].map(([id, name]) => [id, placeOf(name)]));
    },
    release: (ids, ctx) => releaseFromHold(release, ids, ctx),
    deliverNow: (ids, ctx) => deliverNow(release, ids, ctx),
  };
}
