import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { onTestFinished } from 'vitest';
import { loadConfig, type LoadedConfig } from '../../src/config/load.ts';
import type { ChangeFeed } from '../../src/core/changes.ts';
import { systemClock } from '../../src/core/clock.ts';
import { controlSettingsOf } from '../../src/config/settings.ts';
import { ControlService } from '../../src/controls/service.ts';
import { buildApp } from '../../src/http/app.ts';
import { storeQueries } from '../../src/queries/index.ts';
import { Runner } from '../../src/runner/runner.ts';
import { Scheduler } from '../../src/runner/scheduler.ts';
import { Database } from '../../src/store/database.ts';
import { captureLog, type CapturedLog } from './log.ts';
import { unitServices } from './services.ts';
import { tempDir } from './temp.ts';

export const tokens = {
  viewer: 'viewer-token-s3cr3t-0000000001',
  operator: 'operator-token-s3cr3t-00000001',
  admin: 'admin-token-s3cr3t-0000000001',
} as const;

export type TokenName = keyof typeof tokens | 'none';

export interface ApiRig {
  app: FastifyInstance;
  db: Database;
  config: LoadedConfig;
  runner: Runner;
  controls: ControlService;
  logs: CapturedLog;
  dir: string;
  request(options: InjectOptions & { as?: TokenName }): Promise<LightMyRequestResponse>;
}

/**
 * The real API over a real store, configured from YAML in a temp dir with one
 * token per role. `probesYaml` is the content of probes/probes.yaml.
 */
export async function apiRig(options: { probesYaml: string; scheduler?: boolean; changes?: ChangeFeed }): Promise<ApiRig> {
  const dir = tempDir();
  writeFileSync(
    join(dir, 'mailscope.yaml'),
    [
      'dataDir: ./data',
      'http: { listen: "127.0.0.1:0" }',
      'tokens:',
      '  - { name: grafana, role: viewer, token: "${VIEWER_TOKEN}" }',
      '  - { name: ops, role: operator, token: "${OPERATOR_TOKEN}" }',
      '  - { name: root, role: admin, token: "${ADMIN_TOKEN}" }',
    ].join('\n'),
  );
  mkdirSync(join(dir, 'probes'));
  writeFileSync(join(dir, 'probes', 'probes.yaml'), options.probesYaml);
  const config = loadConfig('mailscope.yaml', {
    cwd: dir,
    env: { VIEWER_TOKEN: tokens.viewer, OPERATOR_TOKEN: tokens.operator, ADMIN_TOKEN: tokens.admin },
  });
  const logs = captureLog('trace');
  const db = Database.open(config.dataDir);
  const runner = new Runner({ db, clock: systemClock, log: logs.log, services: unitServices() });
  const definitions = config.probes.map((probe) => probe.definition);
  const scheduler = options.scheduler ? new Scheduler({ runner, definitions, log: logs.log }) : undefined;
  const controls = new ControlService({ db, clock: systemClock, log: logs.log, settings: controlSettingsOf(config.instance) });
  const app = await buildApp(
    { config, probes: config.probes, queries: storeQueries(db), runner, clock: systemClock, controls, ...(scheduler ? { scheduler } : {}), ...(options.changes ? { changes: options.changes } : {}) },
    { log: logs.log, version: 'test' },
  );
  scheduler?.start();
  onTestFinished(async () => {
    await app.close();
    await (scheduler ? scheduler.stop() : runner.stop());
    db.close();
  });
  return {
    app,
    db,
    config,
    runner,
    controls,
    logs,
    dir,
    request: ({ as = 'none', ...inject }) => app.inject({ ...inject, headers: { ...(as === 'none' ? {} : { authorization: `Bearer ${tokens[as]}` }), ...inject.headers } }),
  };
}

/** A probes file with one tcp probe against `port` that will not be scheduled during a test. */
export function tcpProbeYaml(port: number, extra = ''): string {
  return `probes:
  - id: smtp
    kind: tcp
    schedule: "0 0 1 1 *"
    targets: ["127.0.0.1:${port}"]
${extra}`;
}
