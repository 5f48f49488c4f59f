import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SearchObject } from 'imapflow';
import { z } from 'zod';
import type { FieldSpec, MeasurementSpec } from '../core/measurement.ts';
import type { Clock } from '../core/clock.ts';
import { maxStringFieldLength, type Observation } from '../core/observation.ts';
import { duration, identifier, longDuration, readableFile, secret } from '../core/schema.ts';
import { readDsn } from '../protocols/mail/dsn.ts';
import type { BounceReport } from '../protocols/reports/types.ts';
import { fetchSource, searchFolder, type Folder } from '../protocols/imap/seed-mailbox.ts';
import { submit, type SmtpEndpoint } from '../protocols/smtp/submit.ts';
import { readCaFile } from './ca-file.ts';
import { defineProbe, ProbeBase, type ProbeContext } from './define.ts';
import { cleanUp, closeSeed, openSeed, readSeed, type Credential, type Failure, type Found, type SeedSession, type SeedTarget } from './placement-seeds.ts';
import { placementCounts } from './placement-summary.ts';

const security = z.enum(['tls', 'starttls', 'none']);
const defaultImapPorts = { tls: 993, starttls: 143, none: 143 } as const;
const defaultSmtpPorts = { tls: 465, starttls: 587, none: 25 } as const;

const imapSettings = z
  .object({
    host: z.string().min(1).optional().describe('IMAP server host name or address'),
    port: z.int().min(1).max(65_535).optional().describe('default: 993 (tls), 143 (starttls, none)'),
    security: security.optional().describe('tls (default) | starttls | none'),
    caFile: readableFile.optional().describe('PEM of a private CA for the IMAP server'),
    servername: z.string().min(1).optional().describe('TLS server name, when host is an address'),
    timeout: duration.optional().describe('connect and greeting deadline (default 20s)'),
  })
  .strict();

const oauth2 = z
  .object({
    command: z.array(z.string().min(1)).min(1).optional().describe('argv of a command that prints an access token'),
    tokenUrl: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe("the provider's OAuth2 token endpoint (refresh_token grant)"),
    clientId: z.string().min(1).optional(),
    clientSecret: secret().optional(),
    refreshToken: secret().optional(),
    scope: z.string().optional(),
  })
  .strict()
  .superRefine((value, ctx) => {
    const byUrl = value.tokenUrl !== undefined;
    if ((value.command !== undefined) === byUrl) ctx.addIssue({ code: 'custom', message: 'expected either command or tokenUrl (with clientId and refreshToken)' });
    if (byUrl && (!value.clientId || !value.refreshToken)) ctx.addIssue({ code: 'custom', message: 'tokenUrl needs clientId and refreshToken' });
  });

const mailboxAuth = z
  .object({
    user: z.string().min(1).optional().describe('login name; default: the address'),
    password: secret().optional().describe('password (use ${VAR})'),
    accessToken: secret().optional().describe('an OAuth2 access token for XOAUTH2 (use ${VAR})'),
    oauth2: oauth2.optional().describe('obtain an access token each run: { command: [...] } or { tokenUrl, clientId, clientSecret, refreshToken }'),
  })
  .strict()
  .superRefine((value, ctx) => {
    const given = ['password', 'accessToken', 'oauth2'].filter((key) => value[key as keyof typeof value] !== undefined);
    if (given.length !== 1) ctx.addIssue({ code: 'custom', message: `expected exactly one of password, accessToken, oauth2${given.length > 1 ? ` (got ${given.join(', ')})` : ''}` });
  });

const mailbox = z
  .object({
    address: z.email({ error: 'expected an email address' }).describe('the seed address'),
    imap: imapSettings.optional().describe("this mailbox's IMAP server; merged over the probe's imap defaults"),
    auth: mailboxAuth,
    folders: z
      .object({
        junk: z.string().min(1).optional().describe('the spam folder, when discovery would miss it'),
        categories: z.record(z.string().min(1), z.string().min(1)).optional().describe('category name → folder, e.g. { promotions: Promotions }'),
      })
      .strict()
      .optional(),
    authservId: z.string().min(1).optional().describe('trust only Authentication-Results from this receiver (its authserv-id)'),
  })
  .strict();

const template = z
  .object({
    from: z.string().min(3).describe('From header, e.g. "News <news@example.com>"'),
    subject: z.string().min(1).describe('subject; {token} is replaced by the probe token'),
    text: z.string().optional().describe('plain-text body; {token} is replaced'),
    html: z.string().optional().describe('HTML body; {token} is replaced'),
    to: z.string().optional().describe('To header; default: the seed addresses'),
    headers: z
      .record(z.string().regex(/^[\x21-\x39\x3b-\x7e]+$/, { message: 'not a header name' }), z.string())
      .default({})
      .describe('extra headers: List-Unsubscribe, List-Unsubscribe-Post, the pool or campaign header your platform routes by'),
  })
  .strict()
  .refine((value) => value.text !== undefined || value.html !== undefined, { message: 'expected text, html or both' });

const smtpSettings = z
  .object({
    host: z.string().min(1).describe("the routing engine's submission host"),
    port: z.int().min(1).max(65_535).optional().describe('default: 587 (starttls), 465 (tls), 25 (none)'),
    security: security.default('starttls').describe('starttls (default) | tls | none'),
    caFile: readableFile.optional(),
    servername: z.string().min(1).optional(),
    auth: z
      .object({ user: z.string().min(1), password: secret() })
      .strict()
      .optional(),
    envelopeFrom: z.email({ error: 'expected an email address' }).describe('MAIL FROM: where bounces go (the bounces mailbox, to read them)'),
    timeout: duration.prefault('30s'),
  })
  .strict();

const configSchema = ProbeBase.extend({
  kind: z.literal('placement'),
  timeout: duration.prefault('15m').describe('a run still going after this is recorded as PROBE_TIMEOUT; must exceed wait'),
  mode: z.enum(['active', 'passive']).default('active').describe('active: send a seed message; passive: find real campaign messages'),
  imap: imapSettings.optional().describe('IMAP defaults for every seed (host, port, security, caFile)'),
  seeds: z
    .record(identifier, z.array(mailbox).min(1, { message: 'expected at least one mailbox' }))
    .refine((value) => Object.keys(value).length > 0, { message: 'expected at least one provider' })
    .describe('seed mailboxes by provider name: { gmail: [...], outlook: [...] }'),
  smtp: smtpSettings.optional().describe('active mode: the routing engine to submit through'),
  message: template.optional().describe('active mode: the seed message'),
  passive: z
    .object({
      header: z
        .string()
        .regex(/^[\x21-\x39\x3b-\x7e]+$/, { message: 'not a header name' })
        .describe('the header that identifies the campaign, e.g. X-Campaign-Id or List-Id'),
      value: z.string().min(1).describe('its value (a substring match, as IMAP SEARCH HEADER does)'),
      window: longDuration.prefault('24h').describe('how far back to look'),
    })
    .strict()
    .optional()
    .describe('passive mode: what to look for'),
  bounces: mailbox.optional().describe("active mode: the envelopeFrom's mailbox, read for bounces: a seed whose bounce arrives is rejected, with the reason"),
  wait: duration.prefault('10m').describe('how long to look for the message after submission'),
  pollInterval: duration.prefault('5s').describe('pause between searches of a seed'),
  cleanup: z.enum(['delete', 'move', 'keep']).optional().describe('what to do with the message found; default delete (active), keep (passive)'),
  cleanupFolder: z.string().min(1).optional().describe('cleanup: move puts it here'),
})
  .strict()
  .superRefine((config, ctx) => {
    if (config.mode === 'active') {
      if (!config.smtp) ctx.addIssue({ code: 'custom', path: ['smtp'], message: 'required in active mode' });
      if (!config.message) ctx.addIssue({ code: 'custom', path: ['message'], message: 'required in active mode' });
      if (config.passive) ctx.addIssue({ code: 'custom', path: ['passive'], message: 'only in passive mode' });
    } else {
      if (!config.passive) ctx.addIssue({ code: 'custom', path: ['passive'], message: 'required in passive mode' });
      for (const key of ['smtp', 'message', 'bounces'] as const) if (config[key]) ctx.addIssue({ code: 'custom', path: [key], message: 'only in active mode' });
    }
    if (config.cleanup === 'move' && !config.cleanupFolder) ctx.addIssue({ code: 'custom', path: ['cleanupFolder'], message: 'required when cleanup is move' });
    if (config.timeout < config.wait + 30_000) ctx.addIssue({ code: 'custom', path: ['timeout'], message: `must exceed wait (${config.wait / 1000} s) by at least 30 s` });
    for (const [provider, list] of Object.entries(config.seeds)) {
      list.forEach((seed, index) => {
        if (!seed.imap?.host && !config.imap?.host) ctx.addIssue({ code: 'custom', path: ['seeds', provider, index, 'imap', 'host'], message: 'required (here or in the probe-level imap)' });
      });
    }
  });

type PlacementConfig = z.output<typeof configSchema>;
type MailboxConfig = z.output<typeof mailbox>;

const tokenHeader = 'X-Mailscope-Token';

function credentialOf(auth: MailboxConfig['auth']): Credential {
  if (auth.password) return { password: auth.password.reveal() };
  if (auth.accessToken) return { accessToken: auth.accessToken.reveal() };
  const o = auth.oauth2!;
  if (o.command) return { oauth2: { command: o.command } };
  return { oauth2: { tokenUrl: o.tokenUrl!, clientId: o.clientId!, clientSecret: o.clientSecret?.reveal(), refreshToken: o.refreshToken!.reveal(), scope: o.scope } };
}

function targetOf(provider: string, seed: MailboxConfig, defaults: PlacementConfig['imap']): SeedTarget {
  const imap = { ...defaults, ...seed.imap };
  const securityMode = imap.security ?? 'tls';
  return {
    provider,
    address: seed.address.toLowerCase(),
    endpoint: {
      host: imap.host!,
      port: imap.port ?? defaultImapPorts[securityMode],
      security: securityMode,
      ca: readCaFile(imap.caFile),
      servername: imap.servername,
      user: seed.auth.user ?? seed.address,
      timeoutMs: imap.timeout ?? 20_000,
    },
    credential: credentialOf(seed.auth),
    folders: seed.folders,
    authservId: seed.authservId,
  };
}

interface SeedOutcome {
  target: SeedTarget;
  outcome: string;
  fields: Observation['fields'];
  deliveryMs?: number;
}

function fill(text: string | undefined, token: string): string | undefined {
  return text?.replaceAll('{token}', token);
}

function domainOf(from: string): string {
  return /@([^>\s]+)>?\s*$/.exec(from)?.[1]?.toLowerCase() ?? 'mailscope.invalid';
}

function foundFields(found: Found, submittedAt: Date | undefined): { outcome: string; fields: Observation['fields']; deliveryMs?: number } {
  const category = found.gmailCategory ?? (found.folder.role === 'category' ? found.folder.category : undefined);
  const outcome = found.folder.role === 'spam' ? 'spam' : category ? `category:${category}` : 'inbox';
  const { facts } = found;
  const fields: Observation['fields'] = { outcome, folder: found.folder.path, found_by: found.gmailCategory ? 'gmail-category' : found.folder.foundBy, hops: facts.hops };
  if (category) fields.category = category;
  for (const [field, value] of [
    ['spf', facts.spf],
    ['dkim', facts.dkim],
    ['dmarc', facts.dmarc],
    ['arc', facts.arc],
    ['authserv_id', facts.authservId],
    ['spam_flag', facts.spamFlag],
    ['spam_score', facts.spamScore],
    ['spam_status', facts.spamStatus],
    ['rspamd_action', facts.rspamdAction],
    ['rspamd_score', facts.rspamdScore],
    ['tls', facts.tls],
    ['tls_version', facts.tlsVersion],
    ['message_id', facts.messageId],
  ] as const) {
    if (value !== undefined) fields[field] = value;
  }
  let deliveryMs: number | undefined;
  if (submittedAt) {
    const receivedAt = facts.receivedAt ?? found.internalDate;
    // Received times have 1 s resolution: a message taken within the same second reads as 0.
    if (receivedAt) deliveryMs = Math.max(0, receivedAt.getTime() - submittedAt.getTime());
    fields.found_ms = found.foundAt.getTime() - submittedAt.getTime();
    if (deliveryMs !== undefined) fields.delivery_ms = deliveryMs;
  }
  return { outcome, fields, ...(deliveryMs !== undefined ? { deliveryMs } : {}) };
}

const errorOutcome = (target: SeedTarget, failure: Failure): SeedOutcome => ({
  target,
  outcome: 'error',
  fields: { outcome: 'error', error_code: failure.code, error: failure.message.slice(0, 2_000) },
});

/**
 * The recipients a bounce says refused the message, each by the address it was
 * sent to: the Original-Recipient when the DSN gives it (the seed, before any
 * alias or forwarding rewrote it), else the Final-Recipient. Delays are no verdict.
 */
export function refusedRecipients(report: BounceReport): { address: string; status?: string; diagnostic?: string }[] {
  return report.recipients
    .filter((recipient) => recipient.action === 'failed')
    .map((recipient) => ({
      address: recipient.original ?? recipient.final,
      ...(recipient.status ? { status: recipient.status } : {}),
      ...(recipient.diagnostic ? { diagnostic: recipient.diagnostic } : {}),
    }));
}

/** Reads the bounce mailbox until every seed is settled or the deadline: a bounce for a seed makes it rejected. */
async function watchBounces(
  session: SeedSession,
  token: string,
  onBounce: (recipient: string, reason: { status?: string | undefined; diagnostic?: string | undefined }) => void,
  options: { deadline: number; pollMs: number; signal: AbortSignal; clock: Clock },
): Promise<void> {
  const inbox = session.folders.folders[0]!;
  const base = session.baseline.get(inbox.path) ?? 1;
  const seen = new Set<number>();
  while (!options.signal.aborted && options.clock.now().getTime() < options.deadline) {
    try {
      // A DSN returns the message (or its headers): the token is in its text.
      const uids = await searchFolder(session.client, inbox.path, { uid: `${base}:*`, text: token });
      for (const uid of uids.filter((id) => !seen.has(id))) {
        seen.add(uid);
        const report = await readDsn(await fetchSource(session.client, inbox.path, uid, 512 * 1024));
        for (const refused of report ? refusedRecipients(report) : []) onBounce(refused.address, refused);
      }
    } catch {
      return; // The bounce mailbox is a help, not a verdict: seeds stay as their own reading says.
    }
    await sleep(Math.max(0, Math.min(options.pollMs, options.deadline - options.clock.now().getTime())), undefined, { signal: options.signal }).catch(() => {});
  }
}

async function run(config: PlacementConfig, ctx: ProbeContext): Promise<Observation[]> {
  const time = ctx.clock.now();
  const targets = Object.entries(config.seeds).flatMap(([provider, list]) => list.map((seed) => targetOf(provider, seed, config.imap)));
  const active = config.mode === 'active';
  const token = randomBytes(12).toString('base64url');
  const outcomes = new Map<string, SeedOutcome>();
  const settle = (outcome: SeedOutcome) => {
    if (!outcomes.has(outcome.target.address)) outcomes.set(outcome.target.address, outcome);
  };

  // 1. Every mailbox open, its folders known and (active) where new mail starts, before anything is sent.
  const bounceTarget = active && config.bounces ? targetOf('bounces', config.bounces, config.imap) : undefined;
  const windowStart = new Date(ctx.clock.now().getTime() - (config.passive?.window ?? 0));
  const baseline = active ? ('uidnext' as const) : { since: windowStart };
  const opened = await Promise.all([...targets, ...(bounceTarget ? [bounceTarget] : [])].map(async (target) => ({ target, session: await openSeed(target, { baseline, signal: ctx.signal }) })));
  const sessions = new Map<string, SeedSession>();
  let bounceSession: SeedSession | undefined;
  for (const { target, session } of opened) {
    if (target === bounceTarget) {
      if ('client' in session) bounceSession = session;
      else ctx.log.warn({ code: session.code }, `bounce mailbox unavailable: ${session.message}`);
    } else if ('client' in session) sessions.set(target.address, session);
    else settle(errorOutcome(target, session));
  }

  const runFields: Observation['fields'] = { mode: config.mode, token };
  let submittedAt: Date | undefined;
  try {
    // 2. Active: one submission to every seed whose mailbox could be read.
    if (active) {
      const smtp = config.smtp!;
      const message = config.message!;
      const recipients = targets.filter((target) => sessions.has(target.address)).map((target) => target.address);
      if (recipients.length > 0) {
        const endpoint: SmtpEndpoint = {
          host: smtp.host,
          port: smtp.port ?? defaultSmtpPorts[smtp.security],
          security: smtp.security,
          ca: readCaFile(smtp.caFile),
          servername: smtp.servername,
          auth: smtp.auth ? { user: smtp.auth.user, password: smtp.auth.password.reveal() } : undefined,
          timeoutMs: smtp.timeout,
        };
        const result = await submit(
          endpoint,
          { from: smtp.envelopeFrom, to: recipients },
          {
            from: message.from,
            to: message.to ?? recipients.join(', '),
            subject: fill(message.subject, token),
            ...(message.text !== undefined ? { text: fill(message.text, token) } : {}),
            ...(message.html !== undefined ? { html: fill(message.html, token) } : {}),
            messageId: `<${token}.mailscope@${domainOf(message.from)}>`,
            headers: { ...message.headers, [tokenHeader]: token },
          },
          () => ctx.clock.now(),
        );
        if (!result.ok) {
          runFields.submitted = false;
          runFields.smtp_response = result.message.slice(0, 2_000);
          for (const address of recipients) settle(errorOutcome(sessions.get(address)!.target, result));
        } else {
          submittedAt = result.submittedAt;
          runFields.submitted = result.accepted.length > 0;
          runFields.smtp_response = result.response.slice(0, 2_000);
          for (const [address, refusal] of result.refused) {
            const session = sessions.get(address);
            if (!session) continue;
            settle({
              target: session.target,
              outcome: 'rejected',
              fields: {
                outcome: 'rejected',
                rejected_at: 'submission',
                ...(refusal.code !== undefined ? { smtp_code: refusal.code } : {}),
                smtp_response: refusal.response.slice(0, 2_000),
              },
            });
          }
        }
      }
    }

    // 3. Read every unsettled seed in parallel until found or the deadline; bounces settle seeds too.
    const deadline = ctx.clock.now().getTime() + config.wait;
    const stop = new AbortController();
    const stopAll = () => stop.abort();
    ctx.signal.addEventListener('abort', stopAll, { once: true });
    const perSeed = new Map<string, AbortController>();
    const pending = [...sessions.values()].filter((session) => !outcomes.has(session.target.address));
    for (const session of pending) perSeed.set(session.target.address, new AbortController());
    const criteria =
      (session: SeedSession) =>
      (folder: Folder): SearchObject =>
        active
          ? { uid: `${session.baseline.get(folder.path) ?? 1}:*`, header: { [tokenHeader]: token } }
          : { uid: `${session.baseline.get(folder.path) ?? 1}:*`, since: windowStart, header: { [config.passive!.header]: config.passive!.value } };
    const seedAddresses = new Map([...sessions.keys()].map((address) => [address.toLowerCase(), address]));
    const bounceWatch =
      bounceSession && pending.length > 0
        ? watchBounces(
            bounceSession,
            token,
            (address, reason) => {
              // A DSN gives addresses lower-cased; a seed may be configured otherwise.
              const recipient = seedAddresses.get(address.toLowerCase()) ?? address;
              const session = sessions.get(recipient);
              if (!session || outcomes.has(recipient)) return;
              settle({
                target: session.target,
                outcome: 'rejected',
                fields: {
                  outcome: 'rejected',
                  rejected_at: 'delivery',
                  ...(reason.diagnostic ? { bounce_reason: reason.diagnostic.slice(0, 2_000) } : {}),
                  ...(reason.status ? { bounce_status: reason.status } : {}),
                },
              });
              perSeed.get(recipient)?.abort();
            },
            { deadline, pollMs: config.pollInterval, signal: stop.signal, clock: ctx.clock },
          )
        : Promise.resolve();
    const cleanupAction = config.cleanup ?? (active ? 'delete' : 'keep');
    await Promise.all(
      pending.map(async (session) => {
        const seedStop = perSeed.get(session.target.address)!;
        const result = await readSeed(session, criteria(session), { deadline, pollMs: config.pollInterval, signal: AbortSignal.any([seedStop.signal, stop.signal]), clock: ctx.clock });
        if (ctx.signal.aborted) return;
        if ('failure' in result) settle(errorOutcome(session.target, result.failure));
        else if ('missing' in result) settle({ target: session.target, outcome: 'missing', fields: { outcome: 'missing' } });
        else {
          const { outcome, fields, deliveryMs } = foundFields(result.found, submittedAt);
          if (!active) fields.matches = result.found.matches;
          fields.cleanup = cleanupAction === 'keep' ? 'kept' : await cleanUp(session, result.found, cleanupAction === 'move' ? { moveTo: config.cleanupFolder! } : { delete: true });
          settle({ target: session.target, outcome, fields, ...(deliveryMs !== undefined ? { deliveryMs } : {}) });
        }
        if (pending.every((other) => outcomes.has(other.target.address))) stop.abort();
      }),
    );
    stop.abort();
    await bounceWatch;
    ctx.signal.removeEventListener('abort', stopAll);
    if (ctx.signal.aborted) throw ctx.signal.reason;
  } finally {
    await Promise.all([...sessions.values(), ...(bounceSession ? [bounceSession] : [])].map(closeSeed));
  }

  // 4. Observations: per seed, per provider, the run.
  const observations: Observation[] = [];
  for (const target of targets) {
    const outcome = outcomes.get(target.address)!;
    const session = sessions.get(target.address);
    const fields: Observation['fields'] = { ...outcome.fields };
    if (active) fields.token = token;
    if (session && session.searches > 0) {
      fields.searches = session.searches;
      fields.search_ms = session.searchMs / session.searches;
    }
    for (const [key, value] of Object.entries(fields)) if (typeof value === 'string') fields[key] = value.slice(0, maxStringFieldLength);
    observations.push({ measurement: 'placement', tags: { provider: target.provider, seed: target.address }, fields, time });
  }
  const all = targets.map((target) => outcomes.get(target.address)!);
  for (const provider of Object.keys(config.seeds)) {
    observations.push({ measurement: 'placement_provider', tags: { provider }, fields: placementCounts(all.filter((outcome) => outcome.target.provider === provider)), time });
  }
  observations.push({ measurement: 'placement_run', tags: {}, fields: { ...runFields, ...placementCounts(all) }, time });
  return observations;
}

/** Placement counts, rates and latency: per provider and per run. */
const placementCountFields = {
  seeds: { type: 'integer', description: 'seed mailboxes' },
  inbox: { type: 'integer', description: 'seeds where the message landed in the inbox' },
  spam: { type: 'integer', description: 'seeds where it landed in the spam folder' },
  category: { type: 'integer', description: 'seeds where it landed in a category (tab or folder)' },
  missing: { type: 'integer', description: 'seeds where it was not found by the deadline' },
  rejected: { type: 'integer', description: 'seeds that refused it (at submission, or a bounce)' },
  errors: { type: 'integer', description: 'seeds that could not be read (IMAP or submission failure): excluded from the rates' },
  inbox_rate: { type: 'float', unit: 'ratio', description: 'inbox / seeds with a known outcome (0..1); absent when none is known' },
  spam_rate: { type: 'float', unit: 'ratio', description: 'spam / seeds with a known outcome' },
  category_rate: { type: 'float', unit: 'ratio', description: 'category / seeds with a known outcome' },
  missing_rate: { type: 'float', unit: 'ratio', description: 'missing / seeds with a known outcome' },
  rejected_rate: { type: 'float', unit: 'ratio', description: 'rejected / seeds with a known outcome' },
  latency_p50_ms: { type: 'float', unit: 'ms', description: 'median delivery latency of the messages found' },
  latency_p90_ms: { type: 'float', unit: 'ms', description: '90th percentile delivery latency' },
  latency_max_ms: { type: 'float', unit: 'ms', description: 'slowest delivery' },
} as const satisfies Record<string, FieldSpec>;

/** What a placement run writes: one point per seed, per provider and per run. */
const measurements = {
  placement: {
    description: 'Where one seed mailbox received the probe message (or the campaign message, in passive mode), and what its headers say.',
    tags: { provider: 'the mailbox provider the seed belongs to (as configured: gmail, outlook, ...)', seed: 'the seed address' },
    fields: {
      outcome: { type: 'string', description: 'inbox | spam | category:<name> | missing | rejected | error (an IMAP or submission failure is never missing)' },
      folder: { type: 'string', description: 'the folder it was found in' },
      found_by: { type: 'string', description: 'how that folder was identified: inbox | special-use | name | config | gmail-category' },
      category: { type: 'string', description: 'the category (promotions, social, ...) when outcome is category:<name>' },
      delivery_ms: { type: 'float', unit: 'ms', description: "submission → the receiver's Received time (1 s resolution; INTERNALDATE when there is no Received time)" },
      found_ms: { type: 'float', unit: 'ms', description: 'submission → the probe found it (includes polling)' },
      spf: { type: 'string', description: 'SPF result as the receiver wrote it in Authentication-Results' },
      dkim: { type: 'string', description: 'DKIM result as the receiver saw it (pass if any signature passed)' },
      dmarc: { type: 'string', description: 'DMARC result as the receiver saw it' },
      arc: { type: 'string', description: 'ARC result, when the receiver checked it' },
      authserv_id: { type: 'string', description: 'the receiver that wrote those results' },
      spam_flag: { type: 'boolean', description: "the spam filter's verdict (X-Spam-Flag / X-Spam-Status)" },
      spam_score: { type: 'float', description: 'the spam score (X-Spam-Score / X-Spam-Status score=)' },
      spam_status: { type: 'string', description: 'the X-Spam-Status header, with the rules that fired' },
      rspamd_action: { type: 'string', description: 'X-Rspamd-Action' },
      rspamd_score: { type: 'float', description: 'X-Rspamd-Score' },
      tls: { type: 'boolean', description: 'the receiving hop used TLS (its Received header)' },
      tls_version: { type: 'string', description: 'TLS version of the receiving hop' },
      hops: { type: 'integer', description: 'Received headers' },
      rejected_at: { type: 'string', description: 'submission (the routing engine refused the recipient) | delivery (a bounce came back)' },
      smtp_code: { type: 'integer', description: 'SMTP reply code of a refusal at submission' },
      smtp_response: { type: 'string', description: 'SMTP reply text of a refusal at submission' },
      bounce_reason: { type: 'string', description: "the bounce's Diagnostic-Code (e.g. 554 5.7.1 ... blocked using zen.spamhaus.org)" },
      bounce_status: { type: 'string', description: "the bounce's enhanced status code (5.7.1)" },
      matches: { type: 'integer', description: 'passive mode: campaign messages found in the window' },
      message_id: { type: 'string', description: 'Message-ID of the message found' },
      token: { type: 'string', description: 'the probe token (active mode) in X-Mailscope-Token and the Message-ID' },
      searches: { type: 'integer', description: 'server-side searches run for this seed' },
      search_ms: { type: 'float', unit: 'ms', description: 'mean time of one folder search' },
      cleanup: { type: 'string', description: 'deleted | moved | kept | failed' },
      error_code: { type: 'string', description: 'IMAP_AUTH_FAILED, IMAP_UNREACHABLE, IMAP_TLS_FAILED, IMAP_ERROR, OAUTH_TOKEN_FAILED, SMTP_UNREACHABLE, ... when outcome is error' },
      error: { type: 'string', description: 'the error in words' },
    },
  },
  placement_provider: {
    description: 'Per provider and run: placement rates and delivery latency across its seeds.',
    tags: { provider: 'the mailbox provider (as configured)' },
    fields: {
      ...placementCountFields,
    },
  },
  placement_run: {
    description: 'Per run: placement over every seed, and the submission.',
    tags: {},
    fields: {
      mode: { type: 'string', description: 'active | passive' },
      submitted: { type: 'boolean', description: 'active mode: the routing engine accepted the message for at least one seed' },
      smtp_response: { type: 'string', description: "the routing engine's reply to the submission" },
      token: { type: 'string', description: 'the probe token' },
      ...placementCountFields,
    },
  },
} as const satisfies Record<string, MeasurementSpec>;

/** Where do messages land at each provider: inbox, spam, a category, or nowhere, and how fast? */
export const placement = defineProbe({
  kind: 'placement',
  description:
    'Sends a seed message through the routing engine (active) or finds real campaign messages (passive), then reads every seed mailbox over IMAP: inbox, spam, category, missing, rejected or error per seed, with the receiver’s authentication results, spam verdict, TLS and latency; rates and latency percentiles per provider.',
  configSchema,
  measurements,
  run,
});
