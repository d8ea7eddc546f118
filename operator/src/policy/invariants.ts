// The sandbox verdict of one candidate: its runner result judged against the baseline's (the
// unmodified source, evaluated by the same runner in the same cycle), check by check.
//
// Every verdict lists the same seven checks in the same order, each Passed, Failed or Skipped with
// its figures, so a reader can always see what was judged and what was not. A candidate passes when
// no check failed. Whatever cannot be read is a failure (fail closed), with one exception: peak
// memory, which some nodes do not expose.
//
// Isolation   Failed when the runner reports a breach: nothing it measured is trusted, and every
//             later check is Skipped. Passed only for an evaluated result.
// Evaluation  Failed when the runner did not evaluate (patch-failed, invalid-manifest, error: its
//             message), when the pod died (deadline, OOM: the I/O layer's text), when a command
//             timed out, was killed, ran more processes at once than the executor allows (a fork
//             bomb), has no exit code or left processes running after it ended (a detached
//             daemon), when the benchmark exited non-zero, or
//             when the baseline is unusable (see judgeBaseline). Later checks are then Skipped.
// TestsPass   Always required. Failed when the typecheck fails, no test command ran, the test
//             command exits non-zero or any test is counted failed.
// TestCountStable  Candidate passed-count ≥ baseline passed-count; counts unreadable on either
//             side (no reporter found, or format `none`) fail.
// InterfaceStable  The candidate's interface after its patches equals the one before them (the
//             runner compares both in the candidate's own pod); no comparison fails.
// GoalImproved  The primary objective (the first with a benchmark or workload key) must improve
//             by more than SIGNIFICANCE × noise, median against median — or, with at least 3 runs
//             a side, every candidate run must beat every baseline run and the medians differ by
//             more than SIGNIFICANCE × the noise floor (a rank test one outlying run cannot fool);
//             every other benchmark objective may get worse by at most its maxRegressionPercent +
//             SIGNIFICANCE × noise. Missing figures fail. A workload goal also fails when the
//             candidate failed more of the judge's requests than the unchanged service (median
//             error_rate above it by ERROR_RATE_SLACK): shedding load is not speed. Without
//             benchmark or workload objectives it is Skipped: the canary judges the goal.
// ResourcesWithinBounds  Peak memory ≤ 90% of the pod limit and, when the baseline's peak is known,
//             ≤ max(1.5 × baseline, baseline + 64 MiB). Unknown peak: Skipped (cgroup unreadable).
// BehaviourPreserved  The judge's answers from the candidate's service equal the unchanged
//             service's, request by request (declared fields ignored); Skipped without a workload.
//
// Goal figures come from the judge (workload objectives: both sides measured in the candidate's
// own pod, the unchanged tree first) or from the benchmark command (self-reported, labelled so).
//
// Invariants the agent does not list are Skipped ("not required by the agent"); TestsPass never is.
// The score is the primary objective's improvement in percent (positive = better), reported
// whenever both sides measured it, even for a failed candidate, so people can see what it bought.
//
// Noise. One side's noise is the robust spread of its runs in percent of the baseline's median:
//   noise = 1.4826 × MAD / |baseline median| × 100 %   (MAD: median absolute deviation from the
//   side's median; 1.4826 makes it estimate the standard deviation of normally distributed runs).
// The two sides are pooled as the root mean square of their noises, floored at 1%. A side with
// fewer than 3 runs has no estimate and the floor is used, which the message says. The spread of
// single runs is used rather than the smaller standard error of the median on purpose: runs in
// one pod share a node and caches, so they vary together and are fewer than statistics assume.
import { INVARIANTS, type HyperAgentSpec } from '../api/schema.js';
import type { CommandReport, SandboxResult } from '../api/sandbox-protocol.js';
import { median } from '../util/median.js';

export type Invariant = (typeof INVARIANTS)[number];
export type CheckName = 'Isolation' | 'Evaluation' | Invariant;
export type CheckStatus = 'Passed' | 'Failed' | 'Skipped';

export interface InvariantCheck {
  name: CheckName;
  status: CheckStatus;
  /** What was compared, with its figures. */
  message: string;
}

export interface CandidateVerdict {
  /** No check failed. */
  passed: boolean;
  /**
   * The primary objective's medians, and who measured them: the judge (a workload objective), or
   * the candidate's own benchmark command (self-reported: a code candidate resting on it is never
   * approved automatically).
   */
  goal?: { key: string; baseline: number; candidate: number; measuredBy: 'Judge' | 'SelfReported' };
  /** Improvement of the primary objective, percent, positive = better; absent when not measured. */
  score?: number;
  /** Every check, in CHECK_ORDER. */
  checks: InvariantCheck[];
  /** One line per failed check: `${name}: ${message}`. */
  reasons: string[];
}

/** A sandbox pod that ended without a runner result; the I/O layer words why (deadline, OOM …). */
export interface PodFailure {
  failure: string;
}

/** What one sandbox pod gave: the runner's result, or why there is none. */
export type SandboxOutcome = SandboxResult | PodFailure;

export type JudgedSpec = Pick<HyperAgentSpec, 'verification' | 'objectives'>;
type Objective = HyperAgentSpec['objectives'][number];

export interface JudgeInput {
  spec: JudgedSpec;
  /**
   * A remediation cycle's candidates: the incident cannot be reproduced in the sandbox, so the
   * primary objective must not get worse (within its maxRegressionPercent and the noise) instead
   * of improving; the canary judges the remedy on the incident's own measure.
   */
  remedy?: boolean;
  baseline: SandboxOutcome;
  candidate: SandboxOutcome;
  /** The memory limit of one sandbox pod, bytes. */
  memoryLimitBytes: number;
}

export interface CycleJudgeInput {
  spec: JudgedSpec;
  /** A remediation cycle (see JudgeInput.remedy). */
  remedy?: boolean;
  /** Absent when the baseline was never evaluated: every candidate then fails. */
  baseline?: SandboxOutcome;
  candidates: ReadonlyMap<string, SandboxOutcome>;
  memoryLimitBytes: number;
}

export interface BaselineVerdict {
  usable: boolean;
  /** Why no candidate can be judged against it, worded for the cycle's status. */
  reason?: string;
}

export const CHECK_ORDER: readonly CheckName[] = ['Isolation', 'Evaluation', ...INVARIANTS];

/** Smallest pooled noise, percent: even identical runs do not prove a smaller change is real. */
export const NOISE_FLOOR_PERCENT = 1;
/** Fewest runs a side needs for its own noise estimate. */
export const MIN_NOISE_RUNS = 3;
/** How many times the noise a change must exceed to count. */
export const SIGNIFICANCE = 2;
/** How much more of the judge's requests a candidate may fail than the unchanged service (a share). */
export const ERROR_RATE_SLACK = 0.005;
/** Share of the pod's memory limit a candidate may peak at: above it, production would OOM soon. */
export const MEMORY_LIMIT_SHARE = 0.9;
/** A candidate may grow the baseline's peak memory by this factor … */
export const MEMORY_GROWTH_FACTOR = 1.5;
/** … or by this many bytes, whichever is larger, so small services are not held to a few MiB. */
export const MEMORY_GROWTH_SLACK_BYTES = 64 * 1024 * 1024;

const MAD_TO_STANDARD_DEVIATION = 1.4826;
const MIB = 1024 * 1024;
const BASELINE_UNUSABLE = 'the unmodified source could not be measured';

/**
 * Relative noise of repeat runs, percent: 1.4826 × MAD / |median| × 100. NaN when there are fewer
 * than MIN_NOISE_RUNS runs or a run is not finite (no estimate); Infinity when the runs spread
 * around a median of 0.
 */
export function noiseOf(runs: readonly number[]): number {
  if (runs.length < MIN_NOISE_RUNS || !runs.every(Number.isFinite)) return Number.NaN;
  const center = median(runs);
  const mad = median(runs.map((run) => Math.abs(run - center)));
  if (mad === 0) return 0;
  if (center === 0) return Number.POSITIVE_INFINITY;
  return ((MAD_TO_STANDARD_DEVIATION * mad) / Math.abs(center)) * 100;
}

export interface PooledNoise {
  /** Percent, never below NOISE_FLOOR_PERCENT. */
  percent: number;
  /** Why the floor was used, when it was: too few runs, or runs steadier than the floor. */
  floor?: string;
}

/**
 * The noise two sides' runs are compared under: RMS of both sides' spreads (1.4826 × MAD), each in
 * percent of the baseline's median — the unit the change itself is measured in — floored. A much
 * faster candidate's jitter is thus not inflated by dividing it by its own small median.
 */
export function pooledNoise(baseline: readonly number[], candidate: readonly number[]): PooledNoise {
  const few = [
    baseline.length < MIN_NOISE_RUNS ? 'baseline' : undefined,
    candidate.length < MIN_NOISE_RUNS ? 'candidate' : undefined,
  ].filter((side) => side !== undefined);
  if (few.length > 0) {
    const sides = few.length === 2 ? 'both sides' : `the ${few[0]}`;
    return {
      percent: NOISE_FLOOR_PERCENT,
      floor: `floor: fewer than ${MIN_NOISE_RUNS} runs on ${sides}`,
    };
  }
  const scale = Math.abs(median(baseline));
  const inBaselineUnits = (runs: readonly number[]): number => {
    if (scale === 0 || !runs.every(Number.isFinite)) return noiseOf(runs);
    const center = median(runs);
    return ((MAD_TO_STANDARD_DEVIATION * median(runs.map((run) => Math.abs(run - center)))) / scale) * 100;
  };
  const percent = Math.sqrt((inBaselineUnits(baseline) ** 2 + inBaselineUnits(candidate) ** 2) / 2);
  if (percent < NOISE_FLOOR_PERCENT) return { percent: NOISE_FLOOR_PERCENT, floor: 'floor' };
  return { percent };
}

/**
 * Whether candidates can be judged against this baseline. Unusable when it was not evaluated, a
 * command did not complete, its tests do not pass, or it lacks figures for a benchmark objective of
 * `spec` (without `spec` figures are not asked for: GoalImproved still fails each candidate then):
 * the reason then explains the cycle's failure and every candidate's.
 */
export function judgeBaseline(
  baseline: SandboxOutcome,
  spec: Pick<HyperAgentSpec, 'objectives'> = { objectives: [] },
): BaselineVerdict {
  const unusable = (why: string): BaselineVerdict => ({
    usable: false,
    reason: `${BASELINE_UNUSABLE}: ${why}`,
  });
  if (isPodFailure(baseline)) return unusable(baseline.failure);
  const refusal = notEvaluated(baseline);
  if (refusal) return unusable(refusal.message);
  const incomplete = incompleteCommands(baseline);
  if (incomplete) return unusable(incomplete);
  const tests = testsPass(baseline);
  if (!tests.ok) return unusable(`its tests do not pass: ${tests.message}`);
  const missing = benchmarkObjectives(spec.objectives)
    .map((objective) => objective.benchmark)
    .filter((key) => figures(baseline, key) === undefined);
  if (missing.length > 0) return unusable(`no benchmark figures for ${[...new Set(missing)].join(', ')}`);
  return { usable: true };
}

/** The verdict of one candidate against the baseline of its cycle. */
export function judgeCandidate(input: JudgeInput): CandidateVerdict {
  return judgeAgainst(input, judgeBaseline(input.baseline, input.spec));
}

/** Verdicts of every candidate of a cycle, by candidate id; the baseline is judged once. */
export function judgeCycle(input: CycleJudgeInput): Map<string, CandidateVerdict> {
  const baseline = input.baseline ?? { failure: 'no result for it' };
  const baselineVerdict = judgeBaseline(baseline, input.spec);
  const verdicts = new Map<string, CandidateVerdict>();
  for (const [id, candidate] of input.candidates) {
    verdicts.set(
      id,
      judgeAgainst(
        {
          spec: input.spec,
          baseline,
          candidate,
          memoryLimitBytes: input.memoryLimitBytes,
          ...(input.remedy ? { remedy: true } : {}),
        },
        baselineVerdict,
      ),
    );
  }
  return verdicts;
}

function judgeAgainst(input: JudgeInput, baselineVerdict: BaselineVerdict): CandidateVerdict {
  const { spec, candidate } = input;
  if (isPodFailure(candidate)) {
    return verdictOf(
      [
        skipped('Isolation', 'not established: the runner gave no result'),
        failed('Evaluation', candidate.failure),
      ],
      'not judged: the evaluation did not complete',
    );
  }
  const refusal = notEvaluated(candidate);
  if (refusal) {
    const skipReason =
      refusal.name === 'Isolation'
        ? 'not judged: the sandbox was not isolated'
        : 'not judged: the evaluation did not complete';
    const early: InvariantCheck[] =
      refusal.name === 'Isolation'
        ? [refusal]
        : [skipped('Isolation', `not established: the runner stopped with ${candidate.outcome}`), refusal];
    return verdictOf(early, skipReason);
  }
  const isolation = passed('Isolation', `no probe got through (proof took ${candidate.isolationMs} ms)`);
  const incomplete = incompleteCommands(candidate);
  if (incomplete)
    return verdictOf([isolation, failed('Evaluation', incomplete)], 'not judged: a command did not complete');
  if (!baselineVerdict.usable || isPodFailure(input.baseline)) {
    const reason = baselineVerdict.reason ?? `${BASELINE_UNUSABLE}: no result for it`;
    return verdictOf([isolation, failed('Evaluation', reason)], 'not judged: no usable baseline');
  }
  const baseline = input.baseline;
  const required = new Set<Invariant>(spec.verification.invariants);
  const goal = judgeGoal(spec.objectives, baseline, candidate, input.remedy === true);
  const checks = [
    isolation,
    passed('Evaluation', completedMessage(candidate)),
    testsPassCheck(candidate),
    required.has('TestCountStable')
      ? testCountStable(baseline, candidate)
      : skipped('TestCountStable', 'not required by the agent'),
    required.has('InterfaceStable')
      ? interfaceStable(candidate)
      : skipped('InterfaceStable', 'not required by the agent: it allows interface changes'),
    required.has('GoalImproved')
      ? goal.check
      : skipped('GoalImproved', `not required by the agent${goal.figures ? ` (${goal.figures})` : ''}`),
    required.has('ResourcesWithinBounds')
      ? resourcesWithinBounds(baseline, candidate, input.memoryLimitBytes)
      : skipped('ResourcesWithinBounds', 'not required by the agent'),
    required.has('BehaviourPreserved')
      ? behaviourPreserved(candidate)
      : skipped('BehaviourPreserved', 'not required by the agent'),
  ];
  const verdict = verdictOf(checks, '', goal.score);
  if (goal.goal) verdict.goal = goal.goal;
  return verdict;
}

/**
 * The judge sent the same requests to the unchanged service and to the candidate's and compared
 * the answers: any difference fails, with the first one shown. Without a workload nothing was
 * compared (Skipped): the agent then has only its tests.
 */
function behaviourPreserved(candidate: SandboxResult): InvariantCheck {
  const measured = candidate.workload;
  if (!measured) return skipped('BehaviourPreserved', 'no workload declared: answers were not compared');
  const behaviour = measured.behaviour;
  if (!behaviour || behaviour.compared === 0) {
    return failed(
      'BehaviourPreserved',
      `answers not compared${measured.problem ? `: ${measured.problem}` : ''}`,
    );
  }
  if (behaviour.differing === 0) {
    return passed(
      'BehaviourPreserved',
      `${behaviour.compared} requests answered as the unchanged service answers them`,
    );
  }
  const first = behaviour.first;
  const shown = first
    ? `; first ${first.request}: unchanged service ${first.baseline}, candidate ${first.candidate}`
    : '';
  return failed(
    'BehaviourPreserved',
    `${behaviour.differing} of ${behaviour.compared} requests answered differently${shown}`,
  );
}

/** Completes `early` checks with Skipped ones in CHECK_ORDER and derives the rest of the verdict. */
function verdictOf(early: InvariantCheck[], skipReason: string, score?: number): CandidateVerdict {
  const checks = CHECK_ORDER.map(
    (name) => early.find((check) => check.name === name) ?? skipped(name, skipReason),
  );
  const failures = checks.filter((check) => check.status === 'Failed');
  const verdict: CandidateVerdict = {
    passed: failures.length === 0,
    checks,
    reasons: failures.map((check) => `${check.name}: ${check.message}`),
  };
  if (score !== undefined) verdict.score = score;
  return verdict;
}

// ---------------------------------------------------------------------------------------------
// Outcome and commands
// ---------------------------------------------------------------------------------------------

function isPodFailure(outcome: SandboxOutcome): outcome is PodFailure {
  return 'failure' in outcome;
}

/** The failed check of a result the runner did not evaluate, or that reports a breach anyway. */
function notEvaluated(result: SandboxResult): InvariantCheck | undefined {
  if (result.outcome === 'isolation-breached' || result.breached.length > 0) {
    const reached = result.breached.length > 0 ? result.breached.join(', ') : 'an address it must not reach';
    // A target the operator could not resolve was not reached: its isolation is only unproven.
    const unproven = result.message?.startsWith('isolation cannot be proven') ? result.message : undefined;
    return failed(
      'Isolation',
      `${unproven ?? `the sandbox could reach ${reached}`}: evaluation refused (fail closed)`,
    );
  }
  if (result.outcome !== 'evaluated') {
    return failed('Evaluation', `${result.outcome}: ${result.message ?? 'the runner gave no message'}`);
  }
  return undefined;
}

/**
 * Why the commands' figures cannot be trusted: a command that timed out, was killed or has no exit
 * code, or a benchmark that failed (its figures may be partial). Test and typecheck exit codes are
 * TestsPass's to judge.
 */
function incompleteCommands(result: SandboxResult): string | undefined {
  const problems = result.commands.flatMap((command): string[] => {
    if (command.processLimit) {
      return [
        `${command.name} ran more than ${command.processLimit} processes at once (a fork bomb?): the executor killed them all`,
      ];
    }
    if (command.timedOut) return [`${command.name} timed out after ${seconds(command.durationMs)}`];
    if (command.signal !== undefined) return [`${command.name} was killed by ${command.signal}`];
    if (command.exitCode === null) return [`${command.name} ended without an exit code`];
    // A process that outlives its command could tamper with what is measured after it; the
    // executor killed it, and a candidate that tries is not trusted with the rest.
    if (command.lingering) {
      return [
        `${command.name} left ${command.lingering} process(es) running after it ended (the executor killed them)`,
      ];
    }
    if (command.name === 'benchmark' && command.exitCode !== 0) {
      return [`benchmark exited with ${command.exitCode}`];
    }
    return [];
  });
  return problems.length > 0 ? problems.join('; ') : undefined;
}

function completedMessage(result: SandboxResult): string {
  if (result.commands.length === 0) return 'no command ran';
  const names = result.commands.map((command) => command.name).join(', ');
  return `${names} completed in ${seconds(result.commandMs)}`;
}

function commandsNamed(result: SandboxResult, name: CommandReport['name']): CommandReport[] {
  return result.commands.filter((command) => command.name === name);
}

// ---------------------------------------------------------------------------------------------
// Tests and interface
// ---------------------------------------------------------------------------------------------

function testsPass(result: SandboxResult): { ok: boolean; message: string } {
  const problems: string[] = [];
  const notes: string[] = [];
  // Every command of a name is judged, not the first: a repeated one must not hide a failure.
  const typechecks = commandsNamed(result, 'typecheck');
  const failedTypecheck = typechecks.find((command) => command.exitCode !== 0);
  if (failedTypecheck) problems.push(`typecheck failed (${exitText(failedTypecheck)})`);
  else if (typechecks.length > 0) notes.push('typecheck passed');
  const tests = commandsNamed(result, 'test');
  const failedTest = tests.find((command) => command.exitCode !== 0);
  const counts = readableCounts(result);
  if (tests.length === 0) {
    problems.push('no test command ran');
  } else if (counts && counts.failed > 0) {
    problems.push(`${counts.failed} of ${counts.passed + counts.failed} tests failed${skippedText(counts)}`);
  } else if (failedTest) {
    const counted = counts ? ` (${counts.passed} passed, none counted failed)` : '';
    problems.push(`the test command failed (${exitText(failedTest)})${counted}`);
  } else {
    notes.unshift(
      counts
        ? `${counts.passed} tests passed${skippedText(counts)}`
        : 'the test command exited with 0 (no test counts read)',
    );
  }
  return problems.length > 0
    ? { ok: false, message: problems.join('; ') }
    : { ok: true, message: notes.join('; ') };
}

function testsPassCheck(result: SandboxResult): InvariantCheck {
  const outcome = testsPass(result);
  return outcome.ok ? passed('TestsPass', outcome.message) : failed('TestsPass', outcome.message);
}

/** Test counts when a known reporter produced them; `none` counts nothing. */
function readableCounts(result: SandboxResult): SandboxResult['tests'] {
  return result.tests && result.tests.format !== 'none' ? result.tests : undefined;
}

function testCountStable(baseline: SandboxResult, candidate: SandboxResult): InvariantCheck {
  const before = readableCounts(baseline);
  const after = readableCounts(candidate);
  if (!before || !after) {
    const side = !before && !after ? 'both sides' : !before ? 'the baseline' : 'the candidate';
    return failed(
      'TestCountStable',
      `test counts unreadable on ${side}: use a TAP, JUnit or node test reporter`,
    );
  }
  const figures = `${after.passed} tests passed, baseline ${before.passed}`;
  return after.passed >= before.passed
    ? passed('TestCountStable', figures)
    : failed('TestCountStable', `${figures}: ${before.passed - after.passed} fewer`);
}

function interfaceStable(candidate: SandboxResult): InvariantCheck {
  const compared = candidate.interface;
  if (!compared) return failed('InterfaceStable', 'no interface comparison from the candidate');
  const what = compared.source === 'openapi' ? 'OpenAPI operations' : 'exported declarations';
  if (compared.before.sha256 === compared.after.sha256) {
    if (compared.source === 'exports' && compared.files === 0)
      return passed('InterfaceStable', 'no script file changed, so no export did');
    const files = compared.source === 'openapi' ? 'interface file(s)' : 'changed file(s)';
    return passed(
      'InterfaceStable',
      `${compared.after.items} ${what} in ${compared.files} ${files} unchanged`,
    );
  }
  const listed = [
    compared.removed.length > 0 ? `removed ${compared.removed.join(', ')}` : '',
    compared.added.length > 0 ? `added ${compared.added.join(', ')}` : '',
    compared.more > 0 ? `${compared.more} more` : '',
  ].filter((part) => part !== '');
  return failed(
    'InterfaceStable',
    `${what} changed (${compared.before.items} → ${compared.after.items}): ${listed.join('; ')}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Goal
// ---------------------------------------------------------------------------------------------

/** An objective the sandbox measures: a benchmark key (self-reported) or a workload figure (the judge's). */
type SandboxObjective = Objective & { benchmark: string } & { source: 'benchmark' | 'workload' };

function sandboxObjectives(objectives: readonly Objective[]): SandboxObjective[] {
  return objectives.flatMap((objective): SandboxObjective[] => {
    if (objective.workload !== undefined)
      return [{ ...objective, benchmark: objective.workload, source: 'workload' }];
    if (objective.benchmark !== undefined)
      return [{ ...objective, benchmark: objective.benchmark, source: 'benchmark' }];
    return [];
  });
}

/** The objective the score is of: the first the sandbox measures (a workload or benchmark figure). */
export function primaryObjective(objectives: readonly Objective[]): Objective | undefined {
  return objectives.find(
    (objective) => objective.workload !== undefined || objective.benchmark !== undefined,
  );
}

/** Objectives whose figures the benchmark command reports (self-reported). */
function benchmarkObjectives(objectives: readonly Objective[]): SandboxObjective[] {
  return sandboxObjectives(objectives).filter((objective) => objective.source === 'benchmark');
}

/** A key's runs, when there is at least one and every one is a finite number. */
function figures(result: SandboxResult, key: string): readonly number[] | undefined {
  return finiteRuns(result.benchmark?.[key]);
}

function finiteRuns(runs: readonly number[] | undefined): readonly number[] | undefined {
  return runs && runs.length > 0 && runs.every(Number.isFinite) ? runs : undefined;
}

/** The runs of one side of an objective: the benchmark's, or the judge's own for that side. */
function sideFigures(
  objective: SandboxObjective,
  baseline: SandboxResult,
  candidate: SandboxResult,
  side: 'baseline' | 'candidate',
): readonly number[] | undefined {
  if (objective.source === 'benchmark')
    return figures(side === 'baseline' ? baseline : candidate, objective.benchmark);
  // Both sides measured in the candidate's own pod, by the judge, one after the other.
  return finiteRuns(candidate.workload?.[side]?.[objective.benchmark]);
}

interface Comparison {
  key: string;
  /** Who measured it: the judge (workload) or the candidate's own benchmark command. */
  source: 'benchmark' | 'workload';
  baselineRuns: readonly number[];
  candidateRuns: readonly number[];
  baselineMedian: number;
  candidateMedian: number;
  /** Percent of the baseline median, positive = better in the objective's direction. */
  change: number;
  noise: PooledNoise;
}

function compare(
  objective: SandboxObjective,
  baseline: SandboxResult,
  candidate: SandboxResult,
): Comparison | string {
  const key = objective.benchmark;
  const baselineRuns = sideFigures(objective, baseline, candidate, 'baseline');
  const candidateRuns = sideFigures(objective, baseline, candidate, 'candidate');
  if (!baselineRuns || !candidateRuns) {
    const side =
      !baselineRuns && !candidateRuns ? 'either side' : !baselineRuns ? 'the baseline' : 'the candidate';
    const why =
      objective.source === 'workload' && candidate.workload?.problem ? `: ${candidate.workload.problem}` : '';
    return `no ${objective.source === 'workload' ? 'judge-measured ' : ''}figures for ${key} from ${side}${why}`;
  }
  const baselineMedian = median(baselineRuns);
  const candidateMedian = median(candidateRuns);
  const sign = objective.direction === 'Maximize' ? 1 : -1;
  const delta = sign * (candidateMedian - baselineMedian);
  // From a baseline of 0 a relative change is infinite in whichever way it goes.
  const change =
    baselineMedian !== 0
      ? (delta / Math.abs(baselineMedian)) * 100
      : delta === 0
        ? 0
        : Math.sign(delta) * Number.POSITIVE_INFINITY;
  return {
    key,
    source: objective.source,
    baselineRuns,
    candidateRuns,
    baselineMedian,
    candidateMedian,
    change,
    noise: pooledNoise(baselineRuns, candidateRuns),
  };
}

function describeComparison(comparison: Comparison): string {
  const { key, baselineRuns, candidateRuns, change, noise } = comparison;
  const runs =
    baselineRuns.length === candidateRuns.length
      ? `median of ${plural(baselineRuns.length, 'run')}`
      : `medians of ${baselineRuns.length} and ${plural(candidateRuns.length, 'run')}`;
  const direction =
    change === 0
      ? 'no change'
      : !Number.isFinite(change)
        ? `${change > 0 ? 'better' : 'worse'} from a baseline of 0`
        : `${percent(Math.abs(change))} ${change > 0 ? 'better' : 'worse'}`;
  const floor = noise.floor ? ` (${noise.floor})` : '';
  const who = comparison.source === 'workload' ? 'measured by the judge' : 'self-reported by the benchmark';
  return (
    `${key} ${figure(comparison.baselineMedian)} → ${figure(comparison.candidateMedian)} ${runs}, ${who}: ` +
    `${direction}, noise ±${percent(noise.percent)}${floor}`
  );
}

/**
 * The judge's error rates, whatever the objective: a candidate that fails more of the workload's
 * requests than the unchanged service did (it sheds its slow requests, or crashes under load) has
 * not improved, however fast its other answers were. Medians of the runs, with ERROR_RATE_SLACK
 * of room for one request lost to a busy node.
 */
function moreErrors(candidate: SandboxResult): string | undefined {
  const before = finiteRuns(candidate.workload?.baseline?.error_rate);
  const after = finiteRuns(candidate.workload?.candidate?.error_rate);
  if (!before || !after) return undefined;
  const [was, is] = [median(before), median(after)];
  if (is <= was + ERROR_RATE_SLACK) return undefined;
  return `the candidate failed ${percent(is * 100)} of the judge's requests (median of ${plural(after.length, 'run')}), the unchanged service ${percent(was * 100)}`;
}

/**
 * Whether every candidate run is better than every baseline run (at least MIN_NOISE_RUNS on each
 * side): a rank test that one slow run cannot fool the way it inflates a spread. With three runs a
 * side, chance alone separates them one time in twenty; with five, one in 252.
 */
function separated(comparison: Comparison, direction: Objective['direction']): boolean {
  const { baselineRuns, candidateRuns } = comparison;
  if (baselineRuns.length < MIN_NOISE_RUNS || candidateRuns.length < MIN_NOISE_RUNS) return false;
  return direction === 'Maximize'
    ? Math.min(...candidateRuns) > Math.max(...baselineRuns)
    : Math.max(...candidateRuns) < Math.min(...baselineRuns);
}

interface GoalJudgement {
  check: InvariantCheck;
  /** The primary objective's medians and who measured them, when both sides had figures. */
  goal?: CandidateVerdict['goal'];
  /** The primary objective's figures, when both sides had them. */
  figures?: string;
  score?: number;
}

function judgeGoal(
  objectives: readonly Objective[],
  baseline: SandboxResult,
  candidate: SandboxResult,
  remedy = false,
): GoalJudgement {
  const [primary, ...others] = sandboxObjectives(objectives);
  if (!primary)
    return {
      check: skipped('GoalImproved', 'no benchmark or workload objective: the canary judges the goal'),
    };
  const problems: string[] = [];
  const notes: string[] = [];
  let figuresText: string | undefined;
  let score: number | undefined;

  const main = compare(primary, baseline, candidate);
  if (typeof main === 'string') {
    problems.push(main);
  } else if (main.baselineMedian === 0) {
    figuresText = describeComparison(main);
    problems.push(`${figuresText}: a relative improvement cannot be measured from a baseline median of 0`);
  } else {
    figuresText = describeComparison(main);
    score = roundScore(main.change);
    const needed = SIGNIFICANCE * main.noise.percent;
    const apart = separated(main, primary.direction);
    const allowed = primary.maxRegressionPercent + needed;
    if (remedy) {
      // a remedy need not be faster, only no slower: production's canary judges the incident
      if (-main.change > allowed) {
        problems.push(
          `${figuresText}: a remedy may not be worse by more than ${percent(primary.maxRegressionPercent)} + ${SIGNIFICANCE} × noise`,
        );
      } else
        notes.push(
          `${figuresText}; a remedy: no worse than the unchanged service, the canary judges the incident`,
        );
    } else if (main.change > needed) notes.push(figuresText);
    else if (apart && main.change > SIGNIFICANCE * NOISE_FLOOR_PERCENT) {
      notes.push(`${figuresText}; every candidate run beat every baseline run`);
    } else problems.push(`${figuresText}: needs more than ${percent(needed)} better`);
  }

  if (primary.source === 'workload') {
    const errors = moreErrors(candidate);
    if (errors) problems.push(errors);
  }

  let within = 0;
  for (const objective of others) {
    const other = compare(objective, baseline, candidate);
    if (typeof other === 'string') {
      problems.push(other);
      continue;
    }
    const allowed = objective.maxRegressionPercent + SIGNIFICANCE * other.noise.percent;
    if (-other.change > allowed) {
      problems.push(
        `${describeComparison(other)}: more than the allowed ${percent(objective.maxRegressionPercent)} ` +
          `+ ${SIGNIFICANCE} × noise`,
      );
    } else {
      within += 1;
    }
  }
  if (within > 0) notes.push(`${plural(within, 'other objective')} within their regression bounds`);

  const check =
    problems.length > 0
      ? failed('GoalImproved', problems.join('; '))
      : passed('GoalImproved', notes.join('; '));
  const judgement: GoalJudgement = { check };
  if (typeof main !== 'string') {
    judgement.goal = {
      key: main.key,
      baseline: main.baselineMedian,
      candidate: main.candidateMedian,
      measuredBy: primary.source === 'workload' ? 'Judge' : 'SelfReported',
    };
  }
  if (figuresText !== undefined) judgement.figures = figuresText;
  if (score !== undefined) judgement.score = score;
  return judgement;
}

// ---------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------

function resourcesWithinBounds(
  baseline: SandboxResult,
  candidate: SandboxResult,
  memoryLimitBytes: number,
): InvariantCheck {
  const peak = candidate.peakMemoryBytes;
  if ((candidate.oomKills ?? 0) > 0) {
    return failed(
      'ResourcesWithinBounds',
      `ran out of memory: the OOM killer stopped ${candidate.oomKills} process(es) at the sandbox memory limit of ${mib(memoryLimitBytes)}${peak !== undefined ? ` (peak ${mib(peak)})` : ''}`,
    );
  }
  if (peak === undefined) {
    return skipped('ResourcesWithinBounds', 'peak memory unknown: the cgroup was unreadable');
  }
  if (!Number.isFinite(memoryLimitBytes) || memoryLimitBytes <= 0) {
    return failed('ResourcesWithinBounds', `peak ${mib(peak)}, but the pod's memory limit is unknown`);
  }
  const limitBound = MEMORY_LIMIT_SHARE * memoryLimitBytes;
  const parts = [`peak ${mib(peak)}`];
  const problems: string[] = [];
  const limitText = `${Math.round(MEMORY_LIMIT_SHARE * 100)}% of the ${mib(memoryLimitBytes)} limit is ${mib(limitBound)}`;
  if (peak > limitBound) problems.push(`above ${limitText}`);
  else parts.push(`within ${limitText}`);
  const before = baseline.peakMemoryBytes;
  if (before !== undefined) {
    const growthBound = Math.max(MEMORY_GROWTH_FACTOR * before, before + MEMORY_GROWTH_SLACK_BYTES);
    const growthText = `the baseline's ${mib(before)} allows ${mib(growthBound)}`;
    if (peak > growthBound) problems.push(`above what ${growthText}`);
    else parts.push(`within what ${growthText}`);
  } else {
    parts.push("the baseline's peak is unknown");
  }
  return problems.length > 0
    ? failed('ResourcesWithinBounds', `peak ${mib(peak)}: ${problems.join('; ')}`)
    : passed('ResourcesWithinBounds', parts.join('; '));
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

function passed(name: CheckName, message: string): InvariantCheck {
  return { name, status: 'Passed', message };
}

function failed(name: CheckName, message: string): InvariantCheck {
  return { name, status: 'Failed', message };
}

function skipped(name: CheckName, message: string): InvariantCheck {
  return { name, status: 'Skipped', message };
}

function exitText(command: CommandReport): string {
  return command.exitCode === null ? 'no exit code' : `exit ${command.exitCode}`;
}

function skippedText(counts: { skipped: number }): string {
  return counts.skipped > 0 ? `, ${counts.skipped} skipped` : '';
}

function seconds(ms: number): string {
  return ms >= 10_000 || ms % 1000 === 0 ? `${Math.round(ms / 1000)}s` : `${(ms / 1000).toFixed(1)}s`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function percent(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(1)}%` : '∞%';
}

/** Three significant digits; whole numbers from 1000 on, so large figures are not in e-notation. */
function figure(value: number): string {
  return Math.abs(value) >= 1000 ? Math.round(value).toString() : value.toPrecision(3);
}

function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`;
}

function roundScore(change: number): number {
  const rounded = Math.round(change * 100) / 100;
  return rounded === 0 ? 0 : rounded;
}
