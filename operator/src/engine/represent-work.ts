// The Represent phase in the operator: the base commit of the agent's branch is checked out and
// turned into the service graph, which Proposing reads. The graph is kept in memory by cycle;
// after a restart Proposing rebuilds it from the same commit, so nothing is lost but time.
import { failedOutcome, type CycleContext, type RepresentPort, type WorkOutcome } from '../cycle/ports.js';
import type { ServiceGraph } from '../represent/graph.js';
import { buildServiceGraph } from '../represent/represent.js';
import type { Workspace } from '../git/workspace.js';
import { SourceUnavailableError, type SourceCheckouts } from '../git/source-checkout.js';

const MAX_CACHED_GRAPHS = 32;

export class GraphCache {
  private readonly graphs = new Map<string, ServiceGraph>();

  get(cycleUid: string): ServiceGraph | undefined {
    return this.graphs.get(cycleUid);
  }

  set(cycleUid: string, graph: ServiceGraph): void {
    this.graphs.delete(cycleUid);
    this.graphs.set(cycleUid, graph);
    // Oldest first: a bounded cache, since finished cycles never ask again.
    while (this.graphs.size > MAX_CACHED_GRAPHS)
      this.graphs.delete(this.graphs.keys().next().value as string);
  }
}

/** Checks out `commit` (detached) so the work tree is the source the cycle works on. */
export async function checkoutCommit(workspace: Workspace, commit: string): Promise<void> {
  await workspace.runner.git(['checkout', '--quiet', '--force', '--detach', commit]);
}

/** Builds the graph of the cycle's base commit, with hot spots from the agent's Prometheus. */
export async function graphOf(
  workspace: Workspace,
  cycle: CycleContext,
  commit: string,
): Promise<ServiceGraph> {
  await checkoutCommit(workspace, commit);
  const spec = cycle.spec.agentSpec;
  return buildServiceGraph(workspace.dir, {
    parameters: spec.improvement.parameters,
    prometheus: {
      url: spec.rollout.analysis.prometheus.address,
      target: { namespace: cycle.namespace, deployment: spec.target.deployment },
      timeoutMs: 5000,
    },
  });
}

export class RepresentWork implements RepresentPort {
  constructor(
    private readonly checkouts: SourceCheckouts,
    private readonly graphs: GraphCache,
  ) {}

  async represent(cycle: CycleContext): Promise<WorkOutcome> {
    try {
      return await this.checkouts.withWorkspace(
        { namespace: cycle.namespace, agent: cycle.spec.agent, source: cycle.spec.agentSpec.source },
        async (workspace) => {
          // The commit is fixed once: every later phase (and a restart) works on the same source.
          const commit =
            cycle.status.baseCommit ??
            (await workspace.runner.git(['rev-parse', '--verify', `${workspace.baseRef}^{commit}`])).trim();
          const graph = await graphOf(workspace, cycle, commit);
          this.graphs.set(cycle.uid, graph);
          return {
            state: 'succeeded',
            message: `Represented ${commit.slice(0, 12)}: ${graph.modules.length} modules, ${graph.parameters.length} parameters, ${graph.apiSchemas.length} API schemas, ${graph.hotSpots.length} hot spots${graph.hotSpotsNote ? ` (${graph.hotSpotsNote})` : ''}`,
            status: { baseCommit: commit },
          };
        },
      );
    } catch (error) {
      if (error instanceof SourceUnavailableError) {
        return failedOutcome('SourceUnavailable', error.message);
      }
      throw error;
    }
  }
}
