import { z } from 'zod';
import { failModes } from '../core/control-vocabulary.ts';
import { logFormats, logLevels } from '../core/logger.ts';
import { orList } from '../core/text.ts';
import { dnsServer, duration, identifier, listenAddress, longDuration, postgresUrl, secret, uniqueIds } from '../core/schema.ts';
import { blocklistsSchema } from '../probes/dnsbl-config.ts';
import { RuleSchema } from '../alerts/rules.ts';
import { platformConfigSchema, platforms } from '../platforms/index.ts';
import { sourceConfigSchema, sourceKindNames } from '../sources/index.ts';
import { notifierConfigSchema, notifiers } from '../notifiers/index.ts';
import { probeDefinitionSchema } from '../probes/index.ts';
import { defaultReportLimits } from '../reports/service.ts';

/** Lowest first; a token may use what its role and every role below it may. `ingest` may only post traffic events and reports. */
export const roles = ['ingest', 'viewer', 'operator', 'admin'] as const;
export type Role = (typeof roles)[number];

const ApiToken = z.strictObject({
  name: identifier.describe('who uses it; shown in logs and the audit log'),
  role: z.enum(roles).describe('ingest < viewer < operator < admin (ingest: may only post traffic events and reports)'),
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

/** Deliveries retried with backoff: notifications, and controls pushed to platforms. */
const retrySchema = z
  .strictObject({
    min: duration.prefault('5s').describe('first delay after a failed delivery (doubling, with jitter)'),
    max: duration.prefault('10m').describe('longest delay between attempts'),
    attempts: z.int().min(1).max(100).default(12).describe('attempts before a delivery is given up as failed'),
    timeout: duration.prefault('15s').describe('per attempt'),
  })
  .prefault({});

/** mailscope.yaml: the instance. */
export const InstanceSchema = z.strictObject({
  dataDir: z.string().min(1).default('./data').describe('where the SQLite store lives (relative to the config file)'),
  store: z
    .discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('sqlite').describe('the embedded store: one file in dataDir (the default)') }),
      z.strictObject({
        kind: z.literal('postgres').describe('a PostgreSQL database several instances share (high availability)'),
        url: postgresUrl().describe('postgres://user:password@host:5432/database; use ${DATABASE_URL} (a secret: never shown)'),
        statementTimeout: duration.prefault('5s').describe('a statement the database has not answered by then fails (the store waits for each)'),
        connectTimeout: duration.prefault('5s').describe('per connection attempt'),
        leaseTtl: duration
          .prefault('15s')
          .refine((ms) => ms >= 1_000, { message: 'at least 1s' })
          .describe('how long the leader lease lasts unless renewed: a dead leader is replaced within it'),
        heartbeat: duration.prefault('5s').describe('how often an instance says it is alive (mailscope status) and, when it does not lead, asks for the lease'),
      }),
    ])
    .prefault({ kind: 'sqlite' })
    .describe('where the store lives: { kind: sqlite } (default) or { kind: postgres, url } for several instances on one database'),
  http: z
    .strictObject({
      listen: listenAddress.prefault('127.0.0.1:8025').describe('host:port of the API; port 0 picks a free port'),
      requestTimeout: duration.prefault('30s').describe('a request (headers and body) must arrive in full within this, or it is answered 408 and its connection closed'),
      keepAliveTimeout: duration.prefault('65s').describe('a kept-alive connection with no request for this long is closed'),
      maxConnections: z.int().min(1).max(1_000_000).default(1_000).describe('connections open at once; more are refused until some close'),
    })
    .prefault({}),
  tokens: ApiTokens.default([]).describe('API bearer tokens: list of { name, role, token }'),
  dns: z
    .strictObject({
      resolvers: z
        .array(dnsServer)
        .min(1)
        .optional()
        .describe("resolvers every probe asks, in turn; default: the system's (/etc/resolv.conf). Use your own recursive resolver: DNSBLs refuse public ones"),
      timeout: duration.prefault('2s').describe('per attempt'),
      attempts: z.int().min(1).max(10).default(3).describe('tries per query, across the resolvers in turn'),
      rateLimit: z.int().min(0).default(500).describe('queries per second to each resolver; 0 = no limit'),
      maxInFlight: z.int().min(1).max(10_000).default(100).describe('queries in flight at once to each resolver'),
      cacheEntries: z.int().min(0).default(10_000).describe('answers cached for their TTL; 0 = no cache'),
    })
    .prefault({}),
  blocklists: blocklistsSchema,
  influx: z
    .strictObject({
      api: z.enum(['v2', 'v1']).default('v2').describe('v2: the /api/v2/write API (InfluxDB 2.x, 3, v2-compatible servers); v1: /write (InfluxDB 1.x)'),
      url: z
        .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })
        // The client never sends them, and the URL is shown (GET /v1/config, logs): credentials have their own keys.
        .refine((text) => !/^[a-z]+:\/\/[^/]*@/i.test(text), { message: 'must not carry credentials (user:password@; not shown: they are secrets): use token (v2) or username and password (v1)' })
        .describe('the server, e.g. http://127.0.0.1:8086 (no user:password@ in it: use token or username and password)'),
      org: z.string().min(1).optional().describe('v2: the organization'),
      bucket: z.string().min(1).optional().describe('v2: the bucket (on 3.x: the database)'),
      token: secret().optional().describe('v2: an API token with write access; use ${VAR}'),
      database: z.string().min(1).optional().describe('v1: the database'),
      retentionPolicy: z.string().min(1).optional().describe("v1: the retention policy; default: the database's default"),
      username: z.string().min(1).optional().describe('v1: user, when authentication is on'),
      password: secret().optional().describe('v1: password; use ${VAR}'),
      batchSize: z.int().min(1).max(50_000).default(5_000).describe('points per write'),
      flushInterval: duration.prefault('1s').describe('pause between flushes when the outbox is empty'),
      timeout: duration.prefault('10s').describe('per write request'),
      maxRetryDelay: duration.prefault('5m').describe('longest backoff between failed writes (exponential with jitter; Retry-After is honoured)'),
    })
    .superRefine((influx, ctx) => {
      const need = influx.api === 'v2' ? (['org', 'bucket'] as const) : (['database'] as const);
      for (const key of need) if (!influx[key]) ctx.addIssue({ code: 'custom', path: [key], message: `required with api ${influx.api}` });
      const foreign = influx.api === 'v2' ? (['database', 'retentionPolicy', 'username', 'password'] as const) : (['org', 'bucket', 'token'] as const);
      for (const key of foreign) if (influx[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `only with api ${influx.api === 'v2' ? 'v1' : 'v2'}` });
      if (influx.api === 'v1' && (influx.username === undefined) !== (influx.password === undefined))
        ctx.addIssue({ code: 'custom', path: ['password'], message: 'username and password go together' });
    })
    .optional()
    .describe('where time series go (optional: without it, results stay in the store and the outbox)'),
  retention: z
    .strictObject({
      keep: longDuration
        .prefault('30d')
        .describe('runs, observations, resolved alerts and delivered notifications older than this are deleted from the store (time series in InfluxDB keep their own retention)'),
      interval: duration.prefault('1h').describe('how often old rows are pruned'),
      batchSize: z.int().min(100).max(100_000).default(5_000).describe('rows deleted per transaction; the event loop (probes, API) runs between batches'),
    })
    .prefault({}),
  notifiers: z
    .array(notifierConfigSchema)
    .default([])
    .superRefine(uniqueIds('notifier', 'notifiers'))
    .describe(`where alerts go: list of { id, kind: ${notifiers.map((notifier) => notifier.kind).join(' | ')}, ... }; rules name them in notify:`),
  platforms: z
    .array(platformConfigSchema)
    .default([])
    .superRefine(uniqueIds('platform', 'platforms'))
    .describe(`sending platforms under control: list of { id, kind: ${platforms.map((platform) => platform.kind).join(' | ')}, ... }`),
  sources: z
    .array(sourceConfigSchema)
    .default([])
    .superRefine(uniqueIds('source', 'sources'))
    .describe(
      `where the platform's own traffic and its feedback reports come from: list of { id, kind: ${sourceKindNames.join(' | ')}, ... } (posted to /v1/ingest/<kind>, tailed, or read from a mailbox or directory)`,
    ),
  traffic: z
    .strictObject({
      campaignTag: z.boolean().default(false).describe('count each campaign apart (a tag of the traffic series): only when campaigns are few'),
      flushInterval: duration.prefault('10s').describe('how often changed minutes are written to the outbox and shown to the alert rules'),
      reasons: z.int().min(1).max(1_000).default(20).describe('distinct replies kept per hour, provider and bounce class (the least recently seen go)'),
      mxLookup: z.boolean().default(true).describe('find the provider of a domain the built-in list and controls.providers do not know by its MX hosts (cached a day)'),
    })
    .prefault({})
    .describe('how traffic events are aggregated (per minute, provider, sending IP and pool)'),
  reports: z
    .strictObject({
      maxInputBytes: z
        .int()
        .min(1024)
        .max(1024 ** 3)
        .default(defaultReportLimits.maxInputBytes)
        .describe('largest input read, as it came (compressed), in bytes'),
      maxExpandedBytes: z
        .int()
        .min(1024)
        .max(4 * 1024 ** 3)
        .default(defaultReportLimits.maxExpandedBytes)
        .describe('largest decompressed report, in bytes: decompression stops there and the input is refused (a bomb)'),
      maxZipMembers: z.int().min(1).max(10_000).default(defaultReportLimits.maxZipMembers).describe('most members read from one zip'),
      maxNesting: z.int().min(1).max(8).default(defaultReportLimits.maxNesting).describe('most archives inside archives'),
      maxXmlDepth: z.int().min(4).max(256).default(defaultReportLimits.maxXmlDepth).describe('deepest XML element nesting'),
      maxXmlElements: z.int().min(100).max(1e9).default(defaultReportLimits.maxXmlElements).describe('most XML elements in one report'),
      maxRows: z.int().min(1).max(1e8).default(defaultReportLimits.maxRows).describe('most rows (DMARC records, TLS failure details) in one report'),
      maxParts: z.int().min(1).max(1_000).default(defaultReportLimits.maxParts).describe('most parts of one mail looked at'),
      nameSources: z.boolean().default(true).describe('name DMARC source IPs by their forward-confirmed reverse DNS (google.com reads as a forwarder)'),
      namesPerReport: z.int().min(0).max(100_000).default(1_000).describe('source IPs looked up per report at most (the rest are named by their IP until a later report)'),
    })
    .prefault({})
    .describe('feedback reports (DMARC aggregate, TLS-RPT, ARF, DSN): what one input may cost, and how sources are named'),
  controls: z
    .strictObject({
      failMode: z
        .enum(failModes)
        .default('open')
        .describe('when a control might apply but the question lacks a key its scope names (or Mailscope fails to answer): open lets the mail go; closed holds or defers it'),
      interval: duration.prefault('5s').describe('how often expiries and cool-downs are checked, and controls changed by another process (the CLI) picked up'),
      providers: z
        .record(identifier, z.array(z.string().regex(/^[a-z0-9.-]+$/i, { message: 'expected a domain name' })).min(1))
        .default({})
        .describe('recipient domains per provider, added to the built-in ones (gmail, outlook, yahoo, apple, ...), so a control can name provider: gmail'),
      retry: retrySchema,
    })
    .prefault({})
    .describe('send control: pauses and throttles, the policy they answer, and their pushes to platforms'),
  alerts: z
    .strictObject({
      interval: duration.prefault('30s').describe('how often firing alerts are re-checked for reminders, silences that ended and flapping that stopped'),
      renotify: longDuration.prefault('4h').describe('repeat a firing, unacknowledged alert this often (a rule may say otherwise)'),
      flap: z
        .strictObject({
          window: longDuration.prefault('1h'),
          maxTransitions: z.int().min(2).default(4).describe('more firing/resolved changes than this within the window: flapping, notifications held until a window passes without one'),
        })
        .prefault({}),
      retry: retrySchema,
      externalUrl: z.url().optional().describe("Mailscope's API as people reach it, for links in notifications (e.g. https://mailscope.example.com)"),
      dashboardUrl: z.url().optional().describe('a Grafana dashboard to link from notifications'),
    })
    .prefault({}),
  console: z
    .strictObject({
      enabled: z.boolean().default(true).describe('serve the console (pages at /) on http.listen'),
      sessionTtl: duration.prefault('12h').describe('how long a sign-in lasts (the session ends then, or at sign-out)'),
      secureCookie: z.boolean().default(false).describe('mark the session cookie Secure: set it when the console is reached over HTTPS (a TLS reverse proxy)'),
    })
    .prefault({})
    .describe('the built-in console: pages to watch and act, signed in with an API token (viewer or higher)'),
  log: z
    .strictObject({
      level: z.enum(logLevels).default('info').describe(orList(logLevels)),
      format: z
        .enum(logFormats)
        .default('auto')
        .describe('auto (pretty on a terminal, JSON otherwise: systemd, pipes, files), json (one JSON object per line), or pretty (for people: time, level, message, fields below)'),
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
  rules: z.array(RuleSchema).default([]).describe('alert rules: conditions over what the probes record'),
});
