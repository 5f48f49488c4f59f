/** A running observatory for end-to-end tests: started from a directory's config, stopped when the test ends. */
import { onTestFinished } from 'vitest';
import { loadConfig, type LoadedConfig } from '../../src/config/load.ts';
import { systemClock } from '../../src/core/clock.ts';
import type { LogLevel } from '../../src/core/logger.ts';
import { startObservatory, type Observatory } from '../../src/observatory.ts';
import { DnsClient } from '../../src/protocols/dns/client.ts';
import type { DnsServer } from '../../src/protocols/dns/types.ts';
import { Database } from '../../src/store/database.ts';
import { captureLog, type CapturedLog } from './log.ts';
import { noResolver } from './services.ts';

export interface RunningObservatory {
  observatory: Observatory;
  config: LoadedConfig;
  logs: CapturedLog;
  /** A request to its API with the token; the status and the JSON body. */
  api(path: string, init?: RequestInit): Promise<{ status: number; body: any }>;
}

/**
 * `mailscope run` in this process on `dir/mailscope.yaml` (and its probes), asking
 * `dnsServers` (default: no resolver; the lab's tests pass the lab's) uncached, so
 * a change in the lab shows at once.
 */
export async function runningObservatory(dir: string, options: { token: string; env?: Record<string, string>; dnsServers?: DnsServer[]; logLevel?: LogLevel }): Promise<RunningObservatory> {
  const config = loadConfig('mailscope.yaml', { cwd: dir, env: options.env ?? {} });
  const logs = captureLog(options.logLevel ?? 'info');
  const db = Database.open(config.dataDir);
  const dns = new DnsClient({ servers: options.dnsServers ?? [noResolver], timeoutMs: 1_000, attempts: 2, cacheEntries: 0 });
  const observatory = await startObservatory({ config, log: logs.log, clock: systemClock, db, dns, version: 'test' });
  onTestFinished(() => observatory.stop());
  return {
    observatory,
    config,
    logs,
    api: async (path, init = {}) => {
      const response = await fetch(`http://127.0.0.1:${observatory.address.port}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${options.token}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
      });
      return { status: response.status, body: await response.json() };
    },
  };
}
