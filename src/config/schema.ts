import { z } from 'zod';
import { logLevels } from '../core/logger.ts';
import { identifier, listenAddress, secret } from '../core/schema.ts';
import { probeDefinitionSchema } from '../probes/index.ts';

export const roles = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof roles)[number];

const ApiToken = z.strictObject({
  name: identifier.describe('who uses it; shown in logs and the audit log'),
  role: z.enum(roles).describe('viewer < operator < admin'),
  token: secret({ minLength: 16 }).describe('the bearer token, at least 16 characters; use ${VAR}'),
});

const ApiTokens = z.array(ApiToken).superRefine((tokens, ctx) => {
  const byName = new Map<string, number>();
  const byValue = new Map<string, number>();
  tokens.forEach((token, index) => {
    const sameName = byName.get(token.name);
    if (sameName !== undefined) {
      ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate token name "${token.name}" (also tokens[${sameName}])` });
    } else byName.set(token.name, index);
    const sameValue = byValue.get(token.token.reveal());
    if (sameValue !== undefined) {
      ctx.addIssue({ code: 'custom', path: [index, 'token'], message: `same token value as tokens[${sameValue}]; every token must be different` });
    } else byValue.set(token.token.reveal(), index);
  });
});

/** mailscope.yaml: the instance. */
export const InstanceSchema = z.strictObject({
  dataDir: z.string().min(1).default('./data').describe('where the SQLite store lives (relative to the config file)'),
  http: z
    .strictObject({
      listen: listenAddress.prefault('127.0.0.1:8025').describe('host:port of the API; port 0 picks a free port'),
    })
    .prefault({}),
  tokens: ApiTokens.default([]).describe('API bearer tokens: list of { name, role, token }'),
  log: z
    .strictObject({
      level: z.enum(logLevels).default('info').describe('fatal, error, warn, info, debug, trace or silent'),
    })
    .prefault({}),
  probes: z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
    .default('probes/')
    .describe('probe files: a directory (every *.yaml/*.yml below it) or a list of files and directories'),
});

export type InstanceConfig = z.output<typeof InstanceSchema>;
export type ApiTokenConfig = InstanceConfig['tokens'][number];

/** probes/*.yaml: what to watch, when, and what counts as healthy. */
export const ProbeFileSchema = z.strictObject({
  probes: z.array(probeDefinitionSchema).default([]),
});
