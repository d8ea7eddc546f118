import type { CycleContext, WorkOutcome } from '../cycle/work.js';

/** Evaluates every candidate in an isolated pod; a succeeded outcome carries verdicts and scores. */
export interface Sandbox {
  evaluate(cycle: CycleContext): Promise<WorkOutcome>;
  /**
   * Removes everything the cycle's evaluation created (inputs and pods). Called once the cycle has
   * left Evaluating, however it left (selected, failed, deadline, deleted); idempotent.
   */
  release(cycle: Pick<CycleContext, 'namespace' | 'name' | 'uid'>): Promise<void>;
}
