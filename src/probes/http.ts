import { z } from 'zod';
import type { Observation } from '../core/observation.ts';
import { duration } from '../core/schema.ts';
import { describeSocketError, isResolutionFailure, socketErrorCode } from '../protocols/socket-errors.ts';
import { defineProbe, ProbeBase, type ProbeContext } from './define.ts';

const targetUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).superRefine((text, ctx) => {
  const url = new URL(text);
  // The URL becomes a tag and appears in the API: credentials have no place in it.
  if (url.username || url.password) ctx.addIssue({ code: 'custom', message: 'credentials in the URL are not allowed' });
});

const configSchema = ProbeBase.extend({
  kind: z.literal('http'),
  targets: z.array(targetUrl).min(1, { message: 'expected at least one URL' }).describe('http:// or https:// URLs, without credentials'),
  method: z.enum(['GET', 'HEAD']).default('GET').describe('GET or HEAD'),
  expectStatus: z
    .array(z.int().min(100).max(599))
    .min(1)
    .default([200])
    .describe('status codes that count as up; redirects are not followed, so a 301 is a 301'),
  requestTimeout: duration.prefault('10s').describe('per URL: a response within this, or down'),
}).strict();

type HttpConfig = z.output<typeof configSchema>;

async function probeUrl(url: string, config: HttpConfig, ctx: ProbeContext): Promise<Observation> {
  const tags = { target: url, protocol: 'http' };
  const started = performance.now();
  const observe = (fields: Observation['fields']): Observation => ({
    measurement: 'reachability',
    tags,
    fields: { duration_ms: performance.now() - started, ...fields },
    time: ctx.clock.now(),
  });
  try {
    const response = await fetch(url, {
      method: config.method,
      redirect: 'manual',
      signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(config.requestTimeout)]),
    });
    const result = observe({ status_code: response.status });
    await response.body?.cancel();
    const up = config.expectStatus.includes(response.status);
    result.fields.status = up ? 'up' : 'down';
    result.fields.up = up;
    if (!up) result.fields.reason = `status ${response.status}, expected ${config.expectStatus.join(' or ')}`;
    return result;
  } catch (error) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if ((error as Error)?.name === 'TimeoutError') {
      return observe({ status: 'down', up: false, reason: `no response within ${config.requestTimeout} ms` });
    }
    const code = socketErrorCode(error);
    if (isResolutionFailure(code)) {
      const host = new URL(url).hostname;
      return observe({ status: 'error', error_code: 'TARGET_UNRESOLVED', reason: `cannot resolve ${host}: ${describeSocketError(error)}` });
    }
    return observe({ status: 'down', up: false, reason: describeSocketError(error) });
  }
}

/** Does an HTTP endpoint answer with an expected status (an MTA's admin API, an MTA-STS policy host)? */
export const http = defineProbe({
  kind: 'http',
  description: 'Requests each URL and checks the status code (redirects are not followed).',
  configSchema,
  async run(config, ctx) {
    return Promise.all(config.targets.map((url) => probeUrl(url, config, ctx)));
  },
});
