import type { CycleContext, WorkOutcome } from '../cycle/work.js';

/** Drives one canary step by step; a succeeded outcome says whether it was promoted or rolled back. */
export interface CanaryDriver {
  advance(cycle: CycleContext): Promise<WorkOutcome>;
}
