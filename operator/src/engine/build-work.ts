// The Building phase: the selected candidate's kind chooses the builder. A config candidate needs
// no image (its parameter values go into the pod template); a code candidate needs a new image.
import type { Candidate } from '../api/schema.js';
import { failedOutcome, type BuildPort, type CycleContext, type WorkOutcome } from '../cycle/ports.js';

/** Builders by the kind of candidate they deliver; a kind without one fails the cycle naming it. */
export class BuildByCandidateKind implements BuildPort {
  constructor(private readonly builders: Partial<Record<Candidate['kind'], BuildPort>>) {}

  build(cycle: CycleContext): Promise<WorkOutcome> {
    const selected = cycle.status.candidates?.find((candidate) => candidate.id === cycle.status.selected);
    const kind = selected?.kind === 'code' ? 'code' : 'config';
    const builder = this.builders[kind];
    if (builder) return builder.build(cycle);
    const name = kind === 'code' ? 'overlay' : 'config';
    return Promise.resolve(
      failedOutcome('CapabilityMissing', `This operator has no ImageBuilder '${name}'.`),
    );
  }
}
