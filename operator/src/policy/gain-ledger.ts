// The ledger of a delivered candidate: the gain the sandbox predicted against the gain production
// showed, on the primary objective, in percent (positive = better). Production speaks twice: the
// canary against the stable revision during analysis, and the promoted revision against the one
// before it over a window after promotion. When production keeps showing much less than the
// sandbox predicted, the benchmark does not represent production (or is being gamed), and the
// agent stops trusting it to approve code changes on its own.
//
// Plain data in, plain data out: the figures come from the cycle's status (its candidate's score,
// the canary's measurements) and from Prometheus through the rollout layer.
import type { CanaryMeasurementRecord, GainLedger, HyperAgentSpec } from '../api/schema.js';
import type { ArchiveEntry } from './archive-entry.js';
import { primaryObjective } from './invariants.js';
import { median } from '../util/median.js';

type Objective = HyperAgentSpec['objectives'][number];
type AnalysisMetric = HyperAgentSpec['rollout']['analysis']['metrics'][number];

/** Observed below this share of the prediction is a shortfall. */
export const SHORTFALL_RATIO = 0.5;
/** Shortfalls in a row, newest deliveries first, after which the benchmark is not trusted. */
export const SHORTFALLS_TO_DISTRUST = 2;

/** The primary objective and the analysis metric that measures it in production, if one names it. */
export function objectiveMetric(
  spec: Pick<HyperAgentSpec, 'objectives' | 'rollout'>,
): { objective: Objective; metric?: AnalysisMetric } | undefined {
  const objective = primaryObjective(spec.objectives);
  if (!objective) return undefined;
  const metric = spec.rollout.analysis.metrics.find((candidate) => candidate.objective === objective.name);
  return metric ? { objective, metric } : { objective };
}

/**
 * How much better `value` is than `reference`, in percent, for an objective going `direction`;
 * undefined when the reference is not a positive finite number (a ratio of it would mean nothing).
 */
export function improvementPercent(
  reference: number,
  value: number,
  direction: Objective['direction'],
): number | undefined {
  if (!Number.isFinite(reference) || !Number.isFinite(value) || reference <= 0) return undefined;
  const change = direction === 'Maximize' ? value - reference : reference - value;
  return round((change / reference) * 100);
}

/**
 * The ledger as the canary leaves it: the candidate's predicted gain (its score) and the median
 * gain of the canary over stable across the measurements of the objective's metric. Undefined when
 * the agent has no objective measured in the sandbox.
 */
export function canaryLedger(
  spec: Pick<HyperAgentSpec, 'objectives' | 'rollout'>,
  predicted: number | undefined,
  measurements: readonly CanaryMeasurementRecord[],
): GainLedger | undefined {
  const found = objectiveMetric(spec);
  if (!found) return undefined;
  const { objective, metric } = found;
  const base = {
    objective: objective.name,
    ...(predicted !== undefined && Number.isFinite(predicted) ? { predicted: round(predicted) } : {}),
  };
  if (!metric) {
    return {
      ...base,
      message: `No analysis metric names objective ${objective.name}: production's gain is not measured.`,
    };
  }
  const gains = measurements.flatMap((record) => {
    if (record.metric !== metric.name || record.value === undefined || record.stableValue === undefined)
      return [];
    const gain = improvementPercent(record.stableValue, record.value, objective.direction);
    return gain === undefined ? [] : [gain];
  });
  if (gains.length === 0) {
    return {
      ...base,
      message: `The canary's ${metric.name} measurements had no finite value against stable: its gain is unknown.`,
    };
  }
  const canary = round(median(gains));
  return withRatio({
    ...base,
    canary,
    message: `Canary against stable on ${metric.name}: median of ${gains.length} measurements.`,
  });
}

/** The ledger with the promoted revision's gain over the one before it, from the two windows' averages. */
export function withProductionGain(
  ledger: GainLedger,
  direction: Objective['direction'],
  window: { before: number; after: number; description: string },
  checkedAt: Date,
): GainLedger {
  const production = improvementPercent(window.before, window.after, direction);
  const checked = { productionCheckedAt: checkedAt.toISOString() };
  if (production === undefined) {
    return withProductionUnmeasured(
      ledger,
      `${window.description}; no gain can be computed from it`,
      checkedAt,
    );
  }
  return withRatio({
    ...ledger,
    production,
    ...checked,
    message: clip(`${ledger.message} After promotion: ${window.description}.`),
  });
}

/** The ledger after a measurement after promotion that could not be made: why, so it is not tried again. */
export function withProductionUnmeasured(ledger: GainLedger, why: string, checkedAt: Date): GainLedger {
  return {
    ...ledger,
    productionCheckedAt: checkedAt.toISOString(),
    message: clip(`${ledger.message} After promotion: not measured (${why}).`),
  };
}

/**
 * Observed over predicted: production's figure when measured, else the canary's. Only a positive
 * prediction has a ratio: a candidate the sandbox did not expect to help cannot fall short of it.
 */
function withRatio(ledger: GainLedger): GainLedger {
  const observed = ledger.production ?? ledger.canary;
  const { ratio: _old, ...rest } = ledger;
  if (observed === undefined || ledger.predicted === undefined || ledger.predicted <= 0) return rest;
  return { ...rest, ratio: Math.round((observed / ledger.predicted) * 100) / 100 };
}

/** What the agent concludes from its deliveries about its benchmark. */
export type BenchmarkTrust =
  | {
      predictive: true;
      message: string;
      /** Deliveries with a ratio that were looked at. */
      measured: number;
      /** Whether the newest of them fell short (one more in a row and the benchmark is not trusted). */
      latestShortfall: boolean;
    }
  | { predictive: false; message: string; shortfalls: ArchiveEntry[] };

/**
 * Whether the sandbox still predicts production: not when each of the last
 * SHORTFALLS_TO_DISTRUST measured deliveries (evaluated after `trustedSince`, when a person said
 * to trust the benchmark again) showed less than SHORTFALL_RATIO of the predicted gain.
 */
export function benchmarkTrust(archive: readonly ArchiveEntry[], trustedSince?: Date): BenchmarkTrust {
  const since = trustedSince?.getTime() ?? -Infinity;
  const measured = archive
    .filter((entry) => entry.gain?.ratio !== undefined && Date.parse(entry.evaluatedAt) > since)
    .sort((a, b) => Date.parse(b.evaluatedAt) - Date.parse(a.evaluatedAt));
  const latest = measured.slice(0, SHORTFALLS_TO_DISTRUST);
  const short = latest.filter((entry) => (entry.gain?.ratio ?? 1) < SHORTFALL_RATIO);
  if (latest.length === SHORTFALLS_TO_DISTRUST && short.length === latest.length) {
    const figures = short
      .map(
        (entry) =>
          `${entry.id} predicted ${signed(entry.gain?.predicted)}, showed ${signed(observedOf(entry))}`,
      )
      .join('; ');
    return {
      predictive: false,
      message: clip(
        `Production showed less than ${SHORTFALL_RATIO * 100}% of the gain the sandbox predicted, ${short.length} deliveries in a row (${figures}): the benchmark does not predict production. Code changes wait for a person's approval until someone runs kubectl hyperagent trust.`,
      ),
      shortfalls: short,
    };
  }
  const newest = latest[0];
  const latestShortfall = newest !== undefined && (newest.gain?.ratio ?? 1) < SHORTFALL_RATIO;
  return {
    predictive: true,
    measured: latest.length,
    latestShortfall,
    message:
      newest === undefined
        ? 'No delivery has been measured in production yet.'
        : latestShortfall
          ? `The latest delivery, ${newest.id}, showed in production less than ${SHORTFALL_RATIO * 100}% of the gain the sandbox predicted (predicted ${signed(newest.gain?.predicted)}, showed ${signed(observedOf(newest))}); one more such delivery in a row and code changes wait for a person.`
          : `The latest delivery, ${newest.id}, showed in production at least ${SHORTFALL_RATIO * 100}% of the gain the sandbox predicted (predicted ${signed(newest.gain?.predicted)}, showed ${signed(observedOf(newest))}).`,
  };
}

function observedOf(entry: ArchiveEntry): number | undefined {
  return entry.gain?.production ?? entry.gain?.canary;
}

function signed(value: number | undefined): string {
  if (value === undefined) return 'n/a';
  return `${value > 0 ? '+' : ''}${value}%`;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function clip(text: string): string {
  return text.length <= 1024 ? text : `${text.slice(0, 1023)}…`;
}
