import type { CycleContext, WorkOutcome } from '../cycle/work.js';

export type ProposerType = 'tuner' | 'openai' | 'command';

/** Proposes candidates towards the goal; a succeeded outcome carries them in `status.candidates`. */
export interface Proposer {
  readonly type: ProposerType;
  propose(cycle: CycleContext): Promise<WorkOutcome>;
}
