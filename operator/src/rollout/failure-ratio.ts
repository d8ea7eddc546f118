// failureRatio metrics: counter readings → the counts since the canary's first reading → a
// judgement (sequential-ratio.ts decides how sure the counts are).
//
// Between analysis rounds the counts are read every counters.interval and only a conclusive
// failure is recorded: that is what ends a bad canary within seconds. At each analysis round the
// metric is judged like a threshold query, on the counts so far:
//   Above the limit at the confidence     Failed
//   Within it at the confidence           Successful
//   no requests yet                       Inconclusive (no data, as a 0/0 query would be)
//   share so far at most max              Successful, "not yet conclusive"
//   share so far above max, inconclusive  nothing counted while the step's pause runs (one unlucky
//                                         request among few is not a failure); Inconclusive after
import type { CounterReading } from '../api/schema.js';
import { formatValue, type AnalysisMetric, type Judgement } from './analysis.js';
import type { Measurement } from './metric-provider.js';
import { judgeRatio, type RatioCounts } from './sequential-ratio.js';

/** The two counters of one failureRatio metric, as measured. */
export interface CountsObservation {
  failed: Measurement;
  total: Measurement;
}

export type FailureRatioMetric = AnalysisMetric & {
  failureRatio: NonNullable<AnalysisMetric['failureRatio']>;
  max: number;
};

/** The metric as a failureRatio metric (counts and a max), or undefined for a query metric. */
export function asFailureRatio(metric: AnalysisMetric): FailureRatioMetric | undefined {
  return metric.failureRatio !== undefined && metric.max !== undefined
    ? (metric as FailureRatioMetric)
    : undefined;
}

/** The failureRatio metrics of an analysis. */
export function failureRatioMetrics(metrics: readonly AnalysisMetric[]): FailureRatioMetric[] {
  return metrics.flatMap((metric) => asFailureRatio(metric) ?? []);
}

/**
 * One reading of both counters. No data is a counter not created yet, which a gateway does until
 * the first such request: zero. An error, or a value that is not a finite count, is no reading.
 */
export function readingOf(
  metric: string,
  observed: CountsObservation,
  time: Date,
): CounterReading | { problem: string } {
  const values: number[] = [];
  for (const [which, measurement] of [
    ['failed', observed.failed],
    ['total', observed.total],
  ] as const) {
    if (measurement.kind === 'error')
      return { problem: `${metric}: the ${which} query failed: ${measurement.message}` };
    const value = measurement.kind === 'noData' ? 0 : measurement.value;
    if (!Number.isFinite(value) || value < 0)
      return { problem: `${metric}: the ${which} query returned ${formatValue(value)}, not a count` };
    values.push(value);
  }
  return { metric, failed: values[0]!, total: values[1]!, time: time.toISOString() };
}

/**
 * The counts since `baseline`. A counter below its baseline was reset (the gateway or a pod
 * restarted): its reading counts from zero, and the baseline to keep becomes zero.
 */
export function countsSince(
  baseline: CounterReading,
  reading: CounterReading,
): { counts: RatioCounts; baseline: CounterReading } {
  const reset = reading.failed < baseline.failed || reading.total < baseline.total;
  const from = reset ? { ...baseline, failed: 0, total: 0, time: reading.time } : baseline;
  const counts = { failures: reading.failed - from.failed, total: reading.total - from.total };
  // a failed counter read a moment after the total one may be ahead of it by a request or two
  return { counts: { ...counts, failures: Math.min(counts.failures, counts.total) }, baseline: from };
}

export type RatioVerdict = { judgement: Judgement } | { pending: string };

/** What an analysis round makes of the counts so far (see the table at the top of this file). */
export function judgeFailureRatioRound(
  metric: FailureRatioMetric,
  counts: RatioCounts,
  pauseElapsed: boolean,
): RatioVerdict {
  const judged = judgeRatio(counts, metric.max, metric.failureRatio.confidence);
  const threshold = thresholdOf(metric);
  const value = judged.ratio !== undefined ? { value: judged.ratio } : {};
  const message = `${metric.name}: ${judged.message}`;
  if (judged.decision === 'Above') return { judgement: { result: 'Failed', ...value, threshold, message } };
  if (judged.decision === 'Within')
    return { judgement: { result: 'Successful', ...value, threshold, message } };
  if (counts.total === 0) return { judgement: { result: 'Inconclusive', threshold, message } };
  if (judged.ratio! <= metric.max) {
    return {
      judgement: {
        result: 'Successful',
        ...value,
        threshold,
        message: `${message}; ${formatValue(judged.ratio!)} <= max ${metric.max} so far`,
      },
    };
  }
  const above = `${message}; ${formatValue(judged.ratio!)} > max ${metric.max} so far`;
  if (!pauseElapsed) return { pending: above };
  return { judgement: { result: 'Inconclusive', ...value, threshold, message: above } };
}

/** A reading between rounds: Failed when conclusively above the limit, otherwise nothing to record. */
export function judgeFailureRatioBetweenRounds(
  metric: FailureRatioMetric,
  counts: RatioCounts,
): Judgement | undefined {
  const judged = judgeRatio(counts, metric.max, metric.failureRatio.confidence);
  if (judged.decision !== 'Above') return undefined;
  return {
    result: 'Failed',
    ...(judged.ratio !== undefined ? { value: judged.ratio } : {}),
    threshold: thresholdOf(metric),
    message: `${metric.name}: ${judged.message}`,
  };
}

function thresholdOf(metric: FailureRatioMetric): string {
  return `failed share max ${metric.max} at ${Number((metric.failureRatio.confidence * 100).toPrecision(4))}% confidence`;
}
