import type { CycleContext, WorkOutcome } from '../cycle/work.js';

/** Commits the selected candidate with its metadata; a succeeded outcome carries `status.commit`. */
export interface SourceRepository {
  commit(cycle: CycleContext): Promise<WorkOutcome>;
}
