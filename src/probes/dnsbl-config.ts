/**
 * The `blocklists:` section of mailscope.yaml (a Spamhaus DQS key, the user's
 * own lists) and the catalog it makes with the built-in lists: what blacklist
 * probes, `mailscope check blacklist` and the load-time checks look lists up in.
 */
import { z } from 'zod';
import { identifier, secret, uniqueIds } from '../core/schema.ts';
import { buildCatalog, builtinLists, keyedListIds, rfc5782TestPoints, type ListCatalog } from './dnsbl-lists.ts';
import type { ListSpec } from './dnsbl-verdict.ts';

const loopbackAnswer = z.string().regex(/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/, { message: 'expected an answer address in 127.0.0.0/8 (e.g. 127.0.0.2)' });

const reservedListIds = new Set([...builtinLists.map((list) => list.id), ...keyedListIds]);

/** A DNSBL of the user's own (or one the catalog lacks). */
const CustomList = z
  .strictObject({
    id: identifier.describe('how probes and `check blacklist --list` name it'),
    name: z.string().min(1).optional().describe('for people; default: the id'),
    zone: z.string().regex(/^([a-z0-9_-]+\.)+[a-z0-9_-]+$/i, { message: 'expected a DNS zone name (e.g. bl.example.net)' }),
    kind: z.enum(['ip', 'domain']).describe('ip: queried with reversed addresses; domain: with the domain'),
    ipv6: z.boolean().default(false).describe('the list answers IPv6 queries'),
    codes: z.record(loopbackAnswer, z.string().min(1)).optional().describe('answer → meaning; without codes, any 127/8 answer is a listing'),
    bitmask: z
      .record(z.string().regex(/^(1|2|4|8|16|32|64|128)$/, { message: 'expected a bit value: 1, 2, 4, … 128' }), z.string().min(1))
      .optional()
      .describe('bit of the last octet → meaning'),
    errors: z.record(loopbackAnswer, z.string().min(1)).optional().describe('answers that are errors, not listings → meaning'),
    testPoints: z
      .union([z.literal(false), z.strictObject({ listed: z.string().min(1), unlisted: z.string().min(1) })])
      .optional()
      .describe('RFC 5782 test points checked each run; default 127.0.0.2 / 127.0.0.1 (IP) or test / invalid (domain); false: none'),
    delistUrl: z.url().optional(),
    terms: z.string().optional(),
  })
  .superRefine((list, ctx) => {
    if (reservedListIds.has(list.id)) ctx.addIssue({ code: 'custom', path: ['id'], message: `"${list.id}" is a built-in list; choose another id` });
    if (list.codes && list.bitmask) ctx.addIssue({ code: 'custom', path: ['bitmask'], message: 'give codes or bitmask, not both' });
  });

export type CustomListConfig = z.output<typeof CustomList>;

/** mailscope.yaml's `blocklists:` section. */
export const blocklistsSchema = z
  .strictObject({
    spamhausDqsKey: secret({ minLength: 8 }).optional().describe('Spamhaus DQS key: enables the spamhaus-*-dqs lists'),
    lists: z.array(CustomList).default([]).superRefine(uniqueIds('list', 'lists')).describe('your own DNSBLs, usable by id like the built-in ones'),
  })
  .prefault({});

export type BlocklistsConfig = z.output<typeof blocklistsSchema>;

function toListSpec(list: CustomListConfig): ListSpec {
  const errors = Object.fromEntries(Object.entries(list.errors ?? {}).map(([answer, meaning]) => [answer, { code: 'DNSBL_ERROR_ANSWER' as const, meaning }]));
  return {
    id: list.id,
    name: list.name ?? list.id,
    zone: list.zone.toLowerCase(),
    kind: list.kind,
    ipv6: list.ipv6,
    ...(list.codes ? { codes: list.codes } : {}),
    ...(list.bitmask ? { bitmask: Object.fromEntries(Object.entries(list.bitmask).map(([bit, meaning]) => [Number(bit), meaning])) } : {}),
    ...(list.errors ? { errors } : {}),
    testPoints: list.testPoints === false ? null : (list.testPoints ?? rfc5782TestPoints[list.kind]),
    ...(list.delistUrl ? { delistUrl: list.delistUrl } : {}),
    ...(list.terms ? { terms: list.terms } : {}),
  };
}

/** The lists in effect for this configuration (the instance, or anything with its `blocklists:` section). */
export function catalogOf(instance: { blocklists: BlocklistsConfig }): ListCatalog {
  return buildCatalog({
    custom: instance.blocklists.lists.map(toListSpec),
    ...(instance.blocklists.spamhausDqsKey ? { spamhausDqsKey: instance.blocklists.spamhausDqsKey.reveal() } : {}),
  });
}

/** The names a person may use, for "expected one of" messages. */
export function listChoices(catalog: ListCatalog): string {
  return [...catalog.keys()].sort().join(', ');
}

/** A list name that is neither built in nor configured; or a keyed list without its key. */
export function unknownListProblem(id: string, catalog: ListCatalog): string | undefined {
  if (catalog.has(id)) return undefined;
  if (keyedListIds.includes(id)) return `list "${id}" needs blocklists.spamhausDqsKey in the instance configuration`;
  return `unknown list "${id}" (expected one of: ${listChoices(catalog)})`;
}
