/**
 * A report mailbox over IMAP: the address DMARC `rua`, TLS-RPT `rua`, a
 * feedback loop or bounces are sent to. Every interval each message in the
 * mailbox is read whole and handed to intake() (reports recorded, or the
 * quarantine with the reason); only once that committed is the message moved
 * out — to `processed`, or to `quarantine` when nothing in it could be read. A
 * crash between the commit and the move reads the message again next time: its
 * reports are then duplicates (nothing recorded twice) and it is moved.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ImapFlow } from 'imapflow';
import { z } from 'zod';
import { backoffMs } from '../core/backoff.ts';
import { peerExcerpt } from '../core/redact.ts';
import { duration, readableFile, secret } from '../core/schema.ts';
import { imapFailureOf, type ImapEndpoint, openMailbox } from '../protocols/imap/seed-mailbox.ts';
import { defineSource, type SourceContext, SourceBase } from './define.ts';
import { reportMeasurements } from './feedback.ts';

const defaultPorts = { tls: 993, starttls: 143, none: 143 } as const;
const folderName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^\0-\x1f\x7f*%]+$/, { error: 'expected a folder name without control characters, * or %' });

const configSchema = SourceBase.extend({
  kind: z.literal('mailbox'),
  host: z.string().min(1).describe('IMAP server host name or address'),
  port: z.int().min(1).max(65_535).optional().describe('default: 993 (tls), 143 (starttls, none)'),
  security: z.enum(['tls', 'starttls', 'none']).default('tls').describe('tls (default) | starttls | none'),
  caFile: readableFile.optional().describe('PEM of a private CA for the IMAP server'),
  servername: z.string().min(1).optional().describe('TLS server name, when host is an address'),
  user: z.string().min(1).describe('login name'),
  password: secret().describe('password (use ${VAR})'),
  mailbox: folderName.default('INBOX').describe('the folder reports arrive in'),
  processed: folderName.default('Mailscope/Processed').describe('where a message goes once what it carried is recorded (created when missing)'),
  quarantine: folderName.default('Mailscope/Quarantine').describe('where a message goes when nothing in it could be read (created when missing); the reason is in the quarantine list'),
  interval: duration.default(60_000).describe('how often the mailbox is read'),
  batch: z.int().min(1).max(10_000).default(200).describe('messages read per pass at most'),
  timeout: duration.default(20_000).describe('connect and greeting deadline'),
}).strict();

type MailboxConfig = z.output<typeof configSchema>;

function endpointOf(config: MailboxConfig): ImapEndpoint {
  return {
    host: config.host,
    port: config.port ?? defaultPorts[config.security],
    security: config.security,
    ca: config.caFile ? readFileSync(config.caFile) : undefined,
    servername: config.servername,
    user: config.user,
    credential: { password: config.password.reveal() },
    timeoutMs: config.timeout,
  };
}

/** Create the folders that are missing (one LIST for all of them). */
async function ensureFolders(client: ImapFlow, paths: readonly string[]): Promise<void> {
  const existing = new Set((await client.list()).map((entry) => entry.path));
  for (const path of paths) if (!existing.has(path)) await client.mailboxCreate(path);
}

/** One pass: every message in the mailbox (up to batch), recorded, then moved. Returns how many were moved. */
export async function readMailboxOnce(config: MailboxConfig, ctx: Pick<SourceContext, 'intake' | 'log' | 'signal'>): Promise<{ moved: number; left: number }> {
  const endpoint = endpointOf(config);
  let client: ImapFlow;
  try {
    client = await openMailbox(endpoint);
  } catch (error) {
    throw imapFailureOf(error, endpoint);
  }
  try {
    await ensureFolders(client, [config.processed, config.quarantine]);
    const lock = await client.getMailboxLock(config.mailbox);
    try {
      const uids = ((await client.search({ all: true }, { uid: true })) || []).slice(0, config.batch);
      let moved = 0;
      for (const uid of uids) {
        if (ctx.signal.aborted) break;
        const download = await client.download(String(uid), undefined, { uid: true });
        if (!download?.content) continue;
        const result = await ctx.intake(download.content, `${config.mailbox}/${uid}`);
        // Committed: now the message may go. Nothing readable in it: to the quarantine folder, where it can be looked at.
        const target = result.recorded + result.duplicates > 0 ? config.processed : config.quarantine;
        await client.messageMove(String(uid), target, { uid: true });
        moved++;
      }
      const status = await client.status(config.mailbox, { messages: true });
      return { moved, left: status ? (status.messages ?? 0) : 0 };
    } finally {
      lock.release();
    }
  } catch (error) {
    throw imapFailureOf(error, endpoint);
  } finally {
    await client.logout().catch(() => client.close());
  }
}

export const mailbox = defineSource({
  kind: 'mailbox',
  description: 'a report mailbox over IMAP (DMARC and TLS-RPT rua, feedback loops, bounces): each message recorded, then moved to processed (or quarantine)',
  configSchema,
  measurements: reportMeasurements,
  runtime: {
    async start(config, ctx) {
      let failures = 0;
      const loop = (async () => {
        while (!ctx.signal.aborted) {
          let wait = config.interval;
          try {
            const { moved, left } = await readMailboxOnce(config, ctx);
            failures = 0;
            ctx.health?.({ ok: true });
            if (moved > 0) ctx.log.info({ moved, left }, 'report mailbox read');
            // More waiting than one batch: go on at once.
            if (left > 0 && moved > 0) wait = 0;
          } catch (error) {
            failures++;
            // Unknown is not clean: a mailbox that cannot be read is an error with its reason, every time.
            const failure = error as { code?: string; message?: string };
            ctx.log.error({ code: failure.code ?? 'IMAP_ERROR', reason: peerExcerpt(failure.message) }, 'report mailbox could not be read');
            ctx.health?.({ ok: false, code: failure.code ?? 'IMAP_ERROR', reason: peerExcerpt(failure.message) });
            wait = Math.min(config.interval, backoffMs(failures, { minMs: 1_000, maxMs: config.interval, jitter: 0.2, random: Math.random }));
          }
          await sleep(wait, undefined, { signal: ctx.signal }).catch(() => {});
        }
      })();
      return {
        async stop() {
          await loop;
        },
      };
    },
  },
});
