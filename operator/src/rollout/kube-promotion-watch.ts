// The watch after promotion on the cluster: measures the promoted revision through the metric
// provider, finds the revision before it (the stable Deployment's previous ReplicaSet, recorded
// when the watch begins, before anything else could roll out) and puts that ReplicaSet's pod
// template back when stepWatch (promotion-watch.ts) decides on a revert. The revert is carried
// out only once the Reverting state is persisted, and repeated until it has rolled out.
import {
  setHeaderOptions,
  PatchStrategy,
  type V1Deployment,
  type V1ReplicaSet,
} from '@kubernetes/client-node';
import type { PromotionWatch } from '../api/schema.js';
import type { CycleContext, WatchOutcome } from '../cycle/ports.js';
import { pointerToken, statusCodeOf, type KubeClients } from '../kube/clients.js';
import { cycleObject, type EventRecorder } from '../kube/events.js';
import { REVISION_ANNOTATION } from './canary-deployment.js';
import { targetQueryValues } from './query-template.js';
import type { Measurement, MetricProvider } from './metric-provider.js';
import { metricProviderFor, type MetricProviderFactory } from './metric-providers.js';
import {
  previousReplicaSet,
  revisionNameOf,
  runsTemplateOf,
  templateToRestore,
} from './previous-template.js';
import { rolledOut } from './promotion.js';
import {
  isRevertDecided,
  revertOnRequest,
  stableValuesOf,
  stepWatch,
  type WatchAction,
  type WatchObservations,
  type WatchSpec,
} from './promotion-watch.js';

/** The watch's figures on Prometheus; OperatorMetrics (telemetry/metrics.ts) implements it. */
export interface WatchMetrics {
  reverted(
    namespace: string,
    agent: string,
    source: string,
    detectSeconds: number,
    mitigateSeconds: number,
  ): void;
}

export interface KubePromotionWatcherOptions {
  clients: KubeClients;
  metricProviders?: Readonly<Record<string, MetricProviderFactory>>;
  events?: EventRecorder;
  metrics?: WatchMetrics;
  now?: () => Date;
}

/** How soon to look again after the revision before could not be put back. */
const REVERT_RETRY_MS = 30_000;

export class KubePromotionWatcher {
  constructor(private readonly options: KubePromotionWatcherOptions) {}

  async watch(cycle: CycleContext): Promise<WatchOutcome> {
    const now = this.now();
    const before = cycle.status.watch;
    const promotedAt = Date.parse(cycle.status.promotion?.promotedAt ?? '');
    const canaryStart = Date.parse(cycle.status.canary?.startTime ?? '');
    if (Number.isNaN(promotedAt) || Number.isNaN(canaryStart)) {
      return {
        watch: {
          phase: 'Passed',
          message: 'Not watched: the cycle does not say when its canary started and was promoted.',
          until: now.toISOString(),
          counts: [],
        },
      };
    }
    const spec = cycle.spec.agentSpec;
    const watchSpec: WatchSpec = {
      rollout: spec.rollout,
      target: targetQueryValues(cycle.namespace, spec.target),
      promotedAt: new Date(promotedAt),
      canaryStart: new Date(canaryStart),
      canaryStableValues: stableValuesOf(cycle.status.canary?.measurements),
    };
    const provider = this.providerFor(cycle);

    const observations: WatchObservations = {};
    let previous: { replicaSet: V1ReplicaSet; deployment: V1Deployment } | undefined;
    if (before?.phase === 'Reverting') {
      const found = await this.revertState(cycle, before);
      if ('problem' in found) return this.revertProblem(cycle, before, found.problem);
      previous = found;
      observations.reverted = found.reverted;
    }

    let result = stepWatch(watchSpec, before, observations, now);
    for (let round = 0; round < 2; round += 1) {
      const ask = result.actions.find(
        (a): a is Extract<WatchAction, { queries: unknown }> =>
          a.type === 'measure' || a.type === 'measureBaseline',
      );
      if (!ask) break;
      const answered = await Promise.all(
        ask.queries.map(async (q) => ({ metric: q.metric, value: await provider.measure(q.query) })),
      );
      const takenAt = this.now();
      result = stepWatch(
        watchSpec,
        before,
        ask.type === 'measureBaseline'
          ? { ...observations, baseline: answered }
          : { ...observations, measurements: { takenAt, results: answered } },
        takenAt,
      );
    }

    let state = result.state;
    if (!before) {
      const found = await this.previousOf(cycle);
      if (!found) {
        state = {
          ...state,
          phase: 'Passed',
          message: `Not watched: Deployment ${spec.target.deployment} has no earlier ReplicaSet to go back to (a first rollout, or revisionHistoryLimit 0).`,
        };
        this.event(cycle, 'Warning', 'WatchImpossible', state.message);
        return { watch: state };
      }
      const name = revisionNameOf(found);
      state = {
        ...state,
        previousReplicaSet: found.metadata?.name ?? '',
        ...(name ? { revertedTo: name } : {}),
      };
    }
    for (const action of result.actions) {
      if (action.type === 'event') this.event(cycle, action.severity, action.reason, action.message);
    }
    if (result.actions.some((a) => a.type === 'revert') && before?.phase === 'Reverting' && previous) {
      await this.revert(cycle, previous.replicaSet, previous.deployment, before);
    }
    if (state.phase === 'Reverted' && before?.phase === 'Reverting') this.count(cycle, state, now);
    return {
      watch: state,
      ...(result.requeueAfterMs !== undefined ? { retryAfterMs: result.requeueAfterMs } : {}),
    };
  }

  /**
   * A promotion taken back on request (REVERT_ANNOTATION): the watch becomes Reverting to the
   * ReplicaSet that ran before (the one the watch recorded, else the Deployment's previous one,
   * provided the Deployment still runs this cycle's revision). Refused, with the reason, when the
   * Deployment runs something else now or nothing ran before.
   */
  async beginRevert(cycle: CycleContext, reason: string): Promise<WatchOutcome | { refused: string }> {
    const before = cycle.status.watch;
    if (isRevertDecided(before)) return { watch: before! };
    const { apps } = this.options.clients;
    const name = cycle.spec.agentSpec.target.deployment;
    let previous: { replicaSet: string; revision?: string } | undefined;
    if (before?.previousReplicaSet) {
      previous = {
        replicaSet: before.previousReplicaSet,
        ...(before.revertedTo ? { revision: before.revertedTo } : {}),
      };
    } else {
      const deployment = await apps.readNamespacedDeployment({ name, namespace: cycle.namespace });
      const running = deployment.metadata?.annotations?.[REVISION_ANNOTATION];
      const promoted = cycle.status.promotion?.revision;
      if (running !== promoted) {
        return {
          refused: `Deployment ${name} runs ${running ?? 'a revision the agent did not make'} now, not ${promoted}: there is nothing of this cycle to revert`,
        };
      }
      const replicaSets = await apps.listNamespacedReplicaSet({ namespace: cycle.namespace });
      const found = previousReplicaSet(deployment, replicaSets.items);
      if (!found?.metadata?.name) {
        return { refused: `Deployment ${name} has no earlier ReplicaSet to go back to` };
      }
      const revision = revisionNameOf(found);
      previous = { replicaSet: found.metadata.name, ...(revision ? { revision } : {}) };
    }
    const watch = revertOnRequest(before, reason, previous, this.now());
    this.event(
      cycle,
      'Warning',
      'RevertRequested',
      `${watch.message}; ${previous.revision ?? 'the revision before'} goes back.`,
    );
    return { watch, retryAfterMs: 0 };
  }

  /** The metric provider the analysis names; one that reports why when there is none. */
  private providerFor(cycle: CycleContext): MetricProvider {
    const found = metricProviderFor(cycle.spec.agentSpec.rollout.analysis, this.options.metricProviders);
    if (!('failed' in found)) return found;
    const failure: Measurement = { kind: 'error', message: found.failed.message };
    return { measure: async () => failure };
  }

  /** The stable Deployment's ReplicaSet before its current one, as the watch begins. */
  private async previousOf(cycle: CycleContext): Promise<V1ReplicaSet | undefined> {
    const { apps } = this.options.clients;
    const name = cycle.spec.agentSpec.target.deployment;
    const deployment = await apps.readNamespacedDeployment({ name, namespace: cycle.namespace });
    const replicaSets = await apps.listNamespacedReplicaSet({ namespace: cycle.namespace });
    return previousReplicaSet(deployment, replicaSets.items);
  }

  /** The recorded ReplicaSet, and whether the Deployment runs its template again and has rolled out. */
  private async revertState(
    cycle: CycleContext,
    watch: PromotionWatch,
  ): Promise<
    { replicaSet: V1ReplicaSet; deployment: V1Deployment; reverted: boolean } | { problem: string }
  > {
    const { apps } = this.options.clients;
    const name = cycle.spec.agentSpec.target.deployment;
    if (!watch.previousReplicaSet) return { problem: 'the watch recorded no ReplicaSet to go back to' };
    let replicaSet: V1ReplicaSet;
    try {
      replicaSet = await apps.readNamespacedReplicaSet({
        name: watch.previousReplicaSet,
        namespace: cycle.namespace,
      });
    } catch (error) {
      if (statusCodeOf(error) === 404) {
        return { problem: `ReplicaSet ${watch.previousReplicaSet}, which ran the revision before, is gone` };
      }
      throw error;
    }
    const deployment = await apps.readNamespacedDeployment({ name, namespace: cycle.namespace });
    return {
      replicaSet,
      deployment,
      reverted: runsTemplateOf(deployment, replicaSet) && rolledOut(deployment).done,
    };
  }

  /**
   * Makes the stable Deployment (as just read) run the ReplicaSet's template again: one JSON patch;
   * repeating it changes nothing.
   */
  private async revert(
    cycle: CycleContext,
    replicaSet: V1ReplicaSet,
    deployment: V1Deployment,
    watch: PromotionWatch,
  ): Promise<void> {
    const name = cycle.spec.agentSpec.target.deployment;
    const revision = revisionNameOf(replicaSet);
    const key = pointerToken(REVISION_ANNOTATION);
    if (runsTemplateOf(deployment, replicaSet)) return;
    const annotated = deployment.metadata?.annotations?.[REVISION_ANNOTATION] !== undefined;
    await this.options.clients.apps.patchNamespacedDeployment(
      {
        name,
        namespace: cycle.namespace,
        body: [
          { op: 'replace', path: '/spec/template', value: templateToRestore(replicaSet) },
          ...(revision
            ? [{ op: 'add', path: `/metadata/annotations/${key}`, value: revision }]
            : annotated
              ? [{ op: 'remove', path: `/metadata/annotations/${key}` }]
              : []),
        ],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    this.event(
      cycle,
      'Normal',
      'Reverting',
      `Deployment ${name} goes back to the template of ReplicaSet ${replicaSet.metadata?.name} (${watch.revertedTo ?? 'the revision before the first promotion'}).`,
    );
  }

  /** A revert that cannot be carried out: told once per visit as a Warning, tried again later. */
  private revertProblem(cycle: CycleContext, watch: PromotionWatch, problem: string): WatchOutcome {
    const message = `The regression stays: ${problem}. Roll back by hand (kubectl hyperagent rollback).`;
    if (watch.message !== message) this.event(cycle, 'Warning', 'RevertFailed', message);
    return { watch: { ...watch, message }, retryAfterMs: REVERT_RETRY_MS };
  }

  private count(cycle: CycleContext, watch: PromotionWatch, now: Date): void {
    const decided = Date.parse(watch.decisionTime ?? '');
    const firstFailure = Date.parse(watch.firstFailureTime ?? '');
    this.options.metrics?.reverted(
      cycle.namespace,
      cycle.spec.agent,
      'watch',
      (decided - firstFailure) / 1000,
      (now.getTime() - decided) / 1000,
    );
  }

  private event(cycle: CycleContext, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.options.events?.record(cycleObject(cycle), type, reason, message);
  }

  private now(): Date {
    return this.options.now ? this.options.now() : new Date();
  }
}
