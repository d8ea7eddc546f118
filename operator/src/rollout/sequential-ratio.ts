// Sequential judgement of a canary's failure ratio (failed requests over requests) against its
// limit, on the counts so far, as often as they change.
//
// A per-interval threshold check waits a whole interval for evidence that arrived long before it;
// checking a plain confidence interval after every request instead would raise false alarms, since
// the chance that one of many looks crosses a fixed bound grows with the looks. The tests here stay
// valid however often they are read:
//
//   above:  M⁺ = ∫_{p0}^{1} L(p) dp / (1 − p0) ÷ L(p0)     L(p) = p^failures (1 − p)^(total − failures)
//   within: M⁻ = ∫_{0}^{p0} L(p) dp / p0       ÷ L(p0)
//
// M⁺ is the likelihood ratio of "the ratio is somewhere above the limit" (uniformly weighted) to
// "it is exactly the limit". For any true ratio at or below p0 it is a non-negative supermartingale
// with expectation ≤ 1 (each request multiplies it by a factor whose mean is ≤ 1 when p ≤ p0), so
// by Ville's inequality it ever reaches 1/α with probability at most α, whenever and however often
// it is looked at. Symmetrically for M⁻ and true ratios at or above p0. So:
//
//   Above     M⁺ ≥ 1/α: at confidence 1 − α the canary fails more than the limit allows
//   Within    M⁻ ≥ 1/α: at confidence 1 − α it fails less than the limit
//   Undecided otherwise: too little traffic to tell either way, or a ratio close to the limit
//
// The uniform weight over the alternatives makes large departures (half the requests failing
// against a 5% limit) conclusive after a dozen requests, where a test against one fixed alternative
// would need its alternative guessed in advance.
import { logBeta, logBetaTails } from '../util/beta.js';

export interface RatioCounts {
  /** Requests that failed (5xx, say), since the evidence began. */
  failures: number;
  /** All requests since the evidence began, failures included. */
  total: number;
}

export type RatioDecision = 'Above' | 'Within' | 'Undecided';

export interface RatioJudgement {
  decision: RatioDecision;
  /** failures / total, when there was traffic. */
  ratio?: number;
  /** log M⁺ and log M⁻ (natural logarithms); the bound both are held to is log(1/α). */
  logEvidenceAbove: number;
  logEvidenceWithin: number;
  /** The counts, the limit and the confidence in words. */
  message: string;
}

/**
 * Judges counts against a failure-ratio limit at a confidence (0.5 < confidence < 1). Above and
 * Within are each wrong with probability at most 1 − confidence over the whole life of the evidence,
 * however often it is judged. Counts that are not finite, negative, or with more failures than
 * requests, and limits outside (0, 1), are Undecided and say why.
 */
export function judgeRatio(counts: RatioCounts, limit: number, confidence: number): RatioJudgement {
  const { failures, total } = counts;
  const undecided = (message: string): RatioJudgement => ({
    decision: 'Undecided',
    logEvidenceAbove: Number.NaN,
    logEvidenceWithin: Number.NaN,
    message,
  });
  if (!(limit > 0 && limit < 1))
    return undecided(`a failure-ratio limit must lie between 0 and 1, not ${limit}`);
  if (!(confidence > 0.5 && confidence < 1))
    return undecided(`a confidence must lie between 0.5 and 1, not ${confidence}`);
  if (!Number.isFinite(failures) || !Number.isFinite(total) || failures < 0 || total < failures) {
    return undecided(`${failures} failed of ${total} requests are not counts the limit can judge`);
  }
  const { above, within } = logEvidence(failures, total, limit);
  const bound = Math.log(1 / (1 - confidence));
  const ratio = total > 0 ? failures / total : undefined;
  const seen = `${formatCount(failures)} failed of ${formatCount(total)} requests`;
  const shown = ratio === undefined ? seen : `${seen} (${formatRatio(ratio)})`;
  const level = `${formatPercent(confidence)} confidence`;
  const figures = { logEvidenceAbove: above, logEvidenceWithin: within };
  if (above >= bound) {
    return {
      decision: 'Above',
      ratio,
      ...figures,
      message: `${shown}: above the limit ${limit} at ${level}`,
    };
  }
  if (within >= bound) {
    return {
      decision: 'Within',
      ratio,
      ...figures,
      message: `${shown}: within the limit ${limit} at ${level}`,
    };
  }
  return {
    decision: 'Undecided',
    ratio,
    ...figures,
    message:
      total === 0
        ? `no requests yet, so the limit ${limit} cannot be judged`
        : `${shown}: not yet conclusive against the limit ${limit} at ${level}`,
  };
}

/** log M⁺ and log M⁻ for the counts (see the top of this file). */
export function logEvidence(
  failures: number,
  total: number,
  limit: number,
): { above: number; within: number } {
  const successes = total - failures;
  // log ∫_0^1 L(p) dp, split at the limit by the Beta(failures + 1, successes + 1) tails
  const logWhole = logBeta(failures + 1, successes + 1);
  const tails = logBetaTails(limit, failures + 1, successes + 1);
  const logAtLimit = (failures > 0 ? failures * Math.log(limit) : 0) + successes * Math.log1p(-limit);
  return {
    above: logWhole + tails.upper - Math.log1p(-limit) - logAtLimit,
    within: logWhole + tails.lower - Math.log(limit) - logAtLimit,
  };
}

function formatCount(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function formatRatio(value: number): string {
  return String(Number(value.toPrecision(3)));
}

function formatPercent(share: number): string {
  return `${Number((share * 100).toPrecision(4))}%`;
}
