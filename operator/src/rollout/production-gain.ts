// The gain production showed after a promotion: the analysis metric that names the primary
// objective, on the stable Deployment, averaged over rollout.afterPromotion.window after the
// promotion, against the same length of time before the canary started (when the revision before
// it served all traffic). The figures come from Prometheus, never from the candidate's code.
//
// It runs once per promoted cycle, after the window has passed; until then it asks to be called
// again. A measurement that cannot be made (no data, the metric gone, Prometheus down past a grace
// period) is recorded as unmeasured with the reason, so it is not retried forever.
import type { GainLedger, ImprovementCycleStatus } from '../api/schema.js';
import type { CycleContext, ProductionGainOutcome } from '../cycle/ports.js';
import { objectiveMetric, withProductionGain, withProductionUnmeasured } from '../policy/gain-ledger.js';
import { parseDuration } from '../util/duration.js';
import type { Measurement, MetricProvider } from './metric-provider.js';
import { QueryTemplateError, renderQuery, targetQueryValues } from './query-template.js';

/** When unset in an older cycle's frozen spec. */
const DEFAULT_WINDOW = '10m';
/** How long after the window Prometheus may stay unreachable before the measurement is given up. */
export const PRODUCTION_GRACE_MS = 10 * 60_000;
/** How soon to try again after Prometheus failed. */
const RETRY_MS = 30_000;

/** Whether a cycle's ledger still waits for its measurement after promotion. */
export function awaitsProductionGain(status: ImprovementCycleStatus | undefined): boolean {
  return (
    status?.phase === 'Promoted' &&
    status.gain !== undefined &&
    status.gain.productionCheckedAt === undefined &&
    status.promotion !== undefined
  );
}

/**
 * Measures the promoted revision against the one before it, or says when to come back. `cycle`
 * must await its measurement (awaitsProductionGain).
 */
export async function measureProductionGain(
  cycle: CycleContext,
  provider: MetricProvider,
  now: Date,
): Promise<ProductionGainOutcome> {
  const spec = cycle.spec.agentSpec;
  const ledger = cycle.status.gain as GainLedger;
  const found = objectiveMetric(spec);
  if (!found?.metric) {
    return {
      state: 'measured',
      gain: withProductionUnmeasured(ledger, 'no analysis metric names the objective', now),
    };
  }
  if (cycle.status.watch?.phase === 'Reverted') {
    return {
      state: 'measured',
      gain: withProductionUnmeasured(ledger, 'the revision was reverted after promotion', now),
    };
  }
  const { objective, metric } = found;
  const windowMs = parseDuration(spec.rollout.afterPromotion?.window ?? DEFAULT_WINDOW);
  const promotedAt = Date.parse(cycle.status.promotion?.promotedAt ?? '');
  const canaryStart = Date.parse(cycle.status.canary?.startTime ?? '');
  if (Number.isNaN(promotedAt) || Number.isNaN(canaryStart)) {
    return {
      state: 'measured',
      gain: withProductionUnmeasured(
        ledger,
        'the cycle does not say when its canary started and was promoted',
        now,
      ),
    };
  }
  const windowEnd = promotedAt + windowMs;
  if (now.getTime() < windowEnd) return { state: 'waiting', retryAfterMs: windowEnd - now.getTime() };

  if (metric.query === undefined) {
    return {
      state: 'measured',
      gain: withProductionUnmeasured(
        ledger,
        `metric ${metric.name} has no query to measure the objective`,
        now,
      ),
    };
  }
  let query: string;
  try {
    query = renderQuery(metric.query, targetQueryValues(cycle.namespace, spec.target));
  } catch (error) {
    if (!(error instanceof QueryTemplateError)) throw error;
    return { state: 'measured', gain: withProductionUnmeasured(ledger, error.message, now) };
  }
  const before = await provider.measure(windowAverage(query, windowMs, now.getTime() - canaryStart));
  const after = await provider.measure(windowAverage(query, windowMs, now.getTime() - windowEnd));
  const problem = problemOf('before the canary', before) ?? problemOf('after promotion', after);
  if (problem) {
    const transient = before.kind === 'error' || after.kind === 'error';
    if (transient && now.getTime() < windowEnd + PRODUCTION_GRACE_MS)
      return { state: 'waiting', retryAfterMs: RETRY_MS };
    return { state: 'measured', gain: withProductionUnmeasured(ledger, problem, now) };
  }
  const beforeValue = (before as { value: number }).value;
  const afterValue = (after as { value: number }).value;
  const seconds = Math.round(windowMs / 1000);
  return {
    state: 'measured',
    gain: withProductionGain(
      ledger,
      objective.direction,
      {
        before: beforeValue,
        after: afterValue,
        description: `${metric.name} on ${spec.target.deployment} averaged over ${seconds}s, ${round(beforeValue)} before the canary, ${round(afterValue)} after promotion`,
      },
      now,
    ),
  };
}

/**
 * The query averaged over the `windowMs` that ended `agoMs` before now: a subquery, so any query
 * that returns one number at an instant (a rate, a quantile) can be averaged.
 */
export function windowAverage(query: string, windowMs: number, agoMs: number): string {
  const seconds = Math.max(1, Math.round(windowMs / 1000));
  const step = Math.max(5, Math.round(seconds / 12));
  const offset = Math.max(0, Math.round(agoMs / 1000));
  return `avg_over_time((${query})[${seconds}s:${step}s]${offset > 0 ? ` offset ${offset}s` : ''})`;
}

function problemOf(when: string, measurement: Measurement): string | undefined {
  if (measurement.kind === 'noData') return `Prometheus had no data ${when}`;
  if (measurement.kind === 'error') return `the query ${when} failed: ${measurement.message}`;
  if (!Number.isFinite(measurement.value)) return `the value ${when} is not a finite number`;
  return undefined;
}

function round(value: number): string {
  return Number(value.toPrecision(3)).toString();
}
