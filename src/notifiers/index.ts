import { z } from 'zod';
import { email } from './email.ts';
import { slack } from './slack.ts';
import { webhook } from './webhook.ts';
import type { NotifierKind } from './define.ts';

/** The registry: one line per notifier kind. The config union and the reference's table (docs/reference.md) derive from it. */
export const notifiers = [slack, webhook, email] as const;

type AnyNotifier = (typeof notifiers)[number];
export type NotifierConfig = z.output<AnyNotifier['configSchema']>;

const [first, ...rest] = notifiers.map((notifier) => notifier.configSchema);
/** One notifier definition, whatever its kind: a discriminated union on `kind`. */
export const notifierConfigSchema = z.discriminatedUnion('kind', [first!, ...rest]);

export function findNotifier(kind: string): NotifierKind<string, z.ZodType<NotifierConfig>> | undefined {
  return notifiers.find((notifier) => notifier.kind === kind) as NotifierKind<string, z.ZodType<NotifierConfig>> | undefined;
}
