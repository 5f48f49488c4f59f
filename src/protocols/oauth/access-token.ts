/**
 * An OAuth2 access token for XOAUTH2 (IMAP), from a command the operator trusts
 * (a token helper printing the token) or from the provider's token endpoint
 * with a refresh token (RFC 6749 §6). Errors never carry the secrets.
 */
import { execFile } from 'node:child_process';

export class TokenFailure extends Error {
  readonly code = 'OAUTH_TOKEN_FAILED';
}

export type TokenSource = { command: string[] } | { tokenUrl: string; clientId: string; clientSecret?: string | undefined; refreshToken: string; scope?: string | undefined };

export async function accessToken(source: TokenSource, options: { timeoutMs: number; signal?: AbortSignal | undefined }): Promise<string> {
  if ('command' in source) {
    const [file, ...args] = source.command;
    const output = await new Promise<string>((resolve, reject) => {
      execFile(file!, args, { timeout: options.timeoutMs, maxBuffer: 64 * 1024, ...(options.signal ? { signal: options.signal } : {}) }, (error, stdout) => {
        if (error) {
          const code = (error as NodeJS.ErrnoException & { code?: unknown }).code;
          reject(new TokenFailure(`the token command ${file} failed (${typeof code === 'number' ? `exit code ${code}` : String(code ?? error.message)})`));
        } else resolve(stdout);
      });
    });
    const token = output.trim().split('\n')[0]?.trim() ?? '';
    if (!token) throw new TokenFailure(`the token command ${file} printed no token`);
    return token;
  }
  const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: source.refreshToken, client_id: source.clientId });
  if (source.clientSecret) body.set('client_secret', source.clientSecret);
  if (source.scope) body.set('scope', source.scope);
  const signal = options.signal ? AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]) : AbortSignal.timeout(options.timeoutMs);
  let response: Response;
  try {
    response = await fetch(source.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body, signal });
  } catch (error) {
    throw new TokenFailure(`the token endpoint ${new URL(source.tokenUrl).origin} could not be reached: ${(error as Error).message}`);
  }
  const text = await response.text();
  let json: { access_token?: unknown; error?: unknown } = {};
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    // handled below
  }
  if (!response.ok || typeof json.access_token !== 'string' || !json.access_token) {
    const reason = typeof json.error === 'string' ? json.error : `HTTP ${response.status}`;
    throw new TokenFailure(`the token endpoint ${new URL(source.tokenUrl).origin} gave no access token (${reason})`);
  }
  return json.access_token;
}
