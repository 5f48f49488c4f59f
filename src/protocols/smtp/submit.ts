/**
 * Submit one message to many recipients through the routing engine (nodemailer).
 * A recipient the server refuses is an outcome (its SMTP code and text); only a
 * failure to submit at all (connection, TLS, credentials) is a failure.
 */
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer/index.js';

export interface SmtpEndpoint {
  host: string;
  port: number;
  /** tls: TLS from the first byte (465); starttls: upgrade required (587); none: cleartext. */
  security: 'tls' | 'starttls' | 'none';
  ca?: Buffer | undefined;
  servername?: string | undefined;
  auth?: { user: string; password: string } | undefined;
  timeoutMs: number;
}

export interface Refusal {
  code: number | undefined;
  response: string;
}

export type SubmitResult =
  | { ok: true; accepted: string[]; refused: Map<string, Refusal>; response: string; submittedAt: Date }
  | { ok: false; code: 'SMTP_UNREACHABLE' | 'SMTP_AUTH_FAILED' | 'SMTP_TLS_FAILED' | 'SMTP_ERROR'; message: string };

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  recipient?: string;
  rejected?: string[];
  rejectedErrors?: SmtpError[];
}

function refusalsOf(errors: SmtpError[] | undefined, fallback: string[] | undefined, base?: SmtpError): Map<string, Refusal> {
  const refused = new Map<string, Refusal>();
  for (const error of errors ?? []) {
    if (error.recipient) refused.set(error.recipient.toLowerCase(), { code: error.responseCode, response: (error.response ?? error.message).trim() });
  }
  for (const address of fallback ?? []) {
    if (!refused.has(address.toLowerCase())) refused.set(address.toLowerCase(), { code: base?.responseCode, response: (base?.response ?? base?.message ?? 'refused').trim() });
  }
  return refused;
}

export async function submit(endpoint: SmtpEndpoint, envelope: { from: string; to: string[] }, message: Mail.Options, clock: () => Date): Promise<SubmitResult> {
  const transport = nodemailer.createTransport({
    host: endpoint.host,
    port: endpoint.port,
    secure: endpoint.security === 'tls',
    requireTLS: endpoint.security === 'starttls',
    ignoreTLS: endpoint.security === 'none',
    ...(endpoint.auth ? { auth: { user: endpoint.auth.user, pass: endpoint.auth.password } } : {}),
    tls: { ...(endpoint.ca ? { ca: [endpoint.ca] } : {}), ...(endpoint.servername ? { servername: endpoint.servername } : {}) },
    connectionTimeout: endpoint.timeoutMs,
    greetingTimeout: endpoint.timeoutMs,
    socketTimeout: endpoint.timeoutMs * 3,
  });
  const where = `${endpoint.host}:${endpoint.port}`;
  try {
    const info = await transport.sendMail({ ...message, envelope });
    const rejected = (info.rejected ?? []).map(String);
    return {
      ok: true,
      accepted: (info.accepted ?? []).map((address) => String(address).toLowerCase()),
      refused: refusalsOf((info as { rejectedErrors?: SmtpError[] }).rejectedErrors, rejected),
      response: String(info.response ?? ''),
      submittedAt: clock(),
    };
  } catch (thrown) {
    const error = thrown as SmtpError;
    // Every recipient refused (EENVELOPE), or the message refused after DATA (EMESSAGE): outcomes, not failures.
    if (error.code === 'EENVELOPE' && (error.rejected?.length ?? 0) > 0) {
      return { ok: true, accepted: [], refused: refusalsOf(error.rejectedErrors, error.rejected, error), response: (error.response ?? '').trim(), submittedAt: clock() };
    }
    if (error.code === 'EMESSAGE' || (error.responseCode !== undefined && error.responseCode >= 400 && error.code !== 'EAUTH')) {
      return { ok: true, accepted: [], refused: refusalsOf(undefined, envelope.to, error), response: (error.response ?? error.message).trim(), submittedAt: clock() };
    }
    if (error.code === 'EAUTH') return { ok: false, code: 'SMTP_AUTH_FAILED', message: `${where} refused the credentials: ${(error.response ?? error.message).trim()}` };
    if (error.code === 'ETLS' || /certificate|tls|ssl/i.test(error.message)) return { ok: false, code: 'SMTP_TLS_FAILED', message: `TLS with ${where} failed: ${error.message}` };
    if (error.code === 'ECONNECTION' || error.code === 'ETIMEDOUT' || error.code === 'ESOCKET' || error.code === 'EDNS') {
      return { ok: false, code: 'SMTP_UNREACHABLE', message: `cannot submit to ${where}: ${error.message}` };
    }
    return { ok: false, code: 'SMTP_ERROR', message: `submission to ${where} failed: ${error.message}` };
  } finally {
    transport.close();
  }
}
