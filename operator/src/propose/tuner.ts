// The tuner: an offline proposer that searches the declared parameters, learning only from the
// archive. It needs no model, no network and no credentials, so it is the default proposer and
// the one that keeps working when nothing else is configured.
//
// The search runs on the grid of tuner-space.ts, in two phases:
//
// 1. Exploration. While fewer than `initialDesignSize` configurations have a score, candidates
//    are the next unevaluated points of a Halton sequence, shifted by a seeded random offset
//    (Cranley–Patterson rotation). Low-discrepancy points cover the space far more evenly than
//    random ones, and without any state: the next round simply skips what was evaluated.
// 2. Refinement, a pattern search around the best scored configuration (within the branch of
//    the chosen parent, when there is one). Polls move one numeric parameter by ± its radius,
//    or switch one boolean or choice, and the radius starts at a quarter of each range. The
//    radius in use is the largest one whose poll still holds an unevaluated point: a poll that
//    was fully evaluated without finding anything better is how the step halves, and the
//    archive is the only memory the search needs. A new best keeps the step that found it, and
//    a pattern move first repeats that successful step once more. Within one radius the polls
//    are ranked by an inverse-distance-weighted estimate from past results, so the most
//    promising are evaluated first when maxCandidates is smaller than the poll.
//
// When every poll of the best at every radius down to one grid step has been evaluated, the best
// is a local optimum on the grid and the tuner says it has converged instead of proposing.
// Failed, refused and rolled-back configurations count as evaluated (never proposed again) and
// as bad points for the estimate. Everything follows from the request and its seed: the same
// request always gives the same candidates.
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { isSteppingStone } from '../policy/archive.js';
import { NO_USAGE, type ConfigCandidate, type ProposalRequest, type ProposalResult } from './candidate.js';
import type { ArchiveEntry } from '../policy/archive-entry.js';
import type { ParameterValues } from '../api/parameters.js';
import type { Proposer } from './proposer.js';
import { formatValue, levelCount, locate, searchSpace, valueAt, type Dimension } from './tuner-space.js';

export interface TunerOptions {
  /**
   * Scored configurations wanted before refinement starts. Default: the number of tunable
   * parameters plus two, between 4 and 12.
   */
  initialDesignSize?: number;
  /** Clock for the attempt's duration, in milliseconds. */
  now?: () => number;
}

/** What the tuner decided for one request. */
export interface TunerPlan {
  candidates: ConfigCandidate[];
  /** True when the neighbourhood of the best is exhausted and nothing is proposed. */
  converged: boolean;
  /** One line for the proposal attempt: the phase, or why nothing was proposed. */
  message: string;
}

export class TunerProposer implements Proposer {
  readonly type = 'tuner' as const;

  constructor(private readonly options: TunerOptions = {}) {}

  async propose(request: ProposalRequest): Promise<ProposalResult> {
    const now = this.options.now ?? (() => performance.now());
    const started = now();
    const plan = planTuning(request, this.options);
    return {
      candidates: plan.candidates,
      attempts: [{ outcome: 'ok', message: plan.message, durationMs: Math.max(0, now() - started) }],
      usage: { ...NO_USAGE },
    };
  }
}

/** First radius, as a fraction of each numeric range; each smaller radius is half the last. */
const FIRST_RADIUS = 1 / 4;
/** Halton points looked at per round before giving up on finding unevaluated ones. */
const HALTON_LIMIT = 20_000;
/** Weight of a different boolean or choice in the estimate's distance (a whole range is 1). */
const CATEGORICAL_DISTANCE = 0.5;

type Point = readonly number[];

/** A configuration from the archive, placed on the grid. */
interface Observation {
  entry: ArchiveEntry;
  /** Position in the archive (oldest first). */
  order: number;
  /** Nearest levels; values the entry does not record are taken from the current ones. */
  point: Point;
  /** Whether every value is exactly on the grid, i.e. the tuner could propose this point. */
  exact: boolean;
  /** Accepted (Passed or Promoted); the rest are bad points. */
  good: boolean;
  /** Score of a good entry. */
  score: number | undefined;
}

/** A point to propose and why. */
interface Proposal {
  point: Point;
  rationale: string;
}

/** Everything one planning pass works from. */
interface Search {
  request: ProposalRequest;
  dims: readonly Dimension[];
  /** Values candidates are diffed against: the parent's, or the current ones. */
  startValues: ParameterValues;
  /** Level of each start value that is exactly on the grid; undefined otherwise. */
  startLevels: readonly (number | undefined)[];
  startPoint: Point;
  observations: readonly Observation[];
  /** Keys of evaluated points, and of the start: never proposed. */
  seen: Set<string>;
  rng: RandomGenerator;
  max: number;
}

/**
 * Plans one round of the tuner: up to `maxCandidates` config candidates, or none with the
 * reason (converged, nothing tunable). Pure and deterministic for a request; throws only on
 * programming errors.
 */
export function planTuning(request: ProposalRequest, options: TunerOptions = {}): TunerPlan {
  const space = searchSpace(request.parameters);
  const dims = space.dimensions;
  const max = Math.max(0, Math.floor(request.maxCandidates));
  if (dims.length === 0) {
    const why = space.untunable.map(({ name, reason }) => `${name}: ${reason}`).join('; ');
    return { candidates: [], converged: false, message: `no parameter to tune${why ? ` (${why})` : ''}` };
  }
  if (max === 0) return { candidates: [], converged: false, message: 'maxCandidates is 0: nothing proposed' };

  // A parent recorded before a parameter was declared ran with that parameter's current value.
  const startValues = { ...request.current, ...request.parent?.parameters };
  const startLevels = dims.map((dim) => {
    const location = locate(dim, startValues[dim.name]);
    return location?.exact ? location.level : undefined;
  });
  const nearest = (values: ParameterValues) =>
    dims.map((dim) => locate(dim, values[dim.name])?.level ?? defaultLevel(dim));
  const startPoint = nearest(startValues);
  // An entry that does not record a parameter ran before it was declared, with its current value.
  const observations = observe(request.archive, dims, nearest(request.current));
  const seen = new Set(observations.filter((o) => o.exact).map((o) => keyOf(o.point)));
  for (const values of [startValues, request.current]) {
    const point = locatePoint(dims, values);
    if (point !== undefined) seen.add(keyOf(point));
  }

  const search: Search = {
    request,
    dims,
    startValues,
    startLevels,
    startPoint,
    observations,
    seen,
    rng: xoroshiro128plus(seedOf(request.seed)),
    max,
  };

  const designSize = Math.max(1, Math.floor(options.initialDesignSize ?? clamp(dims.length + 2, 4, 12)));
  const scored = observations.filter((o) => o.good && o.score !== undefined).length;
  // Offsets are drawn first and always, so the rest of the generator is the same in both phases.
  const offsets = dims.map(() => uniformFloat64(search.rng));
  if (scored < designSize && observations.length < 3 * designSize) {
    const explored = explore(search, offsets, scored, designSize);
    if (explored.length > 0) {
      return {
        candidates: explored.map((proposal) => toCandidate(search, proposal)),
        converged: false,
        message: `tuner: ${explored.length} exploration candidate(s) from a Halton design (${scored} of ${designSize} scored results before refinement)`,
      };
    }
  }
  const refined = refine(search);
  if (refined.proposals.length === 0) {
    return {
      candidates: [],
      converged: true,
      message: `search converged: every neighbour of ${refined.centre} down to one grid step, and every other boolean and choice value, has been evaluated`,
    };
  }
  return {
    candidates: refined.proposals.map((proposal) => toCandidate(search, proposal)),
    converged: false,
    message: `tuner: ${refined.proposals.length} refinement candidate(s) around ${refined.centre}`,
  };
}

/** The grid point of a set of values, when every value is exactly on the grid. */
function locatePoint(dims: readonly Dimension[], values: ParameterValues): Point | undefined {
  const point: number[] = [];
  for (const dim of dims) {
    const location = locate(dim, values[dim.name]);
    if (!location?.exact) return undefined;
    point.push(location.level);
  }
  return point;
}

/** The archive's config entries, placed on the grid. */
function observe(
  archive: readonly ArchiveEntry[],
  dims: readonly Dimension[],
  fallback: Point,
): Observation[] {
  return archive.flatMap((entry, order) => {
    if (entry.kind !== 'config' || entry.parameters === undefined) return [];
    const values = entry.parameters;
    let exact = true;
    const point = dims.map((dim, j) => {
      const location = locate(dim, values[dim.name]);
      if (!location?.exact) exact = false;
      return location?.level ?? fallback[j] ?? 0;
    });
    const good = isSteppingStone(entry);
    const score = good && entry.score !== undefined && Number.isFinite(entry.score) ? entry.score : undefined;
    return [{ entry, order, point, exact, good, score }];
  });
}

/** Unevaluated points of the seeded Halton sequence, in sequence order. */
function explore(search: Search, offsets: readonly number[], scored: number, designSize: number): Proposal[] {
  const { dims, seen, max } = search;
  // Small bases cycle through their values fastest, so they go to the parameters with the fewest
  // levels: a boolean on base 7 would keep one value for the first several points.
  const primes = firstPrimes(dims.length);
  const bases: number[] = [];
  dims
    .map((dim, j) => ({ j, levels: levelCount(dim) }))
    .sort((a, b) => a.levels - b.levels || a.j - b.j)
    .forEach(({ j }, rank) => (bases[j] = primes[rank] ?? 2));
  const taken = new Set<string>();
  const proposals: Proposal[] = [];
  for (let n = 1; n <= HALTON_LIMIT && proposals.length < max; n++) {
    const point = dims.map((dim, j) => {
      const u = fraction(radicalInverse(n, bases[j] ?? 2) + (offsets[j] ?? 0));
      return Math.min(levelCount(dim) - 1, Math.floor(u * levelCount(dim)));
    });
    const key = keyOf(point);
    if (seen.has(key) || taken.has(key)) continue;
    taken.add(key);
    proposals.push({
      point,
      rationale:
        `Exploration: point ${n} of a Halton sequence over the declared ranges, which spreads the first ` +
        `evaluations evenly. ${scored} of ${designSize} scored results so far; after that the search ` +
        `refines around the best one.`,
    });
  }
  return proposals;
}

/** One move of the poll around the centre. */
interface Move {
  point: Point;
  /** Radius index: 0 is the first radius, each next one half of it. */
  radius: number;
  dim: number;
}

/** The pattern-search round: the centre it works around, and its proposals (none = converged). */
function refine(search: Search): { centre: string; proposals: Proposal[] } {
  const { dims, seen, max } = search;
  const centre = chooseCentre(search);
  const radii = radiusTable(dims);
  const last = radii.length - 1;

  // A new best keeps the radius of the step that found it. The first best, or one found by
  // switching a boolean or choice, starts again at the largest radius.
  let first = 0;
  if (centre.previous) {
    const moved = Math.max(
      0,
      ...dims.map((dim, j) =>
        dim.kind === 'numeric'
          ? Math.abs((centre.point[j] ?? 0) - (centre.previous?.point[j] ?? 0)) / (dim.levels - 1)
          : 0,
      ),
    );
    if (moved > 0) first = clamp(Math.round(Math.log2(FIRST_RADIUS / moved)), 0, last);
  }

  const taken = new Set<string>();
  const fresh = (point: Point) => {
    const key = keyOf(point);
    if (seen.has(key) || taken.has(key)) return false;
    taken.add(key);
    return true;
  };

  const proposals: Proposal[] = [];
  const pattern = patternMove(search, centre);
  if (pattern && fresh(pattern)) {
    proposals.push({
      point: pattern,
      rationale:
        `Refinement, pattern move: repeats the step from ${describe(centre.previous?.entry)} to ` +
        `${centre.description}, which improved the score, once more in the same direction.`,
    });
  }

  const estimate = surrogate(search);
  // The largest radius that still had unevaluated moves: the step the search is at.
  let open: number | undefined;
  for (let radius = first; radius <= last && proposals.length < max; radius++) {
    const moves = poll(dims, centre.point, radii[radius] ?? [], radius).filter((move) => fresh(move.point));
    if (moves.length === 0) continue;
    open ??= radius;
    const ranked = moves
      .map((move) => ({ move, expected: estimate(move.point), tie: uniformFloat64(search.rng) }))
      .sort((a, b) => b.expected - a.expected || a.tie - b.tie);
    for (const { move, expected } of ranked) {
      if (proposals.length >= max) break;
      const halved =
        move.radius > open
          ? ' A smaller step, tried alongside the larger ones to fill the round.'
          : move.radius > first
            ? ' Larger steps around it found nothing better, so the step was halved.'
            : '';
      proposals.push({
        point: move.point,
        rationale:
          `Refinement (pattern search) around ${centre.description}: ${describeMove(search, centre.point, move)}.` +
          `${halved} Estimated score ${formatScore(expected)} from ${estimate.basis} past result(s), inverse-distance weighted.`,
      });
    }
  }
  return { centre: centre.description, proposals };
}

interface Centre {
  point: Point;
  description: string;
  /** The best before the centre was found, in the same branch. */
  previous: Observation | undefined;
}

/**
 * The best scored configuration, within the chosen parent's branch (the parent and everything
 * started from it) when there is a parent. Without one the start itself is the centre.
 */
function chooseCentre(search: Search): Centre {
  const parent = search.request.parent;
  const branch = parent === undefined ? undefined : branchOf(search.request.archive, parent.id);
  const scored = search.observations.filter(
    (o) => o.score !== undefined && (branch === undefined || branch.has(o.entry.id)),
  );
  const best = bestOf(scored);
  if (best === undefined) {
    const description = parent === undefined ? 'the current values' : `the parent ${parent.id} (unscored)`;
    return { point: search.startPoint, description, previous: undefined };
  }
  const where = parent === undefined ? 'the best so far' : `the best in the branch of ${parent.id}`;
  return {
    point: best.point,
    description: `${best.entry.id} (score ${formatScore(best.score ?? 0)}, ${where})`,
    previous: bestOf(scored.filter((o) => o.order < best.order)),
  };
}

/** Highest score; the earliest wins a tie, so an equal later result does not move the centre. */
function bestOf(observations: readonly Observation[]): Observation | undefined {
  let best: Observation | undefined;
  for (const o of observations) {
    if (best === undefined || (o.score ?? -Infinity) > (best.score ?? -Infinity)) best = o;
  }
  return best;
}

/** Ids of an entry and of every entry started from it, transitively. */
function branchOf(archive: readonly ArchiveEntry[], root: string): Set<string> {
  const children = new Map<string, string[]>();
  for (const entry of archive) {
    if (entry.parent === undefined) continue;
    children.set(entry.parent, [...(children.get(entry.parent) ?? []), entry.id]);
  }
  const branch = new Set<string>([root]);
  const queue = [root];
  for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
    for (const child of children.get(id) ?? []) {
      if (!branch.has(child)) {
        branch.add(child);
        queue.push(child);
      }
    }
  }
  return branch;
}

/** The centre moved once more by the step that made it the best; numeric parameters only. */
function patternMove(search: Search, centre: Centre): Point | undefined {
  const previous = centre.previous;
  if (previous === undefined) return undefined;
  let moved = false;
  const point = search.dims.map((dim, j) => {
    const at = centre.point[j] ?? 0;
    if (dim.kind !== 'numeric') return at;
    const to = clamp(at + at - (previous.point[j] ?? at), 0, dim.levels - 1);
    if (to !== at) moved = true;
    return to;
  });
  return moved ? point : undefined;
}

/**
 * Radii in grid steps per parameter, largest first, down to one step everywhere. Boolean and
 * choice parameters have no radius (their poll tries every other value).
 */
function radiusTable(dims: readonly Dimension[]): number[][] {
  const table: number[][] = [];
  for (let k = 0; ; k++) {
    const radii = dims.map((dim) =>
      dim.kind === 'numeric' ? Math.max(1, Math.round(((dim.levels - 1) * FIRST_RADIUS) / 2 ** k)) : 0,
    );
    table.push(radii);
    if (radii.every((radius) => radius <= 1)) return table;
  }
}

/** Moves of one parameter at a time: ± the radius (clamped into range), or another value. */
function poll(dims: readonly Dimension[], centre: Point, radii: readonly number[], radius: number): Move[] {
  const moves: Move[] = [];
  dims.forEach((dim, j) => {
    const at = centre[j] ?? 0;
    const targets =
      dim.kind === 'numeric'
        ? [1, -1].map((sign) => clamp(at + sign * (radii[j] ?? 1), 0, dim.levels - 1))
        : dim.values.map((_, level) => level);
    for (const to of new Set(targets)) {
      if (to !== at) moves.push({ point: centre.map((level, i) => (i === j ? to : level)), radius, dim: j });
    }
  });
  return moves;
}

/**
 * An estimate of the score at a point: the inverse-square-distance-weighted mean of past results,
 * with bad points counted below the worst score so the search steers away from them.
 */
function surrogate(search: Search): ((point: Point) => number) & { basis: number } {
  const good = search.observations.filter((o) => o.score !== undefined);
  const scores = good.map((o) => o.score ?? 0);
  const low = Math.min(...scores);
  const spread = Math.max(...scores) - low;
  const penalty = good.length === 0 ? 0 : low - (spread > 0 ? spread : Math.max(1, Math.abs(low)));
  // An accepted entry without a score says nothing about the goal; only failures are known bad.
  const samples = search.observations
    .filter((o) => o.score !== undefined || !o.good)
    .map((o) => ({ point: o.point, value: o.score ?? penalty }));
  const distance = (a: Point, b: Point) =>
    search.dims.reduce((sum, dim, j) => {
      const delta =
        dim.kind === 'numeric'
          ? ((a[j] ?? 0) - (b[j] ?? 0)) / (dim.levels - 1)
          : a[j] === b[j]
            ? 0
            : CATEGORICAL_DISTANCE;
      return sum + delta * delta;
    }, 0);
  const estimate = (point: Point) => {
    let weights = 0;
    let total = 0;
    for (const sample of samples) {
      const d2 = distance(point, sample.point);
      if (d2 === 0) return sample.value;
      weights += 1 / d2;
      total += sample.value / d2;
    }
    return weights === 0 ? 0 : total / weights;
  };
  return Object.assign(estimate, { basis: samples.length });
}

/** The proposal as a config candidate: only the values that differ from the start. */
function toCandidate(search: Search, proposal: Proposal): ConfigCandidate {
  const parameters: ParameterValues = {};
  const changes: string[] = [];
  search.dims.forEach((dim, j) => {
    const level = proposal.point[j] ?? 0;
    if (search.startLevels[j] === level) return;
    const value = valueAt(dim, level);
    parameters[dim.name] = value;
    changes.push(`${dim.name} ${formatValue(search.startValues[dim.name])}→${formatValue(value)}`);
  });
  if (changes.length === 0)
    throw new Error('the tuner proposed the start values (a bug: the start is always seen)');
  const candidate: ConfigCandidate = {
    kind: 'config',
    summary: changes.join(', '),
    rationale: proposal.rationale,
    parameters,
  };
  if (search.request.parent !== undefined) candidate.parent = search.request.parent.id;
  return candidate;
}

function describeMove(search: Search, centre: Point, move: Move): string {
  const dim = search.dims[move.dim];
  if (dim === undefined) return 'no change';
  const from = valueAt(dim, centre[move.dim] ?? 0);
  const to = valueAt(dim, move.point[move.dim] ?? 0);
  if (dim.kind === 'categorical') return `${dim.name} ${formatValue(to)} instead of ${formatValue(from)}`;
  const steps = (move.point[move.dim] ?? 0) - (centre[move.dim] ?? 0);
  return `${dim.name} ${formatValue(from)}→${formatValue(to)} (${steps > 0 ? '+' : ''}${steps} grid step${Math.abs(steps) === 1 ? '' : 's'})`;
}

function describe(entry: ArchiveEntry | undefined): string {
  if (entry === undefined) return 'the start';
  return entry.score === undefined ? entry.id : `${entry.id} (score ${formatScore(entry.score)})`;
}

function formatScore(score: number): string {
  return Number.isFinite(score) ? String(Number(score.toPrecision(6))) : String(score);
}

function defaultLevel(dim: Dimension): number {
  return dim.kind === 'numeric' ? Math.floor((dim.levels - 1) / 2) : 0;
}

function keyOf(point: Point): string {
  return point.join(',');
}

/** A 32-bit seed from any number, so fractional or huge seeds still give a fixed sequence. */
function seedOf(seed: number): number {
  return Number.isFinite(seed) ? Math.trunc(seed) | 0 : 0;
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

function fraction(value: number): number {
  return value - Math.floor(value);
}

/** The digits of n in the given base, mirrored behind the point: the Halton coordinate. */
function radicalInverse(n: number, base: number): number {
  let result = 0;
  let scale = 1 / base;
  for (let rest = n; rest > 0; rest = Math.floor(rest / base)) {
    result += (rest % base) * scale;
    scale /= base;
  }
  return result;
}

function firstPrimes(count: number): number[] {
  const primes: number[] = [];
  for (let candidate = 2; primes.length < count; candidate++) {
    if (primes.every((p) => candidate % p !== 0)) primes.push(candidate);
  }
  return primes;
}
