import type { CycleContext, WorkOutcome } from '../cycle/work.js';

export type BuilderType = 'config' | 'overlay' | 'kaniko';

/** Turns the selected candidate into something deployable; a succeeded outcome carries `status.image`. */
export interface ImageBuilder {
  readonly type: BuilderType;
  build(cycle: CycleContext): Promise<WorkOutcome>;
}
