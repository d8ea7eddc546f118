// Reconciles one HyperAgent: starts the cycle of a due slot and keeps the agent's status and
// conditions in step with its cycles. Decisions come from planAgent(); this file only observes
// and acts.
import type { Logger } from 'pino';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import {
  API_VERSION,
  AGENT_LABEL,
  CYCLES,
  HYPERAGENTS,
  REVERT_ANNOTATION,
  ROLLBACK_ANNOTATION,
  keyOf,
  splitKey,
} from '../api/resources.js';
import type { HealingStatus, IncidentEvidence } from '../api/schema.js';
import type { CycleEvent } from '../cycle/machine.js';
import { healingDue, planHealing, remediationStarted, type TriggerReading } from './healing-plan.js';
import { remediationSpec } from './remediation-spec.js';
import { cycleNameForSlot } from './schedule.js';
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
import { describeError, pointerToken } from '../kube/clients.js';
import { writeStatus } from '../kube/status.js';
import type { ReconcileResult } from './work-queue.js';

/** What the self-healing reads of the cluster; rollout/incident-observer.ts implements it. */
export interface IncidentPort {
  read(agent: HyperAgent): Promise<TriggerReading[]>;
  evidence(
    agent: HyperAgent,
    incident: { summary: string; since: Date; detectedAt: Date; triggers: readonly string[] },
  ): Promise<IncidentEvidence>;
}

/** The self-healing's figures; OperatorMetrics (telemetry/metrics.ts) implements it. */
export interface HealingMetrics {
  incidentDetected(namespace: string, agent: string, detectSeconds: number): void;
  incidentHealed(namespace: string, agent: string, healSeconds: number, mitigateSeconds?: number): void;
}

export interface HyperAgentReconcilerDeps {
  clients: KubeClients;
  agents: Informer<HyperAgent>;
  cycles: Informer<ImprovementCycle>;
  events: EventRecorder;
  log: Logger;
  /** Reads spec.healing's triggers and gathers an incident's evidence; no self-healing without it. */
  incidents?: IncidentPort;
  metrics?: HealingMetrics;
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
  /** The healing status this replica last decided per agent, until the cache shows it. */
  private readonly healingWritten = new Map<string, HealingStatus>();

  constructor(private readonly deps: HyperAgentReconcilerDeps) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const agent = this.deps.agents.get(name, namespace);
    if (!agent || agent.metadata.deletionTimestamp) {
      this.healingWritten.delete(key);
      return {}; // owned cycles go with it (garbage collector)
    }
    const now = this.now();
    let cycles = this.withExpected(agent, cyclesOf(agent, this.deps.cycles.indexed(`${namespace}/${name}`)));
    // self-healing first: a remediation cycle it starts is running before the schedule is asked
    const healing = await this.heal(agent, cycles, now);
    if (healing?.started) cycles = this.withExpected(agent, cycles);
    const plan = planAgent(agent, cycles, now);

    if (plan.createCycle) {
      const created = await this.createCycle(agent, plan.createCycle.name, plan.createCycle.slot);
      if (!created) plan.events = plan.events.filter((e) => e.reason !== 'CycleCreated');
    }

    const active = cycles.find((cycle) => !isTerminal(cycle.status?.phase));
    const restored = await this.answerRollback(agent, planManualRollback(agent, active));
    const withRestored = <T extends { stableRevision?: string }>(status: T): T =>
      restored ? { ...status, stableRevision: restored } : status;

    const withHealing = <T extends { healing?: HealingStatus }>(status: T): T =>
      healing ? { ...status, healing: healing.status } : status;
    const written = await writeStatus(this.deps.clients.custom, HYPERAGENTS, agent, (current) =>
      // on a conflict, the status of the agent as it is now, with this visit's schedule decision:
      // a fresh decision could name a cycle this visit never created (a run request just made)
      withHealing(
        withRestored(current === agent ? plan.status : agentStatus(current, cycles, plan.schedule, now)),
      ),
    );
    for (const event of [...(healing?.events ?? []), ...plan.events])
      this.deps.events.record(written ?? agent, event.type, event.reason, event.message);
    const wakes = [plan.requeueAfterMs, healing?.requeueAfterMs].filter(
      (ms): ms is number => ms !== undefined,
    );
    return wakes.length > 0 ? { requeueAfterMs: Math.min(...wakes) } : {};
  }

  /**
   * spec.healing: reads the triggers when a check is due, decides (healing-plan.ts) and carries the
   * decision out: a revert is asked of the cycle that promoted the revision (REVERT_ANNOTATION), a
   * remediation is a new cycle with the incident's evidence. Undefined when there is nothing to
   * heal or no check is due (the status keeps what it had).
   */
  private async heal(
    agent: HyperAgent,
    cycles: readonly ImprovementCycle[],
    now: Date,
  ): Promise<
    { status: HealingStatus; events: CycleEvent[]; requeueAfterMs: number; started: boolean } | undefined
  > {
    const incidents = this.deps.incidents;
    if (!agent.spec.healing || !incidents) return undefined;
    // A cache that has not caught up with this replica's last write would replay that check (an
    // incident detected twice, an Event told twice): the newer of the two is what was decided last.
    const key = keyOf(agent);
    const written = this.healingWritten.get(key);
    const cachedAt = Date.parse(agent.status?.healing?.checkedAt ?? '');
    const seen: HyperAgent =
      written && !(Date.parse(written.checkedAt) <= cachedAt)
        ? { ...agent, status: { ...agent.status, healing: written } }
        : agent;
    const due = healingDue(seen, now);
    if (!due.due)
      return { status: seen.status!.healing!, events: [], requeueAfterMs: due.afterMs, started: false };
    const readings = await incidents.read(seen);
    const plan = planHealing(seen, cycles, readings, now);
    const { namespace, name } = agent.metadata;
    if (plan.detected) this.deps.metrics?.incidentDetected(namespace, name, plan.detected.detectSeconds);
    if (plan.healed) {
      this.deps.metrics?.incidentHealed(
        namespace,
        name,
        plan.healed.healSeconds,
        plan.healed.mitigateSeconds,
      );
    }
    let status = plan.status;
    const events = [...plan.events];
    let started = false;
    if (plan.action.kind === 'revert') {
      await this.askRevert(namespace, plan.action.cycle, plan.action.reason);
    } else if (plan.action.kind === 'remediate') {
      if (agent.spec.suspend) {
        const message = 'An incident holds, but the agent is suspended: no remediation cycle starts.';
        if (status.incident)
          status = { ...status, incident: { ...status.incident, action: 'Held', message } };
        if (agent.status?.healing?.incident?.message !== message) {
          events.push({ type: 'Warning', reason: 'RemediationHeld', message });
        }
      } else {
        const evidence = await incidents.evidence(agent, plan.action);
        const cycleName = cycleNameForSlot(name, now);
        const created = await this.createCycle(agent, cycleName, now, evidence);
        if (created) {
          started = true;
          status = remediationStarted(status, cycleName, now);
          events.push({
            type: 'Warning',
            reason: 'RemediationStarted',
            message: `Remediation cycle ${cycleName} started for the incident: ${plan.action.summary}.`,
          });
        }
      }
    }
    this.healingWritten.set(key, status);
    return { status, events, requeueAfterMs: plan.requeueAfterMs, started };
  }

  /** Asks a promoted cycle to take its revision back (its watch carries it out). */
  private async askRevert(namespace: string, cycle: string, reason: string): Promise<void> {
    await this.deps.clients.custom.patchNamespacedCustomObject(
      {
        group: CYCLES.group,
        version: CYCLES.version,
        plural: CYCLES.plural,
        namespace,
        name: cycle,
        body: { metadata: { annotations: { [REVERT_ANNOTATION]: reason.slice(0, 1024) } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
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
    const key = pointerToken(ROLLBACK_ANNOTATION);
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

  /**
   * Creates the cycle of a slot; false when it already exists (a restart, or a peer's stale write).
   * A remediation cycle carries its incident, and its canary judges the incident's measure.
   */
  private async createCycle(
    agent: HyperAgent,
    name: string,
    slot: Date,
    incident?: IncidentEvidence,
  ): Promise<boolean> {
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
        agentSpec: incident ? remediationSpec(agent.spec, incident) : agent.spec,
        ...(incident ? { incident } : {}),
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
