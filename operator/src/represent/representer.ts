import type { CycleContext, WorkOutcome } from '../cycle/work.js';

/** Builds the queryable graph of the service (modules, parameters, API schemas, hot spots). */
export interface Representer {
  represent(cycle: CycleContext): Promise<WorkOutcome>;
}
