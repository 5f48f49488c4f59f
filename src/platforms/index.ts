import { z } from 'zod';
import { kumomta } from './kumomta.ts';
import { listmonk } from './listmonk.ts';
import { postfixPolicy } from './postfix-policy.ts';
import { webhook } from './webhook.ts';
import type { PlatformKind } from './define.ts';

/** The registry: one line per platform kind. The config union and the reference's table (docs/reference.md) derive from it. */
export const platforms = [postfixPolicy, kumomta, webhook, listmonk] as const;

type AnyPlatform = (typeof platforms)[number];
export type PlatformConfig = z.output<AnyPlatform['configSchema']>;

const [first, ...rest] = platforms.map((platform) => platform.configSchema);
/** One platform definition, whatever its kind: a discriminated union on `kind`. */
export const platformConfigSchema = z.discriminatedUnion('kind', [first!, ...rest]);

export function findPlatform(kind: string): PlatformKind<string, z.ZodType<PlatformConfig>> | undefined {
  return platforms.find((platform) => platform.kind === kind) as PlatformKind<string, z.ZodType<PlatformConfig>> | undefined;
}
