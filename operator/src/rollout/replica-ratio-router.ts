// The replica-ratio TrafficRouter: the canary is a second Deployment (`<target>-canary`, built by
// canary-deployment.ts) whose pods the target's Service selects along with the stable pods, so a
// connection lands on a canary pod with the probability canary / (stable + canary) of ready pods.
// A weight w is approximated by the canary replica count c beside the stable Deployment's s:
//
//   c = the count (at least 1) whose share 100·c/(s+c) is closest to w, fewer pods on a tie.
//
// Granularity: one canary pod beside s stable ones is already 100/(s+1)%. One stable replica
// cannot give 10% (one canary pod is 50%); nine can (10%). The router refuses a weight whose
// nearest share is more than maxShareFactor (2) times the weight asked, naming how many stable
// replicas the step needs, rather than surprise anyone with five times the traffic; it refuses
// 100% (stable pods keep serving until promotion) and more than maxCanaryReplicas canary pods.
// The stable Deployment is never touched: not its template (that would restart every stable pod
// before the canary even starts), not its replicas.
//
// The weight is reported in place only when the canary Deployment runs the revision at the
// replica count the weight needs, has observed its spec, and every canary pod is ready; and 0 only
// when no canary pod exists. The share traffic actually sees (ready canary pods over all ready
// pods) is reported beside it.
import { PatchStrategy, setHeaderOptions, type V1Deployment, type V1Service } from '@kubernetes/client-node';
import { describeError, serverSideApply, statusCodeOf, type KubeClients } from '../kube/clients.js';
import {
  REVISION_ANNOTATION,
  WEIGHT_ANNOTATION,
  canaryDeployment,
  canaryName,
  selectsTemplate,
} from './canary-deployment.js';
import { deleteOwnedCanary, readOperatorCanary } from './canary-workload.js';
import {
  WeightUnreachableError,
  type CanaryTarget,
  type ReleasedTarget,
  type TrafficRouter,
  type TrafficState,
} from './traffic-router.js';

export interface ReplicaLimits {
  /** Most canary pods the router starts for one weight. */
  maxCanaryReplicas: number;
  /** A weight's nearest share may be at most this many times the weight asked. */
  maxShareFactor: number;
}

export const DEFAULT_REPLICA_LIMITS: ReplicaLimits = { maxCanaryReplicas: 20, maxShareFactor: 2 };

export interface ReplicaPlan {
  canaryReplicas: number;
  /** The share of traffic those replicas give, percent (one decimal). */
  percent: number;
}

/** The canary's share of traffic, percent with one decimal, with `canary` pods beside `stable` ones. */
export function sharePercent(stable: number, canary: number): number {
  const total = stable + canary;
  return total === 0 ? 0 : Math.round((1000 * canary) / total) / 10;
}

/**
 * The canary replica count for `weight` percent beside `stableReplicas`: at least one pod for any
 * weight above 0, the share closest to the weight, fewer pods on a tie. Unreachable (with the
 * reason and the remedy) for 100%, for no stable replicas, for a share above maxShareFactor times
 * the weight, or for more than maxCanaryReplicas pods.
 */
export function planReplicas(
  stableReplicas: number,
  weight: number,
  limits: ReplicaLimits = DEFAULT_REPLICA_LIMITS,
): ReplicaPlan | { unreachable: string } {
  if (weight <= 0) return { canaryReplicas: 0, percent: 0 };
  if (weight >= 100) {
    return {
      unreachable:
        'the replica ratio cannot send 100% of traffic to the canary while stable pods serve; end the steps below 100% (promotion moves the rest)',
    };
  }
  const s = stableReplicas;
  if (s < 1) {
    return { unreachable: 'the stable Deployment has no replicas: any canary pod would take all traffic' };
  }
  const ideal = (weight * s) / (100 - weight);
  const counts = [...new Set([Math.max(1, Math.floor(ideal)), Math.max(1, Math.ceil(ideal))])];
  const plans = counts.map((c) => ({ canaryReplicas: c, percent: sharePercent(s, c) }));
  const best = plans.reduce((a, b) => (Math.abs(b.percent - weight) < Math.abs(a.percent - weight) ? b : a));
  if (best.percent > weight * limits.maxShareFactor) {
    return {
      unreachable: `with ${s} stable ${s === 1 ? 'replica' : 'replicas'} one canary pod takes ${best.percent}% of traffic, more than ${limits.maxShareFactor}x the ${weight}% asked; this step needs at least ${stableReplicasFor(weight, limits.maxShareFactor)} stable replicas (or a lower-granularity router)`,
    };
  }
  if (best.canaryReplicas > limits.maxCanaryReplicas) {
    return {
      unreachable: `${weight}% beside ${s} stable ${s === 1 ? 'replica' : 'replicas'} needs ${best.canaryReplicas} canary pods, more than the limit of ${limits.maxCanaryReplicas}`,
    };
  }
  return best;
}

/** The fewest stable replicas beside which one canary pod takes at most `factor` times `weight`. */
function stableReplicasFor(weight: number, factor: number): number {
  let s = 1;
  while (sharePercent(s, 1) > weight * factor) s += 1;
  return s;
}

/**
 * Which weight the canary holds, from the stable and canary Deployments as read: the annotated
 * weight once the canary runs `revision` at the planned replica count, has observed its spec and
 * has every pod ready; 0 once no canary pod is left; undefined in between.
 */
export function readTraffic(
  stable: V1Deployment,
  canary: V1Deployment | undefined,
  revision: string,
  limits: ReplicaLimits = DEFAULT_REPLICA_LIMITS,
): TrafficState {
  if (!canary) return { weight: 0, canaryPresent: false, actualPercent: 0, detail: 'no canary Deployment' };
  const stableReady = stable.status?.readyReplicas ?? 0;
  const canaryReady = canary.status?.readyReplicas ?? 0;
  const actualPercent = stableReady + canaryReady > 0 ? sharePercent(stableReady, canaryReady) : undefined;
  const seen = { canaryPresent: true, ...(actualPercent !== undefined ? { actualPercent } : {}) };
  const pods = canary.status?.replicas ?? 0;
  const observed = (canary.status?.observedGeneration ?? 0) >= (canary.metadata?.generation ?? 1);
  const desired = canary.spec?.replicas ?? 1;
  if (desired === 0) {
    return observed && pods === 0
      ? { ...seen, weight: 0, detail: 'the canary Deployment has no pods' }
      : { ...seen, detail: `waiting for ${pods} canary ${pods === 1 ? 'pod' : 'pods'} to stop` };
  }
  const asked = Number(canary.metadata?.annotations?.[WEIGHT_ANNOTATION]);
  if (!Number.isFinite(asked)) return { ...seen, detail: 'the canary Deployment carries no weight' };
  if (canary.metadata?.annotations?.[REVISION_ANNOTATION] !== revision) {
    return { ...seen, detail: `the canary Deployment runs another revision than ${revision}` };
  }
  const plan = planReplicas(stable.spec?.replicas ?? 1, asked, limits);
  if ('unreachable' in plan) return { ...seen, detail: `${asked}% is out of reach: ${plan.unreachable}` };
  if (plan.canaryReplicas !== desired) {
    return {
      ...seen,
      detail: `${asked}% now needs ${plan.canaryReplicas} canary pods, the canary Deployment asks ${desired}`,
    };
  }
  const updated = canary.status?.updatedReplicas ?? 0;
  if (!observed || updated !== desired || pods !== desired || canaryReady !== desired) {
    return {
      ...seen,
      detail: `${canaryReady} of ${desired} canary pods ready (${updated} updated, ${pods} in all) for ${asked}%`,
    };
  }
  return {
    ...seen,
    weight: asked,
    detail: `${desired} canary ${desired === 1 ? 'pod' : 'pods'} beside ${stableReady} ready stable: ${actualPercent ?? 0}% of ready pods for ${asked}% asked`,
  };
}

export interface ReplicaRatioRouterOptions {
  clients: Pick<KubeClients, 'apps' | 'core' | 'objects'>;
  limits?: Partial<ReplicaLimits>;
}

export class ReplicaRatioRouter implements TrafficRouter {
  private readonly limits: ReplicaLimits;

  constructor(private readonly options: ReplicaRatioRouterOptions) {
    this.limits = { ...DEFAULT_REPLICA_LIMITS, ...options.limits };
  }

  async observe(target: CanaryTarget): Promise<TrafficState> {
    const canary = await this.readCanary(target);
    // a stable Deployment gone mid-canary must not keep a rollback from seeing the canary empty
    const stable = canary ? await this.readStable(target, { missingOk: true }) : {};
    return readTraffic(stable, canary, target.revision.name, this.limits);
  }

  async setWeight(target: CanaryTarget, weight: number): Promise<void> {
    const canary = await this.readCanary(target);
    if (weight <= 0) {
      if (!canary || canary.spec?.replicas === 0) return;
      await this.options.clients.apps.patchNamespacedDeployment(
        {
          name: canaryName(target.deployment),
          namespace: target.namespace,
          body: { metadata: { annotations: { [WEIGHT_ANNOTATION]: '0' } }, spec: { replicas: 0 } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      return;
    }
    const stable = await this.readStable(target);
    const plan = planReplicas(stable.spec?.replicas ?? 1, weight, this.limits);
    if ('unreachable' in plan) throw new WeightUnreachableError(`${weight}% of traffic: ${plan.unreachable}`);
    const desired = canaryDeployment(stable, target, plan.canaryReplicas, weight);
    try {
      await serverSideApply(this.options.clients.objects, desired);
    } catch (error) {
      // a selector is immutable: a canary left from a stable with other labels is replaced
      if (statusCodeOf(error) !== 422 || !canary || !/immutable/i.test(describeError(error))) throw error;
      await this.delete(target);
      throw new Error(
        `the canary Deployment could not take the stable selector and was deleted to be made again: ${describeError(error)}`,
      );
    }
  }

  async removeCanary(target: CanaryTarget): Promise<void> {
    const canary = await this.readCanary(target);
    if (canary && !canary.metadata?.deletionTimestamp) await this.delete(target);
  }

  async release(target: ReleasedTarget, owner: string): Promise<void> {
    await deleteOwnedCanary(this.options.clients.apps, target.namespace, target.deployment, owner);
  }

  async check(target: CanaryTarget, weights: readonly number[]): Promise<string[]> {
    const stable = await this.readStable(target);
    const problems: string[] = [];
    const replicas = stable.spec?.replicas ?? 1;
    for (const weight of weights) {
      const plan = planReplicas(replicas, weight, this.limits);
      if ('unreachable' in plan) problems.push(`${weight}%: ${plan.unreachable}`);
    }
    let canary: V1Deployment;
    try {
      canary = canaryDeployment(stable, target, 1, weights[0] ?? 0);
    } catch (error) {
      return [...problems, (error as Error).message];
    }
    if (target.service) {
      const service = await this.readService(target.namespace, target.service);
      const selector = service?.spec?.selector ?? {};
      if (!service) problems.push(`the Service ${target.namespace}/${target.service} does not exist`);
      else if (!selectsTemplate(selector, canary)) {
        problems.push(
          `the Service ${target.service} selects ${JSON.stringify(selector)}, which the canary pods (${JSON.stringify(canary.spec?.template.metadata?.labels)}) do not all carry: they would get no traffic`,
        );
      }
    }
    return problems;
  }

  private async readStable(
    target: CanaryTarget,
    options: { missingOk?: boolean } = {},
  ): Promise<V1Deployment> {
    try {
      return await this.options.clients.apps.readNamespacedDeployment({
        name: target.deployment,
        namespace: target.namespace,
      });
    } catch (error) {
      if (options.missingOk && statusCodeOf(error) === 404) return {};
      throw error;
    }
  }

  /** The canary Deployment, undefined when absent; throws ForeignCanaryError for one we did not make. */
  private readCanary(target: CanaryTarget): Promise<V1Deployment | undefined> {
    return readOperatorCanary(this.options.clients.apps, target.namespace, target.deployment);
  }

  private async readService(namespace: string, name: string): Promise<V1Service | undefined> {
    try {
      return await this.options.clients.core.readNamespacedService({ name, namespace });
    } catch (error) {
      if (statusCodeOf(error) === 404) return undefined;
      throw error;
    }
  }

  /** Deletes the canary in the foreground: it is gone only once its pods are. */
  private async delete(target: CanaryTarget): Promise<void> {
    try {
      await this.options.clients.apps.deleteNamespacedDeployment({
        name: canaryName(target.deployment),
        namespace: target.namespace,
        propagationPolicy: 'Foreground',
      });
    } catch (error) {
      if (statusCodeOf(error) !== 404) throw error;
    }
  }
}
