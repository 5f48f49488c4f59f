import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { z } from 'zod';
import type { Observation } from '../core/observation.ts';
import { duration, readableFile } from '../core/schema.ts';
import { netLookup } from '../protocols/dns/net-lookup.ts';
import { describeSocketError, isResolutionFailure, socketErrorCode } from '../protocols/socket-errors.ts';
import { readCaFile } from './ca-file.ts';
import { defineProbe, ProbeBase, type ProbeContext } from './define.ts';
import { reachability } from './reachability.ts';

const targetUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).superRefine((text, ctx) => {
  // zod runs this check even when the URL check above failed: not a URL is that check's problem.
  const url = URL.parse(text);
  // The URL becomes a tag and appears in the API: credentials have no place in it.
  if (url && (url.username || url.password)) ctx.addIssue({ code: 'custom', message: 'credentials in the URL are not allowed' });
});

const configSchema = ProbeBase.extend({
  kind: z.literal('http'),
  targets: z.array(targetUrl).min(1, { message: 'expected at least one URL' }).describe('http:// or https:// URLs, without credentials'),
  method: z.enum(['GET', 'HEAD']).default('GET').describe('GET or HEAD'),
  expectStatus: z.array(z.int().min(100).max(599)).min(1).default([200]).describe('status codes that count as up; redirects are not followed, so a 301 is a 301'),
  requestTimeout: duration.prefault('10s').describe('per URL: a response within this, or down'),
  caFile: readableFile.optional().describe('PEM file of the CA that signs these HTTPS endpoints (a private CA); default: the system trust store'),
}).strict();

type HttpConfig = z.output<typeof configSchema>;

class RequestTimeout extends Error {}

/** One request, answered with the response head (the body is discarded). Names resolve through our DNS client. */
function send(url: URL, config: HttpConfig, ctx: ProbeContext, ca: Buffer | undefined): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const options = { method: config.method, lookup: netLookup(ctx.dns), signal: ctx.signal, ...(ca ? { ca } : {}) };
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options, (response) => {
      clearTimeout(timer);
      response.resume();
      resolve(response);
    });
    const timer = setTimeout(() => request.destroy(new RequestTimeout()), config.requestTimeout);
    request.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.end();
  });
}

async function probeUrl(url: string, config: HttpConfig, ctx: ProbeContext, ca: Buffer | undefined): Promise<Observation> {
  const tags = { target: url, protocol: 'http' };
  const started = performance.now();
  const observe = (fields: Observation['fields']): Observation => ({
    measurement: 'reachability',
    tags,
    fields: { duration_ms: performance.now() - started, ...fields },
    time: ctx.clock.now(),
  });
  try {
    const response = await send(new URL(url), config, ctx, ca);
    const status = response.statusCode ?? 0;
    const up = config.expectStatus.includes(status);
    return observe({ status_code: status, status: up ? 'up' : 'down', up, ...(up ? {} : { reason: `status ${status}, expected ${config.expectStatus.join(' or ')}` }) });
  } catch (error) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (error instanceof RequestTimeout) return observe({ status: 'down', up: false, reason: `no response within ${config.requestTimeout} ms` });
    if (isResolutionFailure(socketErrorCode(error))) {
      return observe({ status: 'error', error_code: 'TARGET_UNRESOLVED', reason: `cannot resolve ${(error as Error).message}` });
    }
    return observe({ status: 'down', up: false, reason: describeSocketError(error) });
  }
}

/** Does an HTTP endpoint answer with an expected status (an MTA's admin API, an MTA-STS policy host)? */
export const http = defineProbe({
  kind: 'http',
  description: 'Requests each URL and checks the status code (redirects are not followed); names resolve through the configured DNS.',
  configSchema,
  measurements: { reachability },
  async run(config, ctx) {
    const ca = readCaFile(config.caFile);
    return Promise.all(config.targets.map((url) => probeUrl(url, config, ctx, ca)));
  },
});
