/** Send through the lab's routing engine and find what arrived, as the placement probe will. */
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lab, labPassword, sender, type PoolName } from './plan.ts';

export interface Submitted {
  response: string;
  messageId: string;
}

export async function submit(pool: PoolName, message: { to: string; subject: string; text: string; headers?: Record<string, string>; from?: string }): Promise<Submitted> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: sender.pools[pool].submission, secure: false, ignoreTLS: true });
  try {
    const info = await transport.sendMail({
      from: message.from ?? `Lab News <news@${sender.domain}>`,
      envelope: { from: sender.bounceMailbox, to: message.to },
      to: message.to,
      subject: message.subject,
      text: message.text,
      headers: message.headers ?? {},
    });
    return { response: info.response, messageId: info.messageId };
  } finally {
    transport.close();
  }
}

export function imapClient(user: string, options: { tls?: boolean; password?: string } = {}): ImapFlow {
  return new ImapFlow({
    host: lab.imap.host,
    port: options.tls ? lab.imap.tlsPort : lab.imap.port,
    secure: options.tls ?? false,
    auth: { user, pass: options.password ?? labPassword },
    logger: false,
    tls: { ca: [readFileSync(join(lab.stateDir, 'keys', 'ca.pem'))], servername: lab.imap.hostname },
  });
}

export interface Found {
  mailbox: string;
  specialUse: string | undefined;
  headers: string;
  uid: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export type Criteria = Parameters<ImapFlow['search']>[0];

/** Every message, in any folder, matching an IMAP SEARCH run on the server. */
export async function findMessages(user: string, criteria: Criteria): Promise<Found[]> {
  const client = imapClient(user);
  await client.connect();
  try {
    const found: Found[] = [];
    for (const mailbox of await client.list()) {
      const lock = await client.getMailboxLock(mailbox.path);
      try {
        const uids = (await client.search(criteria, { uid: true })) || [];
        for (const uid of uids) {
          const message = await client.fetchOne(String(uid), { headers: true }, { uid: true });
          found.push({ mailbox: mailbox.path, specialUse: mailbox.specialUse, headers: message ? (message.headers?.toString('utf8') ?? '') : '', uid });
        }
      } finally {
        lock.release();
      }
    }
    return found;
  } finally {
    await client.logout();
  }
}

/** Waits until a message matching the criteria has arrived somewhere in the mailbox. */
export async function waitForMessage(user: string, criteria: Criteria, timeoutMs = 20_000): Promise<Found> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [found] = await findMessages(user, criteria);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no message matching ${JSON.stringify(criteria)} in ${user} after ${timeoutMs} ms`);
    await sleep(250);
  }
}
