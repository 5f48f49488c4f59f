import { connect } from 'node:net';
import { z } from 'zod';
import type { Observation } from '../core/observation.ts';
import { duration, formatHostPort, hostPort, type HostPort } from '../core/schema.ts';
import { netLookup } from '../protocols/dns/net-lookup.ts';
import { describeSocketError, isResolutionFailure, socketErrorCode } from '../protocols/socket-errors.ts';
import { defineProbe, ProbeBase, type ProbeContext } from './define.ts';
import { reachability } from './reachability.ts';

const bannerPattern = z.string().superRefine((pattern, ctx) => {
  try {
    new RegExp(pattern);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `"${pattern}" is not a valid regular expression: ${(error as Error).message}` });
  }
});

const configSchema = ProbeBase.extend({
  kind: z.literal('tcp'),
  targets: z.array(hostPort).min(1, { message: 'expected at least one host:port target' }).describe('host:port list, e.g. ["127.0.0.1:587", "[::1]:25"]'),
  expectBanner: bannerPattern.optional().describe('regular expression the first line the server sends must match, e.g. "^220 " for SMTP'),
  connectTimeout: duration.prefault('5s').describe('per target: connection and banner within this, or down'),
}).strict();

type TcpConfig = z.output<typeof configSchema>;

const maxBannerBytes = 1024;

type Outcome =
  | { status: 'up'; ms: number; banner?: string }
  | { status: 'down'; ms: number; reason: string; banner?: string }
  | { status: 'error'; ms: number; reason: string; code: 'TARGET_UNRESOLVED' };

function probeTarget(target: HostPort, config: TcpConfig, ctx: ProbeContext): Promise<Outcome> {
  const { signal } = ctx;
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port, lookup: netLookup(ctx.dns) });
    let connectedMs: number | undefined;
    let received = '';
    const finish = (outcome: Outcome) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(outcome);
    };
    const onAbort = () => {
      clearTimeout(timer);
      socket.destroy();
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      const what = connectedMs === undefined ? 'no connection' : 'no complete banner line';
      finish({ status: 'down', ms: elapsed(), reason: `${what} within ${config.connectTimeout} ms` });
    }, config.connectTimeout);
    signal.addEventListener('abort', onAbort, { once: true });

    socket.once('connect', () => {
      connectedMs = elapsed();
      if (config.expectBanner === undefined) finish({ status: 'up', ms: connectedMs });
    });
    socket.on('data', (chunk: Buffer) => {
      if (config.expectBanner === undefined) return;
      received += chunk.toString('latin1');
      const newline = received.indexOf('\n');
      if (newline === -1 && received.length < maxBannerBytes) return;
      const banner = (newline === -1 ? received : received.slice(0, newline)).replace(/\r$/, '').slice(0, 200);
      const ms = connectedMs ?? elapsed();
      if (new RegExp(config.expectBanner).test(banner)) finish({ status: 'up', ms, banner });
      else finish({ status: 'down', ms, banner, reason: `banner does not match /${config.expectBanner}/` });
    });
    socket.once('end', () => {
      finish({ status: 'down', ms: elapsed(), reason: 'connection closed before a banner line' });
    });
    socket.once('error', (error) => {
      const code = socketErrorCode(error);
      if (isResolutionFailure(code)) {
        // Our lookup's own message says what DNS answered (NXDOMAIN, DNS_TIMEOUT, ...).
        finish({ status: 'error', ms: elapsed(), code: 'TARGET_UNRESOLVED', reason: `cannot resolve ${error.message}` });
      } else {
        finish({ status: 'down', ms: elapsed(), reason: describeSocketError(error) });
      }
    });
  });
}

function toObservation(target: HostPort, outcome: Outcome, ctx: ProbeContext): Observation {
  const fields: Observation['fields'] = { status: outcome.status, duration_ms: outcome.ms };
  if (outcome.status !== 'error') fields.up = outcome.status === 'up';
  if ('banner' in outcome && outcome.banner !== undefined) fields.banner = outcome.banner;
  if ('reason' in outcome) fields.reason = outcome.reason;
  if (outcome.status === 'error') fields.error_code = outcome.code;
  return { measurement: 'reachability', tags: { target: formatHostPort(target), protocol: 'tcp' }, fields, time: ctx.clock.now() };
}

/** Is a TCP service accepting connections, and does it greet as expected (e.g. SMTP "220")? */
export const tcp = defineProbe({
  kind: 'tcp',
  description: 'Connects to each host:port target and, optionally, checks the first line the server sends.',
  configSchema,
  measurements: { reachability },
  async run(config, ctx) {
    const outcomes = await Promise.all(config.targets.map((target) => probeTarget(target, config, ctx)));
    return config.targets.map((target, index) => toObservation(target, outcomes[index]!, ctx));
  },
});
