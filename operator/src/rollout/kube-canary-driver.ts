// The Canary phase on a cluster. Each visit observes (the traffic router's weight, the user's
// pause/resume/abort annotations on the cycle, whether the stable Deployment runs the revision and
// whether the canary is gone), lets the pure machine decide (canary-machine.ts step), measures
// through Prometheus when a round is due and lets the machine decide again from the same state,
// then carries out what the decision commits to and returns the next state for the reconciler
// to persist.
//
// Persist before act. The reconciler writes status after advance() returns, so a visit cannot
// persist a new state and then act on it. Instead a visit carries out only the actions the state
// it started from (cycle.status.canary, persisted) already commits to: the weight that state
// holds, promotion and removal in Promoting, removal in RollingBack. An action that follows from
// a transition made in this visit (a new step's weight, promotion after the last step, weight 0
// after a failed analysis) waits: the visit returns the new state with retryAfterMs 0, and the
// next visit, starting from it once persisted, finds the same action committed and carries it
// out. A crash or a lost status write therefore never leaves the world ahead of the state: at
// worst the transition is decided again from the older state. Every action converges (apply,
// scale, patch, delete), so repeating one is harmless. Events go out with the decision that made
// them, before it is persisted; a replayed decision may repeat its event, never its action.
//
// Promotion: the stable Deployment's target container gets the canary's image and parameter
// variables (one strategic-merge patch); once it has rolled out the canary goes, and the promoted
// cycle's status carries the revision's history entry (status.promotion). The driver never writes
// the agent: the HyperAgent reconciler adds the entry to the agent's history, the one writer of
// the agent's status.
import type { V1Deployment } from '@kubernetes/client-node';
import { API_VERSION, CANARY_REQUEST_ANNOTATIONS, CYCLES } from '../api/resources.js';
import type { ImprovementCycle } from '../api/resources.js';
import type { GainLedger, HistoryEntry } from '../api/schema.js';
import { cycleObject, type EventRecorder } from '../kube/events.js';
import { statusCodeOf, type KubeClients } from '../kube/clients.js';
import { readTarget } from '../kube/target.js';
import {
  failedOutcome,
  selectedCandidate,
  type CanaryOutcome,
  type CanaryPort,
  type CycleContext,
  type ProductionGainOutcome,
  type WatchOutcome,
} from '../cycle/ports.js';
import { canaryLedger, withProductionUnmeasured } from '../policy/gain-ledger.js';
import { cycleInputsName, inputKeys } from '../kube/cycle-inputs.js';
import { parameterEnv } from './canary-deployment.js';
import { deleteOwnedCanary } from './canary-workload.js';
import { canaryQueryValues } from './query-template.js';
import {
  ROUTER_POLL_MS,
  isCanaryTerminal,
  promotedMetrics,
  step,
  type CanaryAction,
  type CanaryObservations,
  type CanarySpec,
  type CanaryState,
  type CanaryStepResult,
  type MetricObservation,
  type UserRequest,
} from './canary-machine.js';
import type { MetricProvider } from './metric-provider.js';
import { counterSourceFor, type CounterSource } from './counter-source.js';
import { metricProviderFor, type MetricProviderFactory } from './metric-providers.js';
import { historyEntry, revisionName, rolledOut, runsRevision } from './promotion.js';
import { measureProductionGain } from './production-gain.js';
import { KubePromotionWatcher, type WatchMetrics } from './kube-promotion-watch.js';
import { applyRevision } from './stable-deployment.js';
import { RouterChoice, type RouterFactory } from './routers.js';
import {
  ForeignCanaryError,
  WeightUnreachableError,
  type CanaryTarget,
  type TrafficRouter,
  type TrafficState,
} from './traffic-router.js';

/** The canary's figures on Prometheus; OperatorMetrics (telemetry/metrics.ts) implements it. */
export interface CanaryMetrics extends WatchMetrics {
  canaryWeight(namespace: string, agent: string, percent: number): void;
  analysisResult(namespace: string, agent: string, metric: string, result: string): void;
  canaryRolledBack(namespace: string, agent: string, reason: string): void;
  canaryPromoted(namespace: string, agent: string): void;
  /** Observed over predicted gain of the agent's latest delivery (status.gain.ratio). */
  gainRatio(namespace: string, agent: string, ratio: number): void;
}

export interface KubeCanaryDriverOptions {
  clients: KubeClients;
  /** The traffic routers by kind (spec.rollout.trafficRouting); the shipped ones when unset. */
  routers?: Readonly<Record<string, RouterFactory>>;
  /** The metric providers by kind (spec.rollout.analysis); the shipped ones when unset. */
  metricProviders?: Readonly<Record<string, MetricProviderFactory>>;
  /** Where the canary's story is told as Kubernetes Events on the cycle; none when unset. */
  events?: EventRecorder;
  metrics?: CanaryMetrics;
  /** How long the router may take to put a step's weight in place; the machine's default when unset. */
  weightDeadlineMs?: number;
  /** How analysis.counters.url is read; the global fetch when unset. */
  fetch?: typeof fetch;
  now?: () => Date;
}

/** A context that may carry the cycle's annotations, saving a read of the cycle. */
type CycleWithAnnotations = CycleContext & { annotations?: Record<string, string> };

type WorldAction = Extract<CanaryAction, { type: 'setWeight' | 'promote' | 'removeCanary' }>;

/** Everything one visit resolved about the target: the revision under test and where it goes. */
interface Resolved {
  target: CanaryTarget;
  /** The router spec.rollout.trafficRouting names, and the provider the analysis names. */
  router: TrafficRouter;
  metrics: MetricProvider;
  stable: V1Deployment;
  /** Parameter values the revision runs with, by parameter name. */
  parameters: Record<string, string>;
}

/** True when `state` (persisted) already commits to `action`, so carrying it out cannot run ahead of status. */
export function committedBy(state: CanaryState | undefined, action: WorldAction): boolean {
  if (!state || isCanaryTerminal(state.phase)) return false;
  switch (action.type) {
    case 'setWeight':
      return state.weight === action.weight;
    case 'promote':
      return state.phase === 'Promoting';
    case 'removeCanary':
      return state.phase === 'Promoting' || state.phase === 'RollingBack';
  }
}

/** The pause, resume and abort requests among a cycle's annotations. */
export function requestsOf(annotations: Readonly<Record<string, string>> | undefined): UserRequest[] {
  const requests: UserRequest[] = [];
  for (const action of ['pause', 'resume', 'abort'] as const) {
    const token = annotations?.[CANARY_REQUEST_ANNOTATIONS[action]];
    if (token) requests.push({ action, token });
  }
  return requests;
}

/** How soon to look again while the router says a change is under way that no watch reports. */
export const SETTLING_POLL_MS = 250;

export class KubeCanaryDriver implements CanaryPort {
  private readonly routers: RouterChoice;
  /** The last router warning told per cycle, so a refusal repeated every visit is one Event. */
  private readonly warned = new Map<string, string>();

  private readonly watcher: KubePromotionWatcher;

  constructor(private readonly options: KubeCanaryDriverOptions) {
    this.routers = new RouterChoice({ clients: options.clients }, options.routers);
    this.watcher = new KubePromotionWatcher(options);
  }

  async advance(cycle: CycleContext): Promise<CanaryOutcome> {
    const before = cycle.status.canary;
    if (before && isCanaryTerminal(before.phase)) return this.ended(cycle, before, undefined);
    const resolved = await this.resolve(cycle);
    if ('failed' in resolved) {
      if (before) await this.release(cycle);
      return resolved.failed;
    }
    try {
      const seen = await this.observe(cycle, before, resolved);
      if ('failed' in seen) return seen.failed;
      const result = await this.decide(cycle, before, seen.observations, resolved.metrics);
      const next = result.state;
      this.tell(cycle, result.actions);
      this.count(cycle, before, next, seen.traffic);
      const world = result.actions.filter(
        (a): a is WorldAction => a.type !== 'event' && a.type !== 'measure',
      );
      let note: string | undefined;
      for (const action of world.filter((a) => committedBy(before, a))) {
        note = (await this.carryOut(cycle, resolved, before as CanaryState, action)) ?? note;
      }
      if (isCanaryTerminal(next.phase)) return this.ended(cycle, next, resolved);
      // what this visit decided but may not act on yet: persist it, then come back at once
      const deferred = world.some((a) => !committedBy(before, a));
      return {
        state: 'running',
        message: note ? `${next.message} (${note})` : next.message,
        retryAfterMs: deferred
          ? 0
          : Math.min(
              result.requeueAfterMs || ROUTER_POLL_MS,
              seen.traffic.settling ? SETTLING_POLL_MS : Infinity,
            ),
        status: { canary: next },
      };
    } catch (error) {
      if (error instanceof ForeignCanaryError) return failedOutcome('ForeignCanary', error.message);
      throw error;
    }
  }

  /**
   * Takes the canary `cycle` made out of traffic and removes it (the route put back first, for a
   * gateway); a canary another cycle made is left alone. A router the spec cannot name still
   * leaves no canary Deployment behind.
   */
  async release(cycle: Pick<CycleContext, 'namespace' | 'uid' | 'spec'>): Promise<void> {
    const spec = cycle.spec.agentSpec;
    const target = {
      namespace: cycle.namespace,
      deployment: spec.target.deployment,
      ...(spec.target.service ? { service: spec.target.service } : {}),
    };
    const router = this.routers.routerFor(spec.rollout);
    if ('failed' in router) {
      await deleteOwnedCanary(this.options.clients.apps, cycle.namespace, spec.target.deployment, cycle.uid);
      return;
    }
    await router.release(target, cycle.uid);
  }

  // -------------------------------------------------------------------------------------------

  /** The revision under test and its target, from the cycle, its inputs and the stable Deployment. */
  private async resolve(cycle: CycleContext): Promise<Resolved | { failed: CanaryOutcome }> {
    const spec = cycle.spec.agentSpec;
    const candidate = cycle.status.candidates?.find((c) => c.id === cycle.status.selected);
    if (!candidate)
      return { failed: failedOutcome('NothingSelected', 'The cycle has no selected candidate to deliver.') };
    const router = this.routers.routerFor(spec.rollout);
    if ('failed' in router) return router;
    const metrics = metricProviderFor(spec.rollout.analysis, this.options.metricProviders);
    if ('failed' in metrics) return metrics;
    const target = await readTarget(this.options.clients.apps, cycle.namespace, spec.target);
    if ('failed' in target) return target;
    const stable = target.deployment;
    const image = cycle.status.image ?? target.image;
    const values = (await this.evaluatedValues(cycle, candidate.id)) ?? candidate.parameters ?? {};
    const env = parameterEnv(spec.improvement.parameters, values);
    if (env.problems.length > 0) {
      return {
        failed: failedOutcome(
          'ParameterNotDeliverable',
          `The canary cannot run candidate ${candidate.id}: ${env.problems.join('; ')}.`,
        ),
      };
    }
    return {
      stable,
      router,
      metrics,
      parameters: env.parameters,
      target: {
        namespace: cycle.namespace,
        deployment: spec.target.deployment,
        ...(spec.target.container ? { container: spec.target.container } : {}),
        ...(spec.target.service ? { service: spec.target.service } : {}),
        revision: { name: revisionName(cycle.name, candidate.id), image, env: env.env },
        owner: { apiVersion: API_VERSION, kind: CYCLES.kind, name: cycle.name, uid: cycle.uid },
      },
    };
  }

  /**
   * The full parameter values the candidate was evaluated with (the cycle's inputs ConfigMap):
   * what the service ran with plus the parent's and the candidate's changes. Undefined when the
   * inputs are gone; the candidate's own changes stand in for them then.
   */
  private async evaluatedValues(
    cycle: CycleContext,
    candidate: string,
  ): Promise<Record<string, string | number | boolean> | undefined> {
    try {
      const inputs = await this.options.clients.core.readNamespacedConfigMap({
        name: cycleInputsName(cycle.name),
        namespace: cycle.namespace,
      });
      const text = inputs.data?.[inputKeys.parameters(candidate)];
      return text === undefined ? undefined : (JSON.parse(text) as Record<string, string | number | boolean>);
    } catch (error) {
      if (statusCodeOf(error) === 404) return undefined;
      throw error;
    }
  }

  /** What the machine needs to know of the world; before the first step, whether a canary can run at all. */
  private async observe(
    cycle: CycleContext,
    before: CanaryState | undefined,
    { target, stable, router }: Resolved,
  ): Promise<{ observations: CanaryObservations; traffic: TrafficState } | { failed: CanaryOutcome }> {
    const traffic = await router.observe(target);
    if (!before) {
      const problems = await router.check(
        target,
        cycle.spec.agentSpec.rollout.steps.map((s) => s.weight),
      );
      if (problems.length > 0) {
        return {
          failed: failedOutcome('CanaryNotPossible', `The canary cannot run: ${problems.join('; ')}`),
        };
      }
    }
    const observations: CanaryObservations = {
      ...(traffic.weight !== undefined ? { routedWeight: traffic.weight } : {}),
      requests: requestsOf(await this.annotationsOf(cycle)),
      promoted: runsRevision(stable, target.container, target.revision) && rolledOut(stable).done,
      canaryRemoved: !traffic.canaryPresent,
    };
    return { observations, traffic };
  }

  /** The machine's step; when it asks for a round of measurements, the step again from the same state with them. */
  private async decide(
    cycle: CycleContext,
    before: CanaryState | undefined,
    observations: CanaryObservations,
    provider: MetricProvider,
  ): Promise<CanaryStepResult> {
    const spec = this.canarySpec(cycle);
    const result = step(spec, before, observations, this.now());
    const measure = result.actions.find((a) => a.type === 'measure');
    if (!measure) return result;
    const counters = counterSourceFor(spec.rollout.analysis, provider, this.options.fetch);
    const results = await this.measure(provider, counters, measure.queries);
    const takenAt = this.now();
    const measurements = { takenAt, results, ...(measure.countsOnly ? { countsOnly: true } : {}) };
    return step(spec, before, { ...observations, measurements }, takenAt);
  }

  private canarySpec(cycle: CycleContext): CanarySpec {
    const spec = cycle.spec.agentSpec;
    return {
      rollout: spec.rollout,
      target: canaryQueryValues(cycle.namespace, spec.target),
      ...(this.options.weightDeadlineMs !== undefined
        ? { weightDeadlineMs: this.options.weightDeadlineMs }
        : {}),
    };
  }

  private async annotationsOf(cycle: CycleWithAnnotations): Promise<Record<string, string> | undefined> {
    if (cycle.annotations) return cycle.annotations;
    const fresh = (await this.options.clients.custom.getNamespacedCustomObject({
      group: CYCLES.group,
      version: CYCLES.version,
      plural: CYCLES.plural,
      namespace: cycle.namespace,
      name: cycle.name,
    })) as ImprovementCycle;
    return fresh.metadata.annotations;
  }

  /**
   * One round: every query of the round at once, the counters of failureRatio metrics in one
   * reading; a provider never throws, it reports errors.
   */
  private async measure(
    provider: MetricProvider,
    counters: CounterSource,
    queries: Extract<CanaryAction, { type: 'measure' }>['queries'],
  ): Promise<MetricObservation[]> {
    const counted = queries.flatMap((query) => ('counts' in query ? [query] : []));
    const [read, measured] = await Promise.all([
      counted.length > 0
        ? counters.read(counted.flatMap((query) => [query.counts.failed, query.counts.total]))
        : Promise.resolve([]),
      Promise.all(
        queries.flatMap((query) =>
          'canary' in query
            ? [
                Promise.all([
                  provider.measure(query.canary),
                  query.stable !== undefined ? provider.measure(query.stable) : undefined,
                ]).then(([canary, stable]) => ({
                  metric: query.metric,
                  canary,
                  ...(stable ? { stable } : {}),
                })),
              ]
            : [],
        ),
      ),
    ]);
    const fromCounters = counted.map((query, index) => ({
      metric: query.metric,
      counts: { failed: read[2 * index]!, total: read[2 * index + 1]! },
    }));
    return [...measured, ...fromCounters];
  }

  /** Carries out one committed action; returns a note for the outcome message when it could not. */
  private async carryOut(
    cycle: CycleContext,
    resolved: Resolved,
    state: CanaryState,
    action: WorldAction,
  ): Promise<string | undefined> {
    const { target, stable, router } = resolved;
    switch (action.type) {
      case 'setWeight':
        try {
          await router.setWeight(target, action.weight);
          this.warned.delete(cycle.uid);
          return undefined;
        } catch (error) {
          if (!(error instanceof WeightUnreachableError)) throw error;
          // the machine's weight deadline turns a weight that never comes into its failure policy
          if (this.warned.get(cycle.uid) !== error.message) {
            this.warned.set(cycle.uid, error.message);
            this.event(cycle, 'Warning', 'WeightUnreachable', error.message);
          }
          return error.message;
        }
      case 'promote':
        if (!runsRevision(stable, target.container, target.revision)) {
          await applyRevision(this.options.clients.apps, target, stable, target.revision);
          return undefined;
        }
        return `the stable Deployment rolls out ${target.revision.name}: ${rolledOut(stable).detail}`;
      case 'removeCanary':
        await router.removeCanary(target);
        return undefined;
    }
  }

  /** The outcome of a canary that has ended; a promotion carries the history entry of its revision. */
  private async ended(
    cycle: CycleContext,
    state: CanaryState,
    resolved: Resolved | undefined,
  ): Promise<CanaryOutcome> {
    let promotion: HistoryEntry | undefined;
    if (state.phase === 'Promoted') {
      const known = resolved ?? (await this.resolve(cycle));
      if (!('failed' in known)) {
        promotion = historyEntry({
          revision: known.target.revision,
          cycle: cycle.name,
          ...(cycle.status.commit ? { commit: cycle.status.commit } : {}),
          parameters: known.parameters,
          metrics: promotedMetrics(state),
          promotedAt: this.now(),
        });
      }
    }
    const selected = selectedCandidate(cycle);
    const gain = canaryLedger(
      cycle.spec.agentSpec,
      'failed' in selected ? undefined : selected.score,
      state.measurements,
    );
    if (gain?.ratio !== undefined)
      this.options.metrics?.gainRatio(cycle.namespace, cycle.spec.agent, gain.ratio);
    return {
      state: 'succeeded',
      result: state.phase as 'Promoted' | 'RolledBack',
      message: state.message,
      status: { canary: state, ...(promotion ? { promotion } : {}), ...(gain ? { gain } : {}) },
    };
  }

  /** The promoted revision against the one before it, once the window after promotion has passed. */
  async measureAfterPromotion(cycle: CycleContext): Promise<ProductionGainOutcome> {
    const provider = metricProviderFor(cycle.spec.agentSpec.rollout.analysis, this.options.metricProviders);
    if ('failed' in provider) {
      const gain = withProductionUnmeasured(
        cycle.status.gain as GainLedger,
        provider.failed.message,
        this.now(),
      );
      return { state: 'measured', gain };
    }
    const outcome = await measureProductionGain(cycle, provider, this.now());
    if (outcome.state === 'measured' && outcome.gain.ratio !== undefined)
      this.options.metrics?.gainRatio(cycle.namespace, cycle.spec.agent, outcome.gain.ratio);
    return outcome;
  }

  /** The promoted revision judged against the one before it while rollout.afterPromotion.watch holds. */
  watchAfterPromotion(cycle: CycleContext): Promise<WatchOutcome> {
    return this.watcher.watch(cycle);
  }

  /** A promotion taken back on request (REVERT_ANNOTATION), carried out by the watch. */
  revertAfterPromotion(cycle: CycleContext, reason: string): Promise<WatchOutcome | { refused: string }> {
    return this.watcher.beginRevert(cycle, reason);
  }

  /** Records the machine's events on the cycle. */
  private tell(cycle: CycleContext, actions: readonly CanaryAction[]): void {
    for (const action of actions) {
      if (action.type === 'event') this.event(cycle, action.severity, action.reason, action.message);
    }
  }

  private event(cycle: CycleContext, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.options.events?.record(cycleObject(cycle), type, reason, message);
  }

  /** The canary's figures: the share of traffic, each new judgement, and the outcome once it ends. */
  private count(
    cycle: CycleContext,
    before: CanaryState | undefined,
    next: CanaryState,
    traffic: TrafficState,
  ): void {
    const metrics = this.options.metrics;
    if (!metrics) return;
    const agent = cycle.spec.agent;
    const ended = isCanaryTerminal(next.phase);
    metrics.canaryWeight(cycle.namespace, agent, ended ? 0 : (traffic.actualPercent ?? 0));
    if (next.lastMeasurementTime !== before?.lastMeasurementTime) {
      for (const record of next.measurements.filter((m) => m.time === next.lastMeasurementTime)) {
        metrics.analysisResult(cycle.namespace, agent, record.metric, record.result);
      }
    }
    if (ended && next.phase === 'Promoted') metrics.canaryPromoted(cycle.namespace, agent);
    if (ended && next.phase === 'RolledBack') {
      metrics.canaryRolledBack(cycle.namespace, agent, next.decision?.reason ?? next.reason);
    }
  }

  private now(): Date {
    return this.options.now ? this.options.now() : new Date();
  }
}
