// What the work of one cycle phase reports back to the state machine.
//
// Providers are called on every visit of the cycle and must be idempotent: they start what is not
// started yet and report where it stands, so the operator can die at any point and continue.
import type { ImprovementCycleSpec, ImprovementCycleStatus } from '../api/schema.js';

export interface CycleContext {
  namespace: string;
  name: string;
  uid: string;
  spec: ImprovementCycleSpec;
  status: ImprovementCycleStatus;
}

export type WorkOutcome =
  /**
   * Still going: visit again after `retryAfterMs`. `status` is merged into the cycle status and
   * persisted (the canary keeps its state machine there), so it must be safe to write on every visit.
   */
  | { state: 'running'; message?: string; retryAfterMs?: number; status?: Partial<ImprovementCycleStatus> }
  /** Done: `status` is merged into the cycle status (candidates, commit, image...). */
  | { state: 'succeeded'; message?: string; status?: Partial<ImprovementCycleStatus>; result?: CanaryResult }
  /** Could not be done: the cycle fails with this reason. */
  | { state: 'failed'; reason: string; message: string };

/** How a canary ended; only the Canary phase reports one. */
export type CanaryResult = 'Promoted' | 'RolledBack';
