/**
 * The work one instance of a cluster does for all (the scheduler's runs, the
 * outbox flush, notifications, control pushes, releases of held mail, retention,
 * the traffic flush, the tailed sources): done only while this instance holds the
 * cluster's lease (ha/cluster.ts). Alone on SQLite, an instance always holds it.
 *
 * Each loop asks `active()` before it acts (and again just before a side effect
 * toward the outside), and the write that records a side effect calls `fence()`
 * first in its transaction: it throws LEASE_LOST when the lease has passed to
 * another instance meanwhile, so the write of a stale holder changes nothing.
 * `epoch` is the fencing token, carried by what goes out (the
 * Mailscope-Fencing-Token header of webhooks), so a receiver can refuse a stale one.
 */
export interface Duty {
  active(): boolean;
  readonly epoch: number;
  fence(): void;
}

/** One instance on its own: it always does the work. */
export const alone: Duty = { active: () => true, epoch: 0, fence: () => {} };

/** An instance of a cluster, as /readyz shows it: whether it leads, and the leases it holds with their epochs. */
export interface ClusterStatus {
  instance: string;
  leader: boolean;
  leases: { name: string; epoch: number; expiresAt: string }[];
}
