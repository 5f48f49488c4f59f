/**
 * One seed mailbox during a placement run: log in (password, access token or an
 * OAuth2 token from a command or token URL), find its folders, remember where new
 * mail will start (UIDNEXT), then search only new mail for the token until found
 * or the deadline. An IMAP failure is an error with its code, never "missing".
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ImapFlow, SearchObject } from 'imapflow';
import type { Clock } from '../core/clock.ts';
import { accessToken, TokenFailure, type TokenSource } from '../protocols/oauth/access-token.ts';
import {
  discoverFolders,
  disposeMessage,
  fetchHeaders,
  gmailCategories,
  imapFailureOf,
  openMailbox,
  searchFolder,
  uidNextOf,
  type Folder,
  type FolderMap,
  type FolderOverrides,
  type ImapEndpoint,
} from '../protocols/imap/seed-mailbox.ts';
import { messageFacts, type MessageFacts } from '../protocols/mail/message-facts.ts';

export type Credential = { password: string } | { accessToken: string } | { oauth2: TokenSource };

export interface SeedTarget {
  provider: string;
  address: string;
  endpoint: Omit<ImapEndpoint, 'credential'>;
  credential: Credential;
  folders?: FolderOverrides | undefined;
  authservId?: string | undefined;
}

export interface Failure {
  code: string;
  message: string;
}

export interface SeedSession {
  target: SeedTarget;
  client: ImapFlow;
  folders: FolderMap;
  /** Per folder path: the UIDNEXT before the probe message could arrive. */
  baseline: Map<string, number>;
  searches: number;
  searchMs: number;
}

/**
 * Opens the mailbox and fixes, per folder, the lowest UID worth searching: the UIDNEXT before
 * anything is sent (active), or the first message since the window began (passive). Every
 * later search is limited to UIDs from there, so its cost does not grow with the mailbox.
 */
export async function openSeed(target: SeedTarget, options: { baseline: 'uidnext' | { since: Date }; signal: AbortSignal }): Promise<SeedSession | Failure> {
  let credential: ImapEndpoint['credential'];
  try {
    credential = 'oauth2' in target.credential ? { accessToken: await accessToken(target.credential.oauth2, { timeoutMs: target.endpoint.timeoutMs, signal: options.signal }) } : target.credential;
  } catch (error) {
    return { code: 'OAUTH_TOKEN_FAILED', message: error instanceof TokenFailure ? error.message : `no access token: ${(error as Error).message}` };
  }
  let client: ImapFlow;
  try {
    client = await openMailbox({ ...target.endpoint, credential });
  } catch (error) {
    const failure = imapFailureOf(error, target.endpoint);
    return { code: failure.code, message: failure.message };
  }
  try {
    const folders = discoverFolders(await client.list(), client.capabilities instanceof Map ? new Set(client.capabilities.keys()) : new Set(), target.folders);
    const baseline = new Map<string, number>();
    for (const folder of folders.folders) {
      const next = await uidNextOf(client, folder.path);
      if (options.baseline === 'uidnext') baseline.set(folder.path, next);
      else {
        // SINCE is answered from the index (INTERNALDATE); the header search then runs on those messages only.
        const recent = await searchFolder(client, folder.path, { since: options.baseline.since });
        baseline.set(folder.path, recent.length > 0 ? Math.min(...recent) : next);
      }
    }
    return { target, client, folders, baseline, searches: 0, searchMs: 0 };
  } catch (error) {
    await closeSeed({ client });
    const failure = imapFailureOf(error, target.endpoint);
    return { code: failure.code, message: failure.message };
  }
}

export async function closeSeed(session: Pick<SeedSession, 'client'>): Promise<void> {
  try {
    await session.client.logout();
  } catch {
    session.client.close();
  }
}

export interface Found {
  folder: Folder;
  uid: number;
  /** Gmail: the category label, when the message is in a tab other than Primary. */
  gmailCategory?: string;
  matches: number;
  facts: MessageFacts;
  internalDate?: Date | undefined;
  foundAt: Date;
}

async function timedSearch(session: SeedSession, path: string, criteria: SearchObject): Promise<number[]> {
  // What a search costs the server: an elapsed time (monotonic, below the millisecond), not a time of day from the probe's clock.
  const started = performance.now();
  try {
    return await searchFolder(session.client, path, criteria);
  } finally {
    session.searches++;
    session.searchMs += performance.now() - started;
  }
}

/** One pass over the folders; the newest match, or undefined. */
async function searchOnce(session: SeedSession, criteria: (folder: Folder) => SearchObject): Promise<{ folder: Folder; uid: number; matches: number } | undefined> {
  let best: { folder: Folder; uid: number; matches: number } | undefined;
  let matches = 0;
  for (const folder of session.folders.folders) {
    const uids = await timedSearch(session, folder.path, criteria(folder));
    matches += uids.length;
    if (uids.length > 0 && !best) best = { folder, uid: Math.max(...uids), matches: 0 };
  }
  return best ? { ...best, matches } : undefined;
}

/** Gmail tabs are labels: which category search finds this message. */
async function gmailCategoryOf(session: SeedSession, folder: Folder, uid: number): Promise<string | undefined> {
  for (const category of gmailCategories) {
    const hit = await timedSearch(session, folder.path, { uid: String(uid), gmraw: `category:${category}` });
    if (hit.length > 0) return category;
  }
  return undefined;
}

export type ReadResult = { found: Found } | { missing: true } | { failure: Failure };

/** Search until found, the deadline (on `clock`), or `stop` (the seed was settled otherwise, e.g. by a bounce). */
export async function readSeed(
  session: SeedSession,
  criteria: (folder: Folder) => SearchObject,
  options: { deadline: number; pollMs: number; signal: AbortSignal; clock: Clock },
): Promise<ReadResult> {
  try {
    for (;;) {
      const hit = await searchOnce(session, criteria);
      if (hit) {
        const foundAt = options.clock.now();
        const { headers, internalDate } = await fetchHeaders(session.client, hit.folder.path, hit.uid);
        const facts = await messageFacts(headers, { authservId: session.target.authservId });
        const found: Found = { folder: hit.folder, uid: hit.uid, matches: hit.matches, facts, internalDate, foundAt };
        if (session.folders.gmail && hit.folder.role === 'inbox') {
          const category = await gmailCategoryOf(session, hit.folder, hit.uid);
          if (category && category !== 'primary') found.gmailCategory = category;
        }
        return { found };
      }
      const remaining = options.deadline - options.clock.now().getTime();
      if (remaining <= 0 || options.signal.aborted) return { missing: true };
      try {
        await sleep(Math.min(options.pollMs, remaining), undefined, { signal: options.signal });
      } catch {
        return { missing: true };
      }
    }
  } catch (error) {
    const failure = imapFailureOf(error, session.target.endpoint);
    return { failure: { code: failure.code, message: failure.message } };
  }
}

export async function cleanUp(session: SeedSession, found: Found, action: { delete: true } | { moveTo: string }): Promise<'deleted' | 'moved' | 'failed'> {
  try {
    const done = await disposeMessage(session.client, found.folder.path, found.uid, action);
    return done ? ('moveTo' in action ? 'moved' : 'deleted') : 'failed';
  } catch {
    return 'failed';
  }
}
