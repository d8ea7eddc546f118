// Promotion, decided without I/O: the name of a revision, the patch that makes the stable
// Deployment run it, whether the stable Deployment runs it and has rolled out, and the history
// entry the agent keeps of it (newest first, at most rollout.rollback.keepHistory, each revision
// once).
import type { V1Deployment } from '@kubernetes/client-node';
import { ROLE_LABEL } from '../api/resources.js';
import type { HistoryEntry, HyperAgentStatus } from '../api/schema.js';
import { targetContainer } from '../kube/target.js';
import { REVISION_ANNOTATION } from './canary-deployment.js';
import type { Revision } from './traffic-router.js';

/**
 * `<cycle>-<candidate>`: the revision a cycle delivers. One cycle promotes at most one candidate,
 * so the name is unique within the agent and the same on every visit (a replay records nothing new).
 */
export function revisionName(cycle: string, candidate: string | undefined): string {
  return (candidate ? `${cycle}-${candidate}` : cycle).slice(0, 253);
}

/**
 * The strategic-merge patch that makes `stable` run `revision` on its target container: the
 * image, and each parameter's variable by value (a valueFrom it had is dropped). The pod template
 * gains ROLE_LABEL=stable only when it changes anyway, so a patch never restarts pods for a label
 * alone; the Deployment is annotated with the revision. Throws when there is no such container.
 */
export function stablePatch(stable: V1Deployment, container: string | undefined, revision: Revision): object {
  const current = targetContainer(stable, container);
  if (!current)
    throw new Error(`the stable Deployment has no ${container ? `container ${container}` : 'container'}`);
  const env = Object.keys(revision.env)
    .sort()
    .map((name) => {
      const had = current.env?.find((e) => e.name === name);
      return { name, value: revision.env[name], ...(had?.valueFrom ? { valueFrom: null } : {}) };
    });
  const changes = !runsRevision(stable, container, revision);
  return {
    metadata: { annotations: { [REVISION_ANNOTATION]: revision.name } },
    ...(changes
      ? {
          spec: {
            template: {
              metadata: { labels: { [ROLE_LABEL]: 'stable' } },
              spec: {
                containers: [
                  { name: current.name, image: revision.image, ...(env.length > 0 ? { env } : {}) },
                ],
              },
            },
          },
        }
      : {}),
  };
}

/** True when the target container of `deployment` has the revision's image and every variable by value. */
export function runsRevision(
  deployment: V1Deployment,
  container: string | undefined,
  revision: Revision,
): boolean {
  const current = targetContainer(deployment, container);
  if (!current || current.image !== revision.image) return false;
  return Object.entries(revision.env).every(([name, value]) => {
    const variable = current.env?.find((e) => e.name === name);
    return variable !== undefined && variable.value === value && !variable.valueFrom;
  });
}

/**
 * Whether `deployment` has rolled out its current template, as `kubectl rollout status` decides:
 * the spec observed, every replica updated and available, no old pod left.
 */
export function rolledOut(deployment: V1Deployment): { done: boolean; detail: string } {
  const wanted = deployment.spec?.replicas ?? 1;
  const status = deployment.status ?? {};
  if ((status.observedGeneration ?? 0) < (deployment.metadata?.generation ?? 1)) {
    return { done: false, detail: 'the Deployment controller has not observed the change yet' };
  }
  const updated = status.updatedReplicas ?? 0;
  const available = status.availableReplicas ?? 0;
  const total = status.replicas ?? 0;
  if (updated < wanted) return { done: false, detail: `${updated} of ${wanted} replicas updated` };
  if (total > updated) return { done: false, detail: `${total - updated} old replicas still running` };
  if (available < updated)
    return { done: false, detail: `${available} of ${updated} updated replicas available` };
  return { done: true, detail: `${wanted} ${wanted === 1 ? 'replica' : 'replicas'} updated and available` };
}

/** What a promoted revision is remembered by. */
export interface PromotionRecord {
  revision: Revision;
  cycle: string;
  commit?: string;
  /** Parameter values the revision runs with, by parameter name. */
  parameters: Record<string, string>;
  /** The analysis values that passed (canary-machine promotedMetrics). */
  metrics: Record<string, number>;
  promotedAt: Date;
}

/** The history entry of a promotion. */
export function historyEntry(record: PromotionRecord): HistoryEntry {
  return {
    revision: record.revision.name,
    image: record.revision.image,
    ...(record.commit ? { commit: record.commit } : {}),
    cycle: record.cycle,
    promotedAt: record.promotedAt.toISOString(),
    ...(Object.keys(record.metrics).length > 0 ? { metrics: record.metrics } : {}),
    ...(Object.keys(record.parameters).length > 0 ? { parameters: record.parameters } : {}),
  };
}

/**
 * The agent status with `entry` as the stable revision: put first in history unless that revision
 * is there already (a replay adds nothing), history trimmed to `keepHistory`, newest first.
 */
export function recordPromotion(
  status: HyperAgentStatus | undefined,
  entry: HistoryEntry,
  keepHistory: number,
): HyperAgentStatus {
  const history = status?.history ?? [];
  const known = history.some((e) => e.revision === entry.revision);
  return {
    ...status,
    stableRevision: entry.revision,
    history: (known ? history : [entry, ...history]).slice(0, Math.max(1, keepHistory)),
  };
}
