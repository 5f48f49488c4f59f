/**
 * A seed mailbox over IMAP (imapflow): connect and classify why not, find the
 * folders that tell placement (Inbox, Junk, category folders), and search them
 * on the server: never by fetching the mailbox.
 */
import { ImapFlow, type ListResponse, type SearchObject } from 'imapflow';

const imapErrorCodes = ['IMAP_AUTH_FAILED', 'IMAP_UNREACHABLE', 'IMAP_TLS_FAILED', 'IMAP_ERROR'] as const;
export type ImapErrorCode = (typeof imapErrorCodes)[number];

export class ImapFailure extends Error {
  readonly code: ImapErrorCode;

  constructor(code: ImapErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface ImapEndpoint {
  host: string;
  port: number;
  /** tls: TLS from the first byte (993); starttls: upgrade required; none: cleartext (a lab, a tunnel). */
  security: 'tls' | 'starttls' | 'none';
  /** Extra CA certificates (PEM) for a private CA. */
  ca?: Buffer | undefined;
  servername?: string | undefined;
  user: string;
  credential: { password: string } | { accessToken: string };
  timeoutMs: number;
}

const unreachableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECT_TIMEOUT',
  'GREETING_TIMEOUT',
  'NoConnection',
  'EConnectionClosed',
]);

/** What went wrong with an IMAP connection or command, as one of our codes, never "missing". */
export function imapFailureOf(error: unknown, endpoint: Pick<ImapEndpoint, 'host' | 'port' | 'user'>): ImapFailure {
  if (error instanceof ImapFailure) return error;
  const detail = error as { code?: string; authenticationFailed?: boolean; serverResponseCode?: string; responseText?: string; message?: string };
  const where = `${endpoint.host}:${endpoint.port}`;
  if (detail.authenticationFailed || detail.serverResponseCode === 'AUTHENTICATIONFAILED') {
    return new ImapFailure('IMAP_AUTH_FAILED', `${where} refused the login of ${endpoint.user}${detail.responseText ? `: ${detail.responseText}` : ''}`);
  }
  const code = detail.code ?? '';
  if (unreachableCodes.has(code)) return new ImapFailure('IMAP_UNREACHABLE', `cannot reach ${where}: ${detail.message ?? code} (${code})`);
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/i.test(code) || /certificate|tls|ssl/i.test(detail.message ?? '')) {
    return new ImapFailure('IMAP_TLS_FAILED', `TLS with ${where} failed: ${detail.message ?? code}`);
  }
  return new ImapFailure('IMAP_ERROR', `${where}: ${detail.responseText ?? detail.message ?? String(error)}`);
}

export async function openMailbox(endpoint: ImapEndpoint): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: endpoint.host,
    port: endpoint.port,
    secure: endpoint.security === 'tls',
    doSTARTTLS: endpoint.security === 'starttls' ? true : endpoint.security === 'none' ? false : undefined,
    ...(endpoint.servername ? { servername: endpoint.servername } : {}),
    auth: { user: endpoint.user, ...('password' in endpoint.credential ? { pass: endpoint.credential.password } : { accessToken: endpoint.credential.accessToken }) },
    ...(endpoint.ca ? { tls: { ca: [endpoint.ca], ...(endpoint.servername ? { servername: endpoint.servername } : {}) } } : {}),
    logger: false,
    disableAutoIdle: true,
    connectionTimeout: endpoint.timeoutMs,
    greetingTimeout: endpoint.timeoutMs,
    socketTimeout: Math.max(endpoint.timeoutMs * 4, 60_000),
  });
  // A connection that dies later surfaces on the next command; no unhandled 'error' event.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    client.close();
    throw imapFailureOf(error, endpoint);
  }
  return client;
}

export type FolderRole = 'inbox' | 'spam' | 'category';
export type FoundBy = 'inbox' | 'special-use' | 'name' | 'config' | 'gmail-category';

export interface Folder {
  path: string;
  role: FolderRole;
  /** For role category: promotions, social, updates, forums, or the configured name. */
  category?: string;
  foundBy: FoundBy;
}

export interface FolderMap {
  folders: Folder[];
  /** X-GM-EXT-1: Gmail, where categories are labels found with X-GM-RAW, not folders. */
  gmail: boolean;
  /** Why no spam folder was found, when none was. */
  noJunk?: string;
}

const junkNames = ['Junk', 'Spam', 'Junk Email', 'Junk E-mail', 'Bulk', 'Bulk Mail'];
export const gmailCategories = ['promotions', 'social', 'updates', 'forums'];
const categoryNames = ['Promotions', 'Social', 'Updates', 'Forums'];

export interface FolderOverrides {
  /** The spam folder's path, when discovery would not find it. */
  junk?: string | undefined;
  /** Category name → folder path. */
  categories?: Record<string, string> | undefined;
}

/** Which folders to search, and how each was found: \Junk first, then well-known names; overrides win. */
export function discoverFolders(list: ListResponse[], capabilities: Set<string>, overrides: FolderOverrides = {}): FolderMap {
  const gmail = capabilities.has('X-GM-EXT-1');
  const byPath = new Map(list.map((entry) => [entry.path, entry]));
  const folders: Folder[] = [{ path: 'INBOX', role: 'inbox', foundBy: 'inbox' }];
  let junk: Folder | undefined;
  if (overrides.junk) junk = { path: overrides.junk, role: 'spam', foundBy: 'config' };
  if (!junk) {
    const flagged = list.find((entry) => entry.flags.has('\\Junk') || (entry.specialUse === '\\Junk' && entry.specialUseSource === 'extension'));
    if (flagged) junk = { path: flagged.path, role: 'spam', foundBy: 'special-use' };
  }
  if (!junk) {
    for (const name of junkNames) {
      const named = list.find((entry) => entry.name.toLowerCase() === name.toLowerCase());
      if (named) {
        junk = { path: named.path, role: 'spam', foundBy: 'name' };
        break;
      }
    }
  }
  if (junk) folders.push(junk);
  const configured = Object.entries(overrides.categories ?? {});
  for (const [category, path] of configured) folders.push({ path, role: 'category', category: category.toLowerCase(), foundBy: 'config' });
  if (configured.length === 0 && !gmail) {
    for (const name of categoryNames) {
      const named = list.find((entry) => entry.name.toLowerCase() === name.toLowerCase() && entry.path !== junk?.path);
      if (named) folders.push({ path: named.path, role: 'category', category: name.toLowerCase(), foundBy: 'name' });
    }
  }
  const map: FolderMap = { folders, gmail };
  if (!junk) map.noJunk = `no folder has the \\Junk attribute or one of the names ${junkNames.join(', ')}; set folders.junk (folders seen: ${[...byPath.keys()].join(', ')})`;
  return map;
}

/** UIDs in one folder matching a search, run on the server (UID SEARCH). */
export async function searchFolder(client: ImapFlow, path: string, criteria: SearchObject): Promise<number[]> {
  const lock = await client.getMailboxLock(path, { readOnly: true });
  try {
    return (await client.search(criteria, { uid: true })) || [];
  } finally {
    lock.release();
  }
}

/** The next UID a folder will give: messages that arrive after this call have UIDs at or above it. */
export async function uidNextOf(client: ImapFlow, path: string): Promise<number> {
  const status = await client.status(path, { uidNext: true });
  if (!status) throw new ImapFailure('IMAP_ERROR', `STATUS of ${path} failed`);
  return status.uidNext ?? 1;
}

export interface FetchedHeaders {
  headers: Buffer;
  internalDate: Date | undefined;
}

export async function fetchHeaders(client: ImapFlow, path: string, uid: number): Promise<FetchedHeaders> {
  const lock = await client.getMailboxLock(path, { readOnly: true });
  try {
    const message = await client.fetchOne(String(uid), { headers: true, internalDate: true }, { uid: true });
    if (!message) throw new ImapFailure('IMAP_ERROR', `message UID ${uid} vanished from ${path} before it could be read`);
    const date = message.internalDate;
    return { headers: message.headers ?? Buffer.alloc(0), internalDate: date ? new Date(date) : undefined };
  } finally {
    lock.release();
  }
}

export async function fetchSource(client: ImapFlow, path: string, uid: number, maxBytes: number): Promise<Buffer> {
  const lock = await client.getMailboxLock(path, { readOnly: true });
  try {
    const message = await client.fetchOne(String(uid), { source: { maxLength: maxBytes } }, { uid: true });
    return message ? (message.source ?? Buffer.alloc(0)) : Buffer.alloc(0);
  } finally {
    lock.release();
  }
}

/** Delete (expunge) or move a message; false when the server did not. */
export async function disposeMessage(client: ImapFlow, path: string, uid: number, action: { delete: true } | { moveTo: string }): Promise<boolean> {
  const lock = await client.getMailboxLock(path);
  try {
    if ('moveTo' in action) return Boolean(await client.messageMove(String(uid), action.moveTo, { uid: true }));
    return await client.messageDelete(String(uid), { uid: true });
  } finally {
    lock.release();
  }
}
