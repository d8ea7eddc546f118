// Reconciles one HyperAgent: starts the cycle of a due slot and keeps the agent's status and
// conditions in step with its cycles. Decisions come from planAgent(); this file only observes
// and acts.
import type { Logger } from 'pino';
import {
  API_VERSION,
  AGENT_LABEL,
  CYCLES,
  HYPERAGENTS,
  ROLLBACK_ANNOTATION,
  keyOf,
  splitKey,
} from '../api/resources.js';
import type { HyperAgent, ImprovementCycle } from '../api/resources.js';
import type { KubeClients } from '../kube/clients.js';
import { statusCodeOf } from '../kube/clients.js';
import type { EventRecorder } from '../kube/events.js';
import type { Informer } from './informer.js';
import { agentStatus, planAgent } from './agent-plan.js';
import { planManualRollback, type RollbackPlan } from './manual-rollback.js';
import { isTerminal } from '../cycle/machine.js';
import { applyRevision } from '../rollout/stable-deployment.js';
import { readTarget } from '../kube/target.js';
import { describeError } from '../kube/clients.js';
import { writeStatus } from '../kube/status.js';
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

    const active = cycles.find((cycle) => !isTerminal(cycle.status?.phase));
    const restored = await this.answerRollback(agent, planManualRollback(agent, active));
    const withRestored = <T extends { stableRevision?: string }>(status: T): T =>
      restored ? { ...status, stableRevision: restored } : status;

    const written = await writeStatus(this.deps.clients.custom, HYPERAGENTS, agent, (current) =>
      // on a conflict, the status of the agent as it is now, with this visit's schedule decision:
      // a fresh decision could name a cycle this visit never created (a run request just made)
      withRestored(current === agent ? plan.status : agentStatus(current, cycles, plan.schedule, now)),
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

  /**
   * Carries out a rollback request: the target Deployment gets the revision's image and parameter
   * values; the request annotation is removed (only if it still asks the same, so a newer one is
   * kept). Returns the restored revision's name, or undefined when nothing was restored.
   */
  private async answerRollback(agent: HyperAgent, plan: RollbackPlan): Promise<string | undefined> {
    if (plan.kind === 'none') return undefined;
    const { events, clients } = this.deps;
    let restored: string | undefined;
    if (plan.kind === 'refuse') {
      events.record(
        agent,
        'Warning',
        'RollbackRefused',
        `Rollback to ${plan.requested} refused: ${plan.message}`,
      );
    } else {
      const target = agent.spec.target;
      try {
        const found = await readTarget(clients.apps, agent.metadata.namespace, target);
        if ('failed' in found) {
          events.record(
            agent,
            'Warning',
            'RollbackFailed',
            `Rollback to ${plan.requested} failed: ${found.failed.message}`,
          );
        } else {
          await applyRevision(
            clients.apps,
            {
              namespace: agent.metadata.namespace,
              deployment: target.deployment,
              container: target.container,
            },
            found.deployment,
            plan.revision,
          );
          restored = plan.revision.name;
          events.record(
            agent,
            'Normal',
            'RolledBackTo',
            `Deployment ${target.deployment} runs revision ${plan.revision.name} again (${plan.revision.image})`,
          );
        }
      } catch (error) {
        events.record(
          agent,
          'Warning',
          'RollbackFailed',
          `Rollback to ${plan.requested} failed: cannot update Deployment ${target.deployment}: ${describeError(error)}`,
        );
      }
    }
    const key = ROLLBACK_ANNOTATION.replace(/~/g, '~0').replace(/\//g, '~1');
    await clients.custom
      .patchNamespacedCustomObject({
        group: HYPERAGENTS.group,
        version: HYPERAGENTS.version,
        plural: HYPERAGENTS.plural,
        namespace: agent.metadata.namespace,
        name: agent.metadata.name,
        body: [
          { op: 'test', path: `/metadata/annotations/${key}`, value: plan.requested },
          { op: 'remove', path: `/metadata/annotations/${key}` },
        ],
      })
      .catch((error: unknown) => {
        // A newer request replaced it (the test failed) or the agent is gone: nothing to remove.
        this.deps.log.debug({ err: describeError(error) }, 'rollback annotation not removed');
      });
    return restored;
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
