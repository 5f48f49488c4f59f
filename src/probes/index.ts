import { z } from 'zod';
import { blacklist } from './blacklist.ts';
import { dnsAuth } from './dns-auth.ts';
import { http } from './http.ts';
import { outbox } from './outbox.ts';
import { placement } from './placement.ts';
import { tcp } from './tcp.ts';
import type { ProbeKind } from './define.ts';

/** The registry: one line per probe kind. Everything else (config union, API enums, docs) derives from it. */
export const probes = [tcp, http, blacklist, dnsAuth, placement, outbox] as const;

type AnyProbe = (typeof probes)[number];
export type ProbeKindName = AnyProbe['kind'];
export type ProbeDefinition = z.output<AnyProbe['configSchema']>;

export const probeKindNames = probes.map((probe) => probe.kind) as [ProbeKindName, ...ProbeKindName[]];

const [first, ...rest] = probes.map((probe) => probe.configSchema);
/** One probe definition, whatever its kind: a discriminated union on `kind`. */
export const probeDefinitionSchema = z.discriminatedUnion('kind', [first!, ...rest]);

export function findProbeKind(kind: string): ProbeKind<string, z.ZodType<ProbeDefinition>> | undefined {
  return probes.find((probe) => probe.kind === kind) as ProbeKind<string, z.ZodType<ProbeDefinition>> | undefined;
}
