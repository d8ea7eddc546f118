// Reconciles one HyperAgent: starts the cycle of a due slot and keeps the agent's status and
// conditions in step with its cycles. Decisions come from planAgent(); this file only observes
// and acts.
import type { Logger } from 'pino';
import { API_VERSION, AGENT_LABEL, CYCLES, HYPERAGENTS, keyOf, splitKey } from '../api/resources.js';
import type { HyperAgent, ImprovementCycle } from '../api/resources.js';
import type { KubeClients } from './kube.js';
import { statusCodeOf } from './kube.js';
import type { EventRecorder } from './events.js';
import type { Informer } from './informer.js';
import { planAgent } from './agent-plan.js';
import { writeStatus } from './status.js';
import type { ReconcileResult } from './work-queue.js';

export interface HyperAgentReconcilerDeps {
  clients: KubeClients;
  agents: Informer<HyperAgent>;
  cycles: Informer<ImprovementCycle>;
  events: EventRecorder;
  log: Logger;
  now?: () => Date;
}

/** The cycles in `cycles` that belong to `agent` (by label and owner uid). */
export function cyclesOf(agent: HyperAgent, cycles: readonly ImprovementCycle[]): ImprovementCycle[] {
  return cycles.filter(
    (c) =>
      c.metadata.labels?.[AGENT_LABEL] === agent.metadata.name &&
      (c.metadata.ownerReferences ?? []).some((o) => o.uid === agent.metadata.uid),
  );
}

export class HyperAgentReconciler {
  /** Cycles created by this replica and not yet seen in the cache, by agent key. */
  private readonly expected = new Map<string, ImprovementCycle>();

  constructor(private readonly deps: HyperAgentReconcilerDeps) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const agent = this.deps.agents.get(name, namespace);
    if (!agent || agent.metadata.deletionTimestamp) return {}; // owned cycles go with it (garbage collector)
    const now = this.now();
    const cycles = this.withExpected(agent, cyclesOf(agent, this.deps.cycles.list(namespace)));
    const plan = planAgent(agent, cycles, now);

    if (plan.createCycle) {
      const created = await this.createCycle(agent, plan.createCycle.name, plan.createCycle.slot);
      if (!created) plan.events = plan.events.filter((e) => e.reason !== 'CycleCreated');
    }

    const written = await writeStatus(this.deps.clients.custom, HYPERAGENTS, agent, (current) =>
      current === agent ? plan.status : planAgent(current, cycles, now).status,
    );
    for (const event of plan.events)
      this.deps.events.record(written ?? agent, event.type, event.reason, event.message);
    return plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : {};
  }

  /**
   * Adds the cycles this replica created that the cache has not shown yet ("expectations", as
   * ReplicaSets keep them): without them a lagging watch could let a second cycle start while the
   * first runs. After a restart the caches are listed fresh before any reconcile, so nothing is lost.
   */
  private withExpected(agent: HyperAgent, cached: ImprovementCycle[]): ImprovementCycle[] {
    const key = keyOf(agent);
    const expected = this.expected.get(key);
    if (!expected) return cached;
    if (cached.some((c) => c.metadata.name === expected.metadata.name)) {
      this.expected.delete(key);
      return cached;
    }
    return [...cached, expected];
  }

  /** Creates the cycle of a slot; false when it already exists (a restart, or a peer's stale write). */
  private async createCycle(agent: HyperAgent, name: string, slot: Date): Promise<boolean> {
    const cycle: ImprovementCycle = {
      apiVersion: API_VERSION,
      kind: CYCLES.kind,
      metadata: {
        name,
        namespace: agent.metadata.namespace,
        labels: { [AGENT_LABEL]: agent.metadata.name, 'app.kubernetes.io/managed-by': 'hyperagent-operator' },
        ownerReferences: [
          {
            apiVersion: API_VERSION,
            kind: HYPERAGENTS.kind,
            name: agent.metadata.name,
            uid: agent.metadata.uid as string,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        agent: agent.metadata.name,
        slot: slot.toISOString(),
        agentGeneration: agent.metadata.generation ?? 0,
        agentSpec: agent.spec,
      },
    };
    try {
      const created = (await this.deps.clients.custom.createNamespacedCustomObject({
        group: CYCLES.group,
        version: CYCLES.version,
        plural: CYCLES.plural,
        namespace: agent.metadata.namespace,
        body: cycle,
      })) as ImprovementCycle;
      this.expected.set(keyOf(agent), created);
      return true;
    } catch (error) {
      if (statusCodeOf(error) === 409) {
        this.deps.log.info(
          { namespace: agent.metadata.namespace, cycle: name },
          'cycle for this slot exists already',
        );
        return false;
      }
      throw error;
    }
  }

  private now(): Date {
    return this.deps.now ? this.deps.now() : new Date();
  }
}
