/**
 * Console sessions: who signed in with which token (its name and role), until
 * when, and the session's form token. Only the digest of the session id is
 * kept: the id itself lives in the browser's HttpOnly cookie.
 */
import type { Database } from './database.ts';

export interface SessionRow {
  digest: string;
  /** Digest of the token signed in with. */
  token: string;
  name: string;
  role: string;
  csrf: string;
  createdAt: number;
  expiresAt: number;
}

export function createSession(db: Database, session: SessionRow): void {
  db.statement('INSERT INTO console_sessions (digest, token, name, role, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    session.digest,
    session.token,
    session.name,
    session.role,
    session.csrf,
    session.createdAt,
    session.expiresAt,
  );
}

/** The session, while it has not expired. */
export function getSession(db: Database, digest: string, now: number): SessionRow | undefined {
  const row = db.statement('SELECT * FROM console_sessions WHERE digest = ? AND expires_at > ?').get(digest, now) as Record<string, unknown> | undefined;
  if (!row) return undefined;
  return {
    digest: String(row.digest),
    token: String(row.token),
    name: String(row.name),
    role: String(row.role),
    csrf: String(row.csrf),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
  };
}

export function deleteSession(db: Database, digest: string): boolean {
  return Number(db.statement('DELETE FROM console_sessions WHERE digest = ?').run(digest).changes) > 0;
}

/** Sessions that expired go; returns how many. */
export function pruneSessions(db: Database, now: number): number {
  return Number(db.statement('DELETE FROM console_sessions WHERE expires_at <= ?').run(now).changes);
}
