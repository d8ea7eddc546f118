// The watch after promotion, decided without I/O (rollout.afterPromotion.watch): for the window
// after a promotion the analysis keeps running on the stable Deployment, now the promoted
// revision, and a regression puts the revision before it back.
//
//   (none) → Watching → Passed            the window ended without a regression
//                     → Reverting → Reverted
//
// What the promoted revision is held to: each metric's min and max as in the canary, and its
// maxRatioToStable against the baseline, what the revision before measured before promotion:
// the median of the stable values the canary's rounds recorded (the same query, the same hour,
// side by side), or, for a metric they lack, the same query on the stable Deployment averaged
// over the window's length before the canary started. After promotion nothing else runs to
// compare with.
// A metric fails the watch as it fails a canary: more failed measurements than failureLimit.
// No data and provider errors are recorded and never revert anything: an unreachable Prometheus
// must not take a healthy revision out of production, and it does not make the watch pass either
// (the message says how many rounds were judged).
//
// Restart safety as in the canary machine: everything is in the state; persist the returned state
// before carrying out its actions. `revert` is repeated until the observations say the revision
// before runs again and has rolled out, and is only carried out once the Reverting state is
// persisted (the caller checks `before.phase`).
import type {
  CanaryMeasurementRecord,
  CanaryMetricCounts,
  HyperAgentSpec,
  ImprovementCycleStatus,
  PromotionWatch,
} from '../api/schema.js';
import { parseDuration } from '../util/duration.js';
import { median } from '../util/median.js';
import { countJudgement, decide, judgeMeasurement, type Judgement } from './analysis.js';
import type { Measurement } from './metric-provider.js';
import { windowAverage } from './production-gain.js';
import { asTemplated, renderMetricQueries, type QueryValues } from './query-template.js';

export interface WatchSpec {
  rollout: HyperAgentSpec['rollout'];
  /** The label values queries are rendered with; canary and stable both name the stable Deployment. */
  target: QueryValues;
  promotedAt: Date;
  /** When the canary started: the baseline is the window's length before it. */
  canaryStart: Date;
  /** What the stable version measured in the canary's rounds, by metric: the first baseline. */
  canaryStableValues?: Readonly<Record<string, readonly number[]>>;
}

/** The stable values the canary's rounds recorded, by metric (finite ones only). */
export function stableValuesOf(
  measurements: readonly CanaryMeasurementRecord[] | undefined,
): Record<string, number[]> {
  const values: Record<string, number[]> = {};
  for (const record of measurements ?? []) {
    if (record.stableValue === undefined || !Number.isFinite(record.stableValue)) continue;
    (values[record.metric] ??= []).push(record.stableValue);
  }
  return values;
}

export interface WatchQuery {
  metric: string;
  query: string;
}

export interface WatchObservations {
  /** Answers `measureBaseline`: the revision before, by metric. */
  baseline?: { metric: string; value: Measurement }[];
  /** Answers `measure`: one round on the promoted revision. */
  measurements?: { takenAt: Date; results: { metric: string; value: Measurement }[] };
  /** The revision before runs again and has rolled out. */
  reverted?: boolean;
}

export type WatchAction =
  | { type: 'measureBaseline'; queries: WatchQuery[] }
  | { type: 'measure'; queries: WatchQuery[] }
  | { type: 'revert' }
  | { type: 'event'; severity: 'Normal' | 'Warning'; reason: string; message: string };

export interface WatchStepResult {
  state: PromotionWatch;
  actions: WatchAction[];
  /** Look again after this many ms (0: at once, with the measurements asked for); undefined when over. */
  requeueAfterMs?: number;
}

/** How soon to look again while a revert rolls out. */
export const REVERT_POLL_MS = 2_000;
const DEFAULT_WINDOW = '10m';

export function isWatchOver(watch: PromotionWatch | undefined): boolean {
  return watch?.phase === 'Passed' || watch?.phase === 'Reverted';
}

/** Whether a promoted cycle is still watched (rollout.afterPromotion.watch, and the watch not over). */
export function awaitsWatch(spec: HyperAgentSpec, status: ImprovementCycleStatus | undefined): boolean {
  return (
    status?.phase === 'Promoted' &&
    status.promotion !== undefined &&
    (spec.rollout.afterPromotion?.watch === true || status.watch?.phase === 'Reverting') &&
    !isWatchOver(status.watch)
  );
}

/** Whether a revert of the promotion was decided already (by the watch or on request). */
export function isRevertDecided(watch: PromotionWatch | undefined): boolean {
  return watch?.phase === 'Reverting' || watch?.phase === 'Reverted';
}

/**
 * The watch of a promotion taken back on request (REVERT_ANNOTATION): Reverting to the ReplicaSet
 * that ran before, whatever the watch was doing; the watch's revert carries it out.
 */
export function revertOnRequest(
  before: PromotionWatch | undefined,
  reason: string,
  previous: { replicaSet: string; revision?: string },
  now: Date,
): PromotionWatch {
  const { revertedTo: _unknown, ...rest } = before ?? { until: now.toISOString(), counts: [] };
  return {
    ...rest,
    phase: 'Reverting',
    message: `Revert requested: ${reason}`,
    decisionTime: now.toISOString(),
    previousReplicaSet: previous.replicaSet,
    ...(previous.revision ? { revertedTo: previous.revision } : {}),
  };
}

/** Whether a reverted promotion still lacks its revert commit on the cycle branch. */
export function awaitsRevertCommit(status: ImprovementCycleStatus | undefined): boolean {
  return (
    status?.phase === 'Promoted' &&
    status.watch?.phase === 'Reverted' &&
    status.watch.revertCommit === undefined &&
    status.commit !== undefined
  );
}

/** Whether a promoted commit still lacks its promotion tag (after the watch, when there is one). */
export function awaitsPromotionTag(status: ImprovementCycleStatus | undefined): boolean {
  return (
    status?.phase === 'Promoted' &&
    status.promotion !== undefined &&
    status.commit !== undefined &&
    status.promotionTag === undefined
  );
}

/** The window of a frozen rollout spec, in ms. */
export function watchWindowMs(rollout: HyperAgentSpec['rollout']): number {
  return parseDuration(rollout.afterPromotion?.window ?? DEFAULT_WINDOW);
}

/** The next state of the watch; pure, so a replayed visit changes nothing. */
export function stepWatch(
  spec: WatchSpec,
  before: PromotionWatch | undefined,
  observations: WatchObservations,
  now: Date,
): WatchStepResult {
  const analysis = spec.rollout.analysis;
  const intervalMs = parseDuration(analysis.interval);
  const windowMs = watchWindowMs(spec.rollout);
  const until = new Date(spec.promotedAt.getTime() + windowMs);
  const state: PromotionWatch = before ?? {
    phase: 'Watching',
    message: `Watching the promoted revision until ${until.toISOString()}.`,
    until: until.toISOString(),
    counts: [],
  };
  const events: WatchAction[] = before
    ? []
    : [
        {
          type: 'event',
          severity: 'Normal',
          reason: 'WatchStarted',
          message: `The promoted revision is watched for ${Math.round(windowMs / 1000)}s: a regression beyond the analysis' limits puts the revision before it back.`,
        },
      ];

  if (state.phase === 'Passed' || state.phase === 'Reverted') return { state, actions: [] };
  if (state.phase === 'Reverting') {
    if (!observations.reverted)
      return { state, actions: [{ type: 'revert' }], requeueAfterMs: REVERT_POLL_MS };
    const reverted: PromotionWatch = {
      ...state,
      phase: 'Reverted',
      revertedTime: now.toISOString(),
      message: `Reverted: ${state.revertedTo ?? 'the revision before'} runs again. ${regressionOf(state)}`,
    };
    const seconds = state.decisionTime
      ? ` ${formatSeconds(now.getTime() - Date.parse(state.decisionTime))} after the decision`
      : '';
    return {
      state: reverted,
      actions: [
        {
          type: 'event',
          severity: 'Normal',
          reason: 'Reverted',
          message: `${state.revertedTo ?? 'The revision before'} runs again, rolled out${seconds}.`,
        },
      ],
    };
  }

  // Watching
  // failureRatio metrics judge the canary on its counts; the watch reads query metrics
  const watched = analysis.metrics.map(asTemplated).filter((m) => m !== undefined);
  const ratioMetrics = watched.filter((m) => m.maxRatioToStable !== undefined);
  if (state.baseline === undefined && ratioMetrics.length > 0) {
    // first what the revision before measured in the canary's own rounds, side by side with it;
    // Prometheus over the window before the canary for a metric those rounds did not measure
    const fromCanary: Record<string, number> = {};
    for (const metric of ratioMetrics) {
      const values = spec.canaryStableValues?.[metric.name] ?? [];
      if (values.length > 0) fromCanary[metric.name] = median(values);
    }
    const unmeasured = ratioMetrics.filter((metric) => fromCanary[metric.name] === undefined);
    if (unmeasured.length === 0) {
      const next = stepWatch(spec, { ...state, baseline: fromCanary }, observations, now);
      return { ...next, actions: [...events, ...next.actions] };
    }
    if (!observations.baseline) {
      const ago = now.getTime() - spec.canaryStart.getTime();
      const queries = unmeasured.map((metric) => ({
        metric: metric.name,
        query: windowAverage(renderMetricQueries(metric, spec.target).canary, windowMs, ago),
      }));
      return { state, actions: [...events, { type: 'measureBaseline', queries }], requeueAfterMs: 0 };
    }
    const answered = observations.baseline.filter((b) => b.value.kind !== 'error');
    if (answered.length < observations.baseline.length) {
      // Prometheus failed: try again at the next round rather than judge without a reference
      return {
        state: {
          ...state,
          message: `Watching; the baseline could not be measured yet: ${errorsOf(observations.baseline)}`,
        },
        actions: events,
        requeueAfterMs: intervalMs,
      };
    }
    const baseline: Record<string, number> = { ...fromCanary };
    for (const { metric, value } of answered) {
      if (value.kind === 'value' && Number.isFinite(value.value)) baseline[metric] = value.value;
    }
    const next = stepWatch(spec, { ...state, baseline }, { ...observations, baseline: undefined }, now);
    return { ...next, actions: [...events, ...next.actions] };
  }

  const lastMs = state.lastMeasurementTime ? Date.parse(state.lastMeasurementTime) : undefined;
  const dueAt = (lastMs ?? spec.promotedAt.getTime()) + intervalMs;
  const taken = observations.measurements;
  const fresh = taken !== undefined && (lastMs === undefined || taken.takenAt.getTime() > lastMs);

  if (!fresh) {
    if (now.getTime() >= until.getTime()) return passed(state, events, watched.length);
    if (now.getTime() < dueAt) {
      return { state, actions: events, requeueAfterMs: Math.min(dueAt, until.getTime()) - now.getTime() };
    }
    const queries = watched.map((metric) => ({
      metric: metric.name,
      query: renderMetricQueries(metric, spec.target).canary,
    }));
    return { state, actions: [...events, { type: 'measure', queries }], requeueAfterMs: 0 };
  }

  let counts: CanaryMetricCounts[] = state.counts;
  const failures: string[] = [];
  for (const metric of watched) {
    const result = taken.results.find((r) => r.metric === metric.name);
    if (!result) continue;
    const judgement = judge(metric, result.value, state.baseline?.[metric.name]);
    counts = countJudgement(counts, metric.name, judgement);
    if (judgement.result === 'Failed') failures.push(judgement.message);
  }
  const measured: PromotionWatch = {
    ...state,
    counts,
    lastMeasurementTime: taken.takenAt.toISOString(),
    ...(failures.length > 0 && !state.firstFailureTime
      ? { firstFailureTime: taken.takenAt.toISOString() }
      : {}),
    message: `Watching until ${state.until}: ${counts.map((c) => c.lastMessage ?? c.metric).join('; ')}.`,
  };
  const verdict = decide(analysis, counts, { elapsedMs: 0, pauseMs: Number.POSITIVE_INFINITY });
  if (verdict.decision === 'Rollback' && verdict.cause === 'AnalysisFailed') {
    const message = `Regression after promotion: ${verdict.reason}.`;
    return {
      state: { ...measured, phase: 'Reverting', decisionTime: now.toISOString(), message },
      actions: [
        ...events,
        { type: 'event', severity: 'Warning', reason: 'RegressionAfterPromotion', message },
      ],
      requeueAfterMs: 0,
    };
  }
  if (now.getTime() >= until.getTime()) return passed(measured, events, watched.length);
  return {
    state: measured,
    actions: events,
    requeueAfterMs: Math.max(
      0,
      Math.min(taken.takenAt.getTime() + intervalMs, until.getTime()) - now.getTime(),
    ),
  };
}

/** One measurement of the promoted revision; a ratio metric is held to its baseline. */
function judge(
  metric: HyperAgentSpec['rollout']['analysis']['metrics'][number],
  value: Measurement,
  baseline: number | undefined,
): Judgement {
  if (metric.maxRatioToStable === undefined) return judgeMeasurement(metric, value);
  const reference: Measurement =
    baseline === undefined ? { kind: 'noData' } : { kind: 'value', value: baseline };
  const judgement = judgeMeasurement(metric, value, reference);
  // "stable" in the canary's words is the revision before here
  return { ...judgement, message: judgement.message.replace(/\bstable\b/g, 'the revision before') };
}

function passed(state: PromotionWatch, events: WatchAction[], metricCount: number): WatchStepResult {
  const judged = state.counts.reduce((sum, c) => sum + c.successful + c.failed, 0);
  const unjudged = state.counts.reduce((sum, c) => sum + c.inconclusive + c.errors, 0);
  const detail =
    metricCount === 0
      ? 'no analysis metric judged it'
      : `${judged} ${judged === 1 ? 'measurement' : 'measurements'} judged${unjudged > 0 ? `, ${unjudged} without data or with errors` : ''}`;
  const message = `The window after promotion ended without a regression (${detail}).`;
  return {
    state: { ...state, phase: 'Passed', message },
    actions: [...events, { type: 'event', severity: 'Normal', reason: 'WatchPassed', message }],
  };
}

function regressionOf(state: PromotionWatch): string {
  return state.message.startsWith('Regression') ? state.message : '';
}

function errorsOf(results: readonly { metric: string; value: Measurement }[]): string {
  return results
    .filter((r) => r.value.kind === 'error')
    .map((r) => `${r.metric}: ${(r.value as { message: string }).message}`)
    .join('; ');
}

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
