import { z } from 'zod';
import { logLevels } from '../core/logger.ts';
import { identifier, listenAddress, secret } from '../core/schema.ts';
import { probeDefinitionSchema } from '../probes/index.ts';

export const roles = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof roles)[number];

const ApiToken = z.strictObject({
  name: identifier,
  role: z.enum(roles),
  token: secret({ minLength: 16 }),
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
  /** Where the SQLite store lives; relative paths are relative to the config file. */
  dataDir: z.string().min(1).default('./data'),
  http: z
    .strictObject({
      /** host:port; port 0 picks a free port. */
      listen: listenAddress.prefault('127.0.0.1:8025'),
    })
    .prefault({}),
  /** Bearer tokens for the API, each with a role: viewer < operator < admin. */
  tokens: ApiTokens.default([]),
  log: z.strictObject({ level: z.enum(logLevels).default('info') }).prefault({}),
  /** Probe definition files: a directory (every *.yaml / *.yml below it) or a list of files and directories. */
  probes: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).default('probes/'),
});

export type InstanceConfig = z.output<typeof InstanceSchema>;
export type ApiTokenConfig = InstanceConfig['tokens'][number];

/** probes/*.yaml: what to watch, when, and what counts as healthy. */
export const ProbeFileSchema = z.strictObject({
  probes: z.array(probeDefinitionSchema).default([]),
});
