import { z } from 'zod';
import { blacklist } from './blacklist.ts';
import { dnsAuth } from './dns-auth.ts';
import { http } from './http.ts';
import { outbox } from './outbox.ts';
import { placement } from './placement.ts';
import { tcp } from './tcp.ts';
import { catalogOf, type BlocklistsConfig } from './dnsbl-config.ts';
import type { ProbeKind, ProbeLoadContext } from './define.ts';

/** The registry: one line per probe kind. Everything else (config union, series registry, API enums, docs) derives from it. */
export const probes = [tcp, http, blacklist, dnsAuth, placement, outbox] as const;

/** Any kind, whatever its schema and measurements. */
// biome-ignore lint/suspicious/noExplicitAny: a kind's own schema and measurements types are checked in its file; the list holds any of them
type SomeProbeKind = ProbeKind<string, any, any>;

/**
 * What derives from a list of kinds: their names, one schema for a definition of
 * any of them (a discriminated union on `kind`), and a kind by its name. The app
 * derives them from `probes`; a test may from its own list.
 */
export function probeKindsOf<P extends readonly SomeProbeKind[]>(kinds: P) {
  type Name = P[number]['kind'];
  type Definition = z.output<P[number]['configSchema']>;
  const [first, ...rest] = kinds.map((probe) => probe.configSchema);
  return {
    probeKindNames: kinds.map((probe) => probe.kind) as [Name, ...Name[]],
    /** One probe definition, whatever its kind: a discriminated union on `kind`. */
    probeDefinitionSchema: z.discriminatedUnion('kind', [first, ...rest]) as unknown as z.ZodType<Definition>,
    findProbeKind(kind: string): ProbeKind<string, z.ZodType<Definition>> | undefined {
      return kinds.find((probe) => probe.kind === kind);
    },
  };
}

type AnyProbe = (typeof probes)[number];
export type ProbeDefinition = z.output<AnyProbe['configSchema']>;

export const { probeKindNames, probeDefinitionSchema, findProbeKind } = probeKindsOf(probes);

/** The sections of the instance configuration that probeLoadContext reads. */
export const probeLoadContextSections = ['dns', 'blocklists'] as const;

/** What the kinds' load-time checks (checkAtLoad) see of an instance configuration. */
export function probeLoadContext(instance: { dns: { rateLimit: number }; blocklists: BlocklistsConfig }): ProbeLoadContext {
  return { dnsRateLimit: instance.dns.rateLimit, blocklists: catalogOf(instance) };
}
