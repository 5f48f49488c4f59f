import type { Duty } from '../../src/core/duty.ts';
import { MailscopeError } from '../../src/core/errors.ts';

/**
 * A Duty (core/duty.ts) the test drives, in place of a cluster's lease: whether
 * this instance leads (`leading`, what active() answers), its epoch, and whether
 * fence() finds the lease lost (`lost`: it throws LEASE_LOST, as the cluster's does
 * when another instance took the lease over). `fences` counts the calls to fence().
 */
export interface TestDuty extends Duty {
  leading: boolean;
  epoch: number;
  lost: boolean;
  fences: number;
  /** Called at each fence(), before it answers: a test can lose the lease there. */
  onFence?: () => void;
}

export function testDuty(options: { leading?: boolean; epoch?: number; lost?: boolean } = {}): TestDuty {
  const duty: TestDuty = {
    leading: options.leading ?? false,
    epoch: options.epoch ?? 1,
    lost: options.lost ?? false,
    fences: 0,
    active: () => duty.leading,
    fence() {
      duty.fences += 1;
      duty.onFence?.();
      if (duty.lost) throw new MailscopeError('LEASE_LOST', `the leader lease passed to another instance (epoch ${duty.epoch} is over)`);
    },
  };
  return duty;
}
