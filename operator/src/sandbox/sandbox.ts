import type { CycleContext, WorkOutcome } from '../cycle/work.js';

/** Evaluates every candidate in an isolated pod; a succeeded outcome carries verdicts and scores. */
export interface Sandbox {
  evaluate(cycle: CycleContext): Promise<WorkOutcome>;
}
