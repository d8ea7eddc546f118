// `kubectl hyperagent rollback <agent> --to <revision>`, decided without I/O: the agent's
// ROLLBACK_ANNOTATION names a revision from status.history; the target Deployment is to run it
// again (its image and parameter values), unless a canary is running (abort it first) or the
// revision cannot be restored as it was (unknown, no image, a parameter no longer carried by an
// environment variable). Either way the request is answered once and the annotation removed.
import { ROLLBACK_ANNOTATION, type HyperAgent, type ImprovementCycle } from '../api/resources.js';
import { DELIVERING_CYCLE_PHASES } from '../api/schema.js';
import { parameterEnv } from '../rollout/canary-deployment.js';
import type { Revision } from '../rollout/traffic-router.js';

export type RollbackPlan =
  | { kind: 'none' }
  | { kind: 'refuse'; requested: string; message: string }
  | { kind: 'restore'; requested: string; revision: Revision };

/** What to do about a rollback request on `agent`, given its active cycle. */
export function planManualRollback(
  agent: HyperAgent,
  activeCycle: ImprovementCycle | undefined,
): RollbackPlan {
  const requested = agent.metadata.annotations?.[ROLLBACK_ANNOTATION];
  if (requested === undefined) return { kind: 'none' };
  const refuse = (message: string): RollbackPlan => ({ kind: 'refuse', requested, message });
  const phase = activeCycle?.status?.phase;
  if (phase && DELIVERING_CYCLE_PHASES.includes(phase)) {
    return refuse(
      `cycle ${activeCycle?.metadata.name} is delivering (${phase}); abort it (kubectl hyperagent abort ${agent.metadata.name}) or wait for it to end, then roll back`,
    );
  }
  const history = agent.status?.history ?? [];
  const entry = history.find((candidate) => candidate.revision === requested);
  if (!entry) {
    const known = history.map((candidate) => candidate.revision).join(', ');
    return refuse(
      `revision ${requested} is not in the history${known ? ` (known: ${known})` : ' (it is empty)'}`,
    );
  }
  if (!entry.image) return refuse(`revision ${requested} has no image recorded; it cannot be restored`);
  const mapped = parameterEnv(agent.spec.improvement.parameters, entry.parameters ?? {});
  if (mapped.problems.length > 0) {
    return refuse(`revision ${requested} cannot be restored as it ran: ${mapped.problems.join('; ')}`);
  }
  return {
    kind: 'restore',
    requested,
    revision: { name: entry.revision, image: entry.image, env: mapped.env },
  };
}
