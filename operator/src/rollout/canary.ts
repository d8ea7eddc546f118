import type { CanaryStatus } from '../api/schema.js';
import type { CanaryResult, CycleContext, WorkOutcome } from '../cycle/work.js';

/**
 * What one visit of a canary reports. `running` and `succeeded` carry the canary's next state in
 * `status.canary`: it must be persisted, because the next visit starts from `cycle.status.canary`.
 */
export type CanaryOutcome =
  | (Extract<WorkOutcome, { state: 'running' }> & { status: { canary: CanaryStatus } })
  | (Extract<WorkOutcome, { state: 'succeeded' }> & {
      status: { canary: CanaryStatus };
      result: CanaryResult;
    })
  | Extract<WorkOutcome, { state: 'failed' }>;

/** Drives one canary step by step; a succeeded outcome says whether it was promoted or rolled back. */
export interface CanaryDriver {
  advance(cycle: CycleContext): Promise<CanaryOutcome>;
  /** Removes what the cycle's canary left on the cluster (a cycle that ends outside the canary's own outcomes). */
  release?(cycle: Pick<CycleContext, 'namespace' | 'uid' | 'spec'>): Promise<void>;
}
