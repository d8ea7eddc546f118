// Judgement of canary measurements, apart from taking them (metric-provider.ts measures).
//
//   judgeMeasurement: one measurement of one metric → Successful | Failed | Inconclusive | Error,
//                     with the figure and the threshold in words
//   countJudgement:   the running counts of a metric
//   decide:           the counts of all metrics and the step's progress → Continue | StepPassed |
//                     Rollback | Pause
//
// No data, NaN, infinities and provider errors are never a success: they are Inconclusive or
// Error, and the analysis' onNoData and onProviderError policies say what they lead to. A step
// passes only when every metric has minSamples successful measurements in it, its latest
// measurement was one of them, and the step's pause has elapsed; with no metrics at all, a step
// passes on time only and `decide` says so in its reason.
import type { CanaryMetricCounts, HyperAgentSpec } from '../api/schema.js';
import type { Measurement } from './metric-provider.js';

export type AnalysisSpec = HyperAgentSpec['rollout']['analysis'];
export type AnalysisMetric = AnalysisSpec['metrics'][number];
export type MetricResult = 'Successful' | 'Failed' | 'Inconclusive' | 'Error';
export type MetricCounts = CanaryMetricCounts;

export interface Judgement {
  result: MetricResult;
  /** The canary value, when it was a finite number. */
  value?: number;
  /** The stable value (maxRatioToStable), when it was a finite number. */
  stableValue?: number;
  /** canary / stable, when both were finite and the ratio is. */
  ratio?: number;
  /** The thresholds of the metric, in words ("max 0.05, at most 1.5x stable"). */
  threshold: string;
  /** The figure against the threshold ("error-rate 0.12 > max 0.05"), or why there is none. */
  message: string;
}

/** Formats a measured figure with six significant digits, enough to tell it from a nearby threshold. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  return String(Number(value.toPrecision(6)));
}

/** The thresholds of a metric in words, as status and events show them. */
export function describeThreshold(metric: AnalysisMetric): string {
  const parts: string[] = [];
  if (metric.min !== undefined) parts.push(`min ${metric.min}`);
  if (metric.max !== undefined) parts.push(`max ${metric.max}`);
  if (metric.maxRatioToStable !== undefined) parts.push(`at most ${metric.maxRatioToStable}x stable`);
  return parts.length > 0 ? parts.join(', ') : 'no threshold';
}

/**
 * Judges one measurement of a metric (and of the stable version, for maxRatioToStable) against
 * its thresholds. A provider error is Error; no data, NaN or an infinite value is Inconclusive; a
 * value outside min/max, or a ratio to stable above the limit, is Failed; otherwise Successful.
 */
export function judgeMeasurement(
  metric: AnalysisMetric,
  canary: Measurement,
  stable?: Measurement,
): Judgement {
  const name = metric.name;
  const threshold = describeThreshold(metric);
  const judged = (result: MetricResult, message: string, figures: Partial<Judgement> = {}): Judgement => ({
    result,
    ...figures,
    threshold,
    message,
  });

  if (canary.kind === 'error') return judged('Error', `${name}: the query failed: ${canary.message}`);
  if (canary.kind === 'noData') {
    return judged('Inconclusive', `${name}: the query returned no data, so the canary cannot be judged`);
  }
  if (!Number.isFinite(canary.value)) {
    return judged(
      'Inconclusive',
      `${name}: the query returned ${formatValue(canary.value)}, not a number the threshold can judge (0/0 when there was no traffic, for example)`,
    );
  }
  const value = canary.value;
  const shown = formatValue(value);
  if (metric.min === undefined && metric.max === undefined && metric.maxRatioToStable === undefined) {
    return judged('Error', `${name} has no threshold: set min, max or maxRatioToStable`, { value });
  }
  if (metric.min !== undefined && value < metric.min) {
    return judged('Failed', `${name} ${shown} < min ${metric.min}`, { value });
  }
  if (metric.max !== undefined && value > metric.max) {
    return judged('Failed', `${name} ${shown} > max ${metric.max}`, { value });
  }
  const within: string[] = [];
  if (metric.min !== undefined) within.push(`>= min ${metric.min}`);
  if (metric.max !== undefined) within.push(`<= max ${metric.max}`);
  if (metric.maxRatioToStable === undefined) {
    return judged('Successful', `${name} ${shown} ${within.join(' and ')}`, { value });
  }

  const limit = metric.maxRatioToStable;
  if (!stable) {
    return judged('Error', `${name}: the stable version was not measured, so the ratio cannot be judged`, {
      value,
    });
  }
  if (stable.kind === 'error') {
    return judged('Error', `${name}: the stable query failed: ${stable.message}`, { value });
  }
  if (stable.kind === 'noData') {
    return judged(
      'Inconclusive',
      `${name}: the stable query returned no data, so the canary cannot be compared with it`,
      { value },
    );
  }
  if (!Number.isFinite(stable.value) || stable.value < 0 || value < 0) {
    return judged(
      'Inconclusive',
      `${name}: canary ${shown} and stable ${formatValue(stable.value)} cannot be compared as a ratio (it needs finite values of at least 0)`,
      { value, ...(Number.isFinite(stable.value) ? { stableValue: stable.value } : {}) },
    );
  }
  const stableValue = stable.value;
  // equal at zero counts as a ratio of 1: the canary is exactly as good as stable
  const ratio = stableValue === 0 && value === 0 ? 1 : value / stableValue;
  if (!Number.isFinite(ratio)) {
    return judged(
      'Failed',
      `${name} ${shown} on the canary against ${formatValue(stableValue)} on stable: immeasurably worse, above at most ${limit}x stable`,
      { value, stableValue },
    );
  }
  // the ratio is kept to the precision it is shown with (1.1, not 1.0999999999999999)
  const figures = { value, stableValue, ratio: Number(ratio.toPrecision(6)) };
  const comparison = `is ${formatValue(ratio)}x stable ${formatValue(stableValue)}`;
  if (ratio > limit) {
    return judged('Failed', `${name} ${shown} ${comparison}, above at most ${limit}x stable`, figures);
  }
  const absolute = within.length > 0 ? ` ${within.join(' and ')} and` : '';
  return judged(
    'Successful',
    `${name} ${shown}${absolute} ${comparison}, within at most ${limit}x stable`,
    figures,
  );
}

/** Zero counts for a metric. */
export function emptyCounts(metric: string): MetricCounts {
  return { metric, successful: 0, failed: 0, inconclusive: 0, errors: 0, consecutiveErrors: 0 };
}

/**
 * Adds one judgement to the counts of its metric. Successful counts the current step; failed and
 * errors the whole canary; consecutiveErrors restarts at any result that is not an Error.
 */
export function countJudgement(
  counts: readonly MetricCounts[],
  metric: string,
  judgement: Pick<Judgement, 'result' | 'message'>,
): MetricCounts[] {
  const current = counts.find((c) => c.metric === metric) ?? emptyCounts(metric);
  const next: MetricCounts = {
    ...current,
    successful: current.successful + (judgement.result === 'Successful' ? 1 : 0),
    failed: current.failed + (judgement.result === 'Failed' ? 1 : 0),
    inconclusive: current.inconclusive + (judgement.result === 'Inconclusive' ? 1 : 0),
    errors: current.errors + (judgement.result === 'Error' ? 1 : 0),
    consecutiveErrors: judgement.result === 'Error' ? current.consecutiveErrors + 1 : 0,
    lastResult: judgement.result,
    lastMessage: judgement.message,
  };
  const found = counts.some((c) => c.metric === metric);
  return found ? counts.map((c) => (c.metric === metric ? next : c)) : [...counts, next];
}

/** The counts a new step starts with: successful measurements are per step, the rest per canary. */
export function countsForNewStep(counts: readonly MetricCounts[]): MetricCounts[] {
  return counts.map((c) => ({ ...c, successful: 0 }));
}

export type DecisionCause = 'AnalysisFailed' | 'NoData' | 'ProviderError';

export type Decision =
  | { decision: 'Continue'; reason: string }
  | { decision: 'StepPassed'; reason: string }
  | { decision: 'Rollback'; cause: DecisionCause; reason: string }
  | { decision: 'Pause'; cause: Exclude<DecisionCause, 'AnalysisFailed'>; reason: string };

/** How far the current step is: time at its weight, and the pause it must last. */
export interface StepProgress {
  elapsedMs: number;
  pauseMs: number;
}

/**
 * Decides what the counts mean for the canary: Rollback when a metric failed more than
 * failureLimit times; onNoData when a metric was inconclusive more than inconclusiveLimit times;
 * onProviderError when it errored more than consecutiveErrorLimit times in a row (a Rollback from
 * any of them wins over a Pause); StepPassed when the pause has elapsed and every metric has
 * minSamples successful measurements in the step, the latest included; Continue otherwise.
 * Never passes by default.
 */
export function decide(
  analysis: AnalysisSpec,
  counts: readonly MetricCounts[],
  progress: StepProgress,
): Decision {
  const triggered: Exclude<Decision, { decision: 'Continue' | 'StepPassed' }>[] = [];
  for (const metric of analysis.metrics) {
    const c = counts.find((entry) => entry.metric === metric.name) ?? emptyCounts(metric.name);
    const last = c.lastMessage ? `: ${c.lastMessage}` : '';
    if (c.failed > analysis.failureLimit) {
      triggered.push({
        decision: 'Rollback',
        cause: 'AnalysisFailed',
        reason: `${metric.name} failed ${times(c.failed)}, more than failureLimit ${analysis.failureLimit}${last}`,
      });
    }
    if (c.consecutiveErrors > analysis.consecutiveErrorLimit) {
      triggered.push({
        decision: analysis.onProviderError,
        cause: 'ProviderError',
        reason: `${metric.name} could not be measured ${times(c.consecutiveErrors)} in a row, more than consecutiveErrorLimit ${analysis.consecutiveErrorLimit} (onProviderError: ${analysis.onProviderError})${last}`,
      });
    }
    if (c.inconclusive > analysis.inconclusiveLimit) {
      triggered.push({
        decision: analysis.onNoData,
        cause: 'NoData',
        reason: `${metric.name} was inconclusive ${times(c.inconclusive)}, more than inconclusiveLimit ${analysis.inconclusiveLimit} (onNoData: ${analysis.onNoData})${last}`,
      });
    }
  }
  const verdict = triggered.find((t) => t.decision === 'Rollback') ?? triggered[0];
  if (verdict) return verdict;

  const remainingMs = progress.pauseMs - progress.elapsedMs;
  if (analysis.metrics.length === 0) {
    if (remainingMs > 0) {
      return {
        decision: 'Continue',
        reason: `no analysis metrics are configured: waiting ${seconds(remainingMs)} for the step's pause`,
      };
    }
    return {
      decision: 'StepPassed',
      reason: 'no analysis metrics are configured: the step passed on time only, nothing judged it',
    };
  }
  const current = analysis.metrics.map(
    (metric) => counts.find((entry) => entry.metric === metric.name) ?? emptyCounts(metric.name),
  );
  const missing = current.filter((c) => c.successful < analysis.minSamples);
  // successes from before an outage do not carry a step: the latest word must be a success too
  const doubtful = current.filter(
    (c) => c.successful >= analysis.minSamples && c.lastResult !== 'Successful',
  );
  const waiting: string[] = [];
  if (remainingMs > 0) waiting.push(`${seconds(remainingMs)} of the step's pause`);
  if (missing.length > 0) {
    waiting.push(
      `successful measurements (${missing.map((c) => `${c.metric} ${c.successful}/${analysis.minSamples}`).join(', ')})`,
    );
  }
  if (doubtful.length > 0) {
    waiting.push(
      `a successful measurement after the latest ${doubtful.map((c) => `${c.lastResult ?? 'unrecorded'} one of ${c.metric}`).join(', ')}`,
    );
  }
  if (waiting.length > 0) return { decision: 'Continue', reason: `waiting for ${waiting.join(' and ')}` };
  return {
    decision: 'StepPassed',
    reason: `every metric has at least ${analysis.minSamples} successful ${analysis.minSamples === 1 ? 'measurement' : 'measurements'}, the latest one included, and the pause has elapsed`,
  };
}

function times(n: number): string {
  return n === 1 ? 'once' : `${n} times`;
}

function seconds(ms: number): string {
  return `${Math.ceil(ms / 1000)}s`;
}
