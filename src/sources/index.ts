import { z } from 'zod';
import type { SourceKind } from './define.ts';
import { events } from './events.ts';
import { kumomta } from './kumomta.ts';
import { mailbox } from './mailbox.ts';
import { postfixLog } from './postfix-log.ts';
import { reportDirectory } from './report-directory.ts';
import { reports } from './reports.ts';

/** The registry: one line per source kind. The config union, the ingest routes and the docs derive from it. */
export const sources = [events, kumomta, postfixLog, mailbox, reportDirectory, reports] as const;

type AnySource = (typeof sources)[number];
export type SourceConfig = z.output<AnySource['configSchema']>;

export const sourceKindNames = sources.map((source) => source.kind) as [AnySource['kind'], ...AnySource['kind'][]];

const [first, ...rest] = sources.map((source) => source.configSchema);
/** One source definition, whatever its kind: a discriminated union on `kind`. */
export const sourceConfigSchema = z.discriminatedUnion('kind', [first!, ...rest]);

export function findSource(kind: string): SourceKind<string, z.ZodType<SourceConfig>> | undefined {
  return sources.find((source) => source.kind === kind) as SourceKind<string, z.ZodType<SourceConfig>> | undefined;
}
