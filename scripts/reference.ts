/**
 * The reference tables, rendered from the registries and schemas themselves:
 * configuration keys, probe kinds, measurements, API routes, error codes.
 * `npm run docs` writes them into docs/reference.md; test/readme.test.ts fails
 * when the reference and the code disagree.
 */
import { z } from 'zod';
import { RuleSchema } from '../src/alerts/rules.ts';
import { InstanceSchema } from '../src/config/schema.ts';
import { notifiers } from '../src/notifiers/index.ts';
import { platforms } from '../src/platforms/index.ts';
import { sources } from '../src/sources/index.ts';
import { bounceClasses } from '../src/protocols/mail/bounce-class.ts';
import { systemClock } from '../src/core/clock.ts';
import { errorCodes } from '../src/core/errors.ts';
import { createLogger } from '../src/core/logger.ts';
import { buildApp } from '../src/http/app.ts';
import { ProbeBase } from '../src/probes/define.ts';
import { probes } from '../src/probes/index.ts';
import { storeQueries } from '../src/queries/index.ts';
import { builtinLists, defaultListIds, keyedListIds } from '../src/probes/dnsbl-lists.ts';
import { DnsClient } from '../src/protocols/dns/client.ts';
import { Runner } from '../src/runner/runner.ts';
import { outboxSnapshotOf, probeServicesOf } from '../src/runner/services.ts';
import { commonTags, measurements, type FieldSpec, type MeasurementSpec } from '../src/measurements/index.ts';
import { Database } from '../src/store/database.ts';

type JsonSchema = {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  default?: unknown;
  description?: string;
};

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

function typeOf(schema: JsonSchema): string {
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.enum) return schema.enum.map((value) => String(value)).join(', ');
  if (schema.anyOf) return schema.anyOf.map(typeOf).join(' or ');
  if (Array.isArray(schema.type)) return schema.type.join(' or ');
  if (schema.type === 'array') return `list of ${schema.items ? typeOf(schema.items) : 'values'}`;
  if (schema.type === 'object') return 'mapping';
  return schema.type ?? 'any';
}

function keyRows(schema: JsonSchema, skip: ReadonlySet<string> = new Set(), prefix = ''): string[] {
  const rows: string[] = [];
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    if (skip.has(key)) continue;
    const name = `${prefix}${key}`;
    if (property.type === 'object' && property.properties) {
      rows.push(...keyRows(property, new Set(), `${name}.`));
      continue;
    }
    const required = schema.required?.includes(key) && property.default === undefined;
    const fallback = property.default !== undefined ? `\`${JSON.stringify(property.default)}\`` : required ? 'required' : '—';
    rows.push(`| \`${name}\` | ${cell(typeOf(property))} | ${cell(fallback)} | ${cell(property.description ?? '')} |`);
    if (property.type === 'array' && property.items?.type === 'object') rows.push(...keyRows(property.items, new Set(), `${name}[].`));
  }
  return rows;
}

function keyTable(schema: z.ZodType, skip?: ReadonlySet<string>): string {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return ['| key | type | default | meaning |', '|---|---|---|---|', ...keyRows(json, skip)].join('\n');
}

function instanceConfig(): string {
  return keyTable(InstanceSchema);
}

function probeBase(): string {
  return keyTable(ProbeBase);
}

function probeKinds(): string {
  // Keys every probe has are in their own table; `kind` is the heading.
  const common = new Set(Object.keys(ProbeBase.shape));
  return probes.map((probe) => [`#### \`${probe.kind}\``, '', probe.description, '', keyTable(probe.configSchema, common)].join('\n')).join('\n\n');
}

function ruleKeys(): string {
  return keyTable(RuleSchema);
}

/** A registry of kinds (notifiers, platforms, sources): per kind, its description and its own keys (id and kind aside). */
function kindSections(kinds: readonly { kind: string; description: string; configSchema: Parameters<typeof keyTable>[0] }[]): string {
  const common = new Set(['id', 'kind']);
  return kinds.map((entry) => [`#### \`${entry.kind}\``, '', entry.description, '', keyTable(entry.configSchema, common)].join('\n')).join('\n\n');
}

function measurementTables(): string {
  return Object.entries(measurements as Record<string, MeasurementSpec>)
    .map(([name, spec]) => {
      const tags = [...Object.keys(commonTags), ...Object.keys(spec.tags)].map((tag) => `\`${tag}\``).join(', ');
      const fields = Object.entries(spec.fields as Record<string, FieldSpec>).map(
        ([field, fieldSpec]) => `| \`${field}\` | ${fieldSpec.type} | ${fieldSpec.unit ?? ''} | ${cell(fieldSpec.description)} |`,
      );
      return [`#### \`${name}\``, '', `${spec.description} Tags: ${tags}.`, '', '| field | type | unit | meaning |', '|---|---|---|---|', ...fields].join('\n');
    })
    .join('\n\n');
}

async function apiRoutes(): Promise<string> {
  const db = Database.open(':memory:');
  const log = createLogger({ level: 'silent' });
  const config = { configFile: '', dataDir: ':memory:', probeFiles: [], probes: [], rules: [], instance: InstanceSchema.parse({}) };
  // Never asked: the routes only need a runner to exist.
  const dns = new DnsClient({ servers: [{ host: '127.0.0.1', port: 53 }] });
  const runner = new Runner({ db, clock: systemClock, log, services: probeServicesOf(config.instance, dns, outboxSnapshotOf(db, systemClock, false)) });
  const app = await buildApp({ config, probes: [], queries: storeQueries(db), runner, clock: systemClock }, { log, version: 'docs' });
  const document = app.swagger() as { paths: Record<string, Record<string, { summary?: string }>> };
  const access = new Map(app.routeAccess.map((route) => [`${route.method} ${route.url.replace(/:(\w+)/g, '{$1}')}`, route.access]));
  const rows: string[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const verb = method.toUpperCase();
      rows.push(`| \`${verb} ${path}\` | ${access.get(`${verb} ${path}`) ?? '?'} | ${cell(operation.summary ?? '')} |`);
    }
  }
  await app.close();
  dns.close();
  db.close();
  return ['| route | role | what |', '|---|---|---|', ...rows].join('\n');
}

function bounceClassTable(): string {
  const rows = Object.entries(bounceClasses).map(([name, meaning]) => `| \`${name}\` | ${cell(meaning)} |`);
  return ['| class | meaning |', '|---|---|', ...rows].join('\n');
}

function errorCodeTable(): string {
  const rows = Object.entries(errorCodes).map(([code, { status, meaning }]) => `| \`${code}\` | ${status} | ${cell(meaning)} |`);
  return ['| code | HTTP status | meaning |', '|---|---|---|', ...rows].join('\n');
}

function blocklistTable(): string {
  const defaults = new Set<string>(defaultListIds);
  const rows = [...builtinLists].map(
    (list) => `| \`${list.id}\`${defaults.has(list.id) ? ' ✓' : ''} | ${cell(list.name)} | \`${list.zone}\` | ${list.kind}${list.ipv6 ? ', IPv6' : ''} | ${cell(list.terms ?? '')} |`,
  );
  const dqs = keyedListIds.map((id) => `\`${id}\``).join(', ');
  return [
    '| id (✓ = default set) | list | zone | kind | terms |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    `With \`blocklists.spamhausDqsKey\` set: ${dqs} (zones \`<key>.zen.dq.spamhaus.net\` and so on; ZRD exists only this way).`,
  ].join('\n');
}

export async function renderSections(): Promise<Record<string, string>> {
  return {
    blocklists: blocklistTable(),
    'instance-config': instanceConfig(),
    'probe-base': probeBase(),
    'probe-kinds': probeKinds(),
    'rule-keys': ruleKeys(),
    'notifier-kinds': kindSections(notifiers),
    'platform-kinds': kindSections(platforms),
    'source-kinds': kindSections(sources),
    'bounce-classes': bounceClassTable(),
    measurements: measurementTables(),
    'api-routes': await apiRoutes(),
    'error-codes': errorCodeTable(),
  };
}

const marker = (name: string) => [`<!-- generated:${name} -->`, `<!-- /generated:${name} -->`] as const;

/** The document (docs/reference.md) with every generated section replaced; throws when a marker pair is missing. */
export function fillReadme(readme: string, sections: Record<string, string>): string {
  let text = readme;
  for (const [name, content] of Object.entries(sections)) {
    const [open, close] = marker(name);
    const start = text.indexOf(open);
    const end = text.indexOf(close);
    if (start === -1 || end === -1 || end < start) throw new Error(`the document lacks the markers ${open} … ${close}`);
    text = `${text.slice(0, start + open.length)}\n${content}\n${text.slice(end)}`;
  }
  return text;
}
