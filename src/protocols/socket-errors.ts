/** Node's error code of a socket or fetch failure (fetch hides it in `cause`). */
export function socketErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

const resolutionCodes = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME']);

/**
 * True when the name could not be resolved: we cannot tell whether the service
 * is up, so this is an error of the measurement, not a "down" finding.
 */
export function isResolutionFailure(code: string | undefined): boolean {
  return code !== undefined && resolutionCodes.has(code);
}

const descriptions: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed while writing',
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available on this machine',
  EACCES: 'permission denied',
  ENOTFOUND: 'name not found',
  EAI_AGAIN: 'name resolution failed temporarily',
};

export function describeSocketError(error: unknown): string {
  const code = socketErrorCode(error);
  if (code && descriptions[code]) return `${descriptions[code]} (${code})`;
  const cause = (error as { cause?: unknown })?.cause;
  const message = cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}
