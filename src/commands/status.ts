/**
 * `mailscope status`: the store, and with the store on PostgreSQL the cluster as
 * the database sees it: every instance (where its API answers, its last
 * heartbeat, whether it has stopped), and every lease (who holds it, its epoch,
 * when it expires). Read only; it works whether or not any instance is running.
 */
import pg from 'pg';
import { escapeControls } from '../core/text.ts';
import { listInstances, type InstanceRow } from '../ha/cluster.ts';
import { LeaseManager, type LeaseRow } from '../ha/leases.ts';
import { type CommandContext, table } from './context.ts';

const ago = (ms: number) => (ms < 1_000 ? 'now' : ms < 120_000 ? `${Math.round(ms / 1_000)}s ago` : `${Math.round(ms / 60_000)}m ago`);

export async function statusCommand(ctx: CommandContext, options: { json?: boolean }): Promise<void> {
  const config = ctx.config();
  const services = ctx.services(config);
  try {
    const db = services.store;
    const store = { kind: db.kind, location: db.path, schema: db.schemaVersion };
    const storeConfig = config.instance.store;
    if (storeConfig.kind !== 'postgres') {
      if (options.json) ctx.out(JSON.stringify({ store, cluster: null }));
      else ctx.out(`store: SQLite at ${store.location} (schema ${store.schema}); one instance, no cluster (store: { kind: postgres } for several)`);
      return;
    }
    const pool = new pg.Pool({ connectionString: storeConfig.url.reveal(), max: 1, connectionTimeoutMillis: storeConfig.connectTimeout, application_name: 'mailscope-status' });
    pool.on('error', () => {});
    let instances: InstanceRow[];
    let leases: LeaseRow[];
    try {
      instances = await listInstances(pool);
      leases = await new LeaseManager(pool).list();
    } finally {
      await pool.end();
    }
    // An instance is taken as alive while its heartbeat is younger than three heartbeats.
    const aliveMs = 3 * storeConfig.heartbeat;
    const alive = (instance: InstanceRow) => instance.stoppedAt === undefined && instance.heartbeatAgeMs < aliveMs;
    if (options.json) {
      ctx.out(JSON.stringify({ store, cluster: { instances: instances.map((instance) => ({ ...instance, alive: alive(instance) })), leases } }));
      return;
    }
    ctx.out(`store: PostgreSQL at ${store.location} (schema ${store.schema})`);
    if (instances.length === 0) ctx.out('no instance has joined the cluster yet (mailscope run)');
    else
      ctx.out(
        table([
          ['INSTANCE', 'STATE', 'API', 'VERSION', 'HEARTBEAT', 'LEASES'],
          ...instances.map((instance) =>
            [instance.id, instance.stoppedAt ? 'stopped' : alive(instance) ? 'alive' : 'silent', instance.api, instance.version, ago(instance.heartbeatAgeMs), instance.leases.join(', ') || '-'].map(
              escapeControls,
            ),
          ),
        ]),
      );
    if (leases.length > 0) {
      ctx.out('');
      ctx.out(
        table([
          ['LEASE', 'HOLDER', 'EPOCH', 'EXPIRES'],
          ...leases.map((lease) =>
            [lease.name, lease.live ? lease.holder : `(free; last ${lease.holder})`, String(lease.epoch), lease.live && lease.expiresAt ? lease.expiresAt.toISOString() : '-'].map(escapeControls),
          ),
        ]),
      );
    }
  } finally {
    services.close();
  }
}
