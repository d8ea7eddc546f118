// Which archived variant the next cycle starts from, chosen the way the Darwin Gödel Machine
// chooses: at random, with odds that grow with a variant's score and shrink with the number of
// children it already has. Good variants are explored more, but none is ever starved, and a
// variant that has been tried from many times yields to less explored ones. That keeps the
// search open-ended instead of climbing one hill.
//
// The odds of one variant are
//
//   weight = sigmoid(λ · (s − m)) × 1 / (1 + children)
//
// where s is its score normalised to [0, 1] over the scores of all candidates for parent (the
// observed range), and m is the median of those normalised scores. The median makes the
// midpoint follow the archive: half the scored variants sit above it, whatever the scale of the
// goal metric, and one outlier cannot move it. With the default λ = 10 and the median mid-range,
// the best variant outweighs the worst by about 150 to 1 at equal children. A variant without a score (or when
// every score is equal) sits at the midpoint: weight 0.5 before the children factor.
//
// The random draw comes from an injected generator, so a seed fixes the choice.
import { createHash } from 'node:crypto';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import type { ArchiveEntry } from './archive-entry.js';
import { childrenOf, countChildren, steppingStones } from './archive.js';
import { median } from '../util/median.js';

export const DEFAULT_LAMBDA = 10;

/**
 * Smallest performance factor: keeps every candidate's odds above zero even when a large λ
 * pushes the sigmoid below what a double can hold.
 */
const MIN_PERFORMANCE = 1e-12;

/** One candidate for parent and why it got its odds, for status and events. */
export interface ParentOdds {
  /** Archive id; undefined = the baseline. */
  id: string | undefined;
  /** Score the odds were computed from; undefined = unscored (neutral). */
  score: number | undefined;
  children: number;
  /** sigmoid(λ · (normalised score − midpoint)), in (0, 1). */
  performance: number;
  /** 1 / (1 + children). */
  novelty: number;
  /** performance × novelty. */
  weight: number;
  /** weight over the sum of weights; the probabilities sum to 1. */
  probability: number;
}

export interface ParentOddsInput {
  archive: readonly ArchiveEntry[];
  /** Score of the baseline (the deployed variant), when known; otherwise it is neutral. */
  baselineScore?: number;
  /** Steepness of the sigmoid over normalised scores; positive. Default 10. */
  lambda?: number;
}

export interface ParentOddsResult {
  /** The baseline first, then the stepping stones oldest first. */
  odds: ParentOdds[];
  /** The midpoint in score units (the median score); undefined when nothing is scored. */
  midpoint: number | undefined;
}

/**
 * The odds of every candidate for parent: the baseline and each stepping stone. Throws a
 * RangeError for a λ that is not a positive finite number (a programming or validation error).
 */
export function parentOdds(input: ParentOddsInput): ParentOddsResult {
  const lambda = input.lambda ?? DEFAULT_LAMBDA;
  if (!Number.isFinite(lambda) || lambda <= 0)
    throw new RangeError(`lambda must be a positive number, got ${lambda}`);

  const counts = countChildren(input.archive);
  const pool: { id: string | undefined; score: number | undefined }[] = [
    { id: undefined, score: finite(input.baselineScore) },
    ...steppingStones(input.archive).map((entry) => ({ id: entry.id, score: finite(entry.score) })),
  ];

  const scores = pool.flatMap(({ score }) => (score === undefined ? [] : [score]));
  const low = Math.min(...scores);
  const range = Math.max(...scores) - low;
  const normalise = (score: number) => (range > 0 ? (score - low) / range : 0.5);
  const midpoint = scores.length === 0 ? undefined : median(scores.map(normalise));

  const weighed = pool.map(({ id, score }) => {
    const children = childrenOf(counts, id);
    const centred = score === undefined || midpoint === undefined ? 0 : normalise(score) - midpoint;
    const performance = Math.max(MIN_PERFORMANCE, sigmoid(lambda * centred));
    const novelty = 1 / (1 + children);
    return { id, score, children, performance, novelty, weight: performance * novelty };
  });
  const total = weighed.reduce((sum, { weight }) => sum + weight, 0);
  return {
    odds: weighed.map((odds) => ({ ...odds, probability: odds.weight / total })),
    midpoint: midpoint === undefined ? undefined : low + midpoint * range,
  };
}

export interface ParentSelectionInput extends ParentOddsInput {
  /** Source of the draw; seed it (e.g. `xoroshiro128plus(seed)`) for a repeatable choice. */
  rng: RandomGenerator;
}

export interface ParentSelection extends ParentOddsResult {
  /** The chosen stepping stone; undefined = the baseline. */
  parent: ArchiveEntry | undefined;
}

/**
 * Draws the next parent with probability proportional to its weight. Consumes one value from
 * `rng`. Throws only where `parentOdds` does.
 */
export function selectParent(input: ParentSelectionInput): ParentSelection {
  const result = parentOdds(input);
  const draw = uniformFloat64(input.rng);
  let chosen = result.odds[result.odds.length - 1];
  let cumulative = 0;
  for (const odds of result.odds) {
    cumulative += odds.probability;
    if (draw < cumulative) {
      chosen = odds;
      break;
    }
  }
  const id = chosen?.id;
  const parent =
    id === undefined ? undefined : steppingStones(input.archive).find((entry) => entry.id === id);
  return { ...result, parent };
}

/**
 * The seed of one cycle's draw: the agent's seed and the cycle's name, hashed. A generator seeded
 * with nearby numbers (the names of successive cycles differ in a digit or two) gives nearly the
 * same first value, which would draw the same parent every cycle; a hash spreads them.
 */
export function drawSeed(agentSeed: number, cycle: string): number {
  return createHash('sha256').update(`${agentSeed}/${cycle}`).digest().readUInt32BE(0);
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

function finite(value: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) ? value : undefined;
}
