// The pure state machine of one canary:
//
//   Initializing → Progressing(step 1, weight w1) → … → Progressing(step n, wn) → Promoting → Promoted
//   Progressing ⇄ Paused (a user's pause or resume; onNoData / onProviderError: Pause;
//                         a rollback decision while rollback.automatic is false;
//                         all steps passed with no metrics to judge them)
//   any phase before Promoting → RollingBack → RolledBack (analysis, policy, a user's abort)
//
// step() takes the persisted state (CanaryStatus), what the reconciler observed (the weight the
// traffic router has in place, a round of measurements, user requests, whether promotion and
// removal are done) and `now`, and returns the next state, the actions to carry out and when to
// look again. It does no I/O and reads no clock.
//
// Measuring: a `measure` action carries the rendered queries of a round that is due. Run them and
// call step() again, from the same state, with `observations.measurements` (requeueAfterMs is 0
// until then); a round taken before it is due, or seen twice, is ignored. A round is due one
// analysis interval after the step's weight was in place, then every interval; a step passes only
// on the rules of analysis.decide() and never on data older than one interval.
//
// Pauses hold the weight and stop the step's clock (the rest of the step's pause is served after
// the resume); measurements go on, and a rollback decision still rolls back while paused. A resume
// restarts the no-data and error counters (and the failure counter, when failures caused the
// pause). Pause and resume are refused once promotion or rollback is under way.
//
// No metrics: the steps advance on time, as in Flagger, but nothing has judged the canary, so it
// is never promoted silently: a Warning event says so at the start, every step says "passed on
// time only", and after the last step the canary pauses (cause NoAnalysis) until a user resumes
// (promote) or aborts (roll back).
//
// Outcomes are clean: Promoted or RolledBack with weight 0, no pause, and the decision with its
// reason and figures. RolledBack is the end of a canary, not a health state of the agent.
//
// Restart safety: everything step() needs is in the state. Persist the returned state first, then
// carry out the actions in order. Actions that converge the world (setWeight, promote,
// removeCanary, measure) are repeated on later visits until observations show them done, so one
// lost to a crash is made good; events are emitted once, with the transition that caused them, and
// a replayed visit (same state, same observations) changes nothing and emits no event. A user
// request carries a token; the tokens already acted on are kept in the state.
import type { CanaryMeasurementRecord, CanaryStatus, HyperAgentSpec } from '../api/schema.js';
import { parseDuration } from '../util/duration.js';
import {
  countJudgement,
  countsForNewStep,
  decide,
  describeThreshold,
  emptyCounts,
  judgeMeasurement,
  type DecisionCause,
  type Judgement,
} from './analysis.js';
import type { Measurement } from './metric-provider.js';
import { parseCounterSelector } from './exposition.js';
import type { RatioCounts } from './sequential-ratio.js';
import {
  asFailureRatio,
  failureRatioMetrics,
  judgeFailureRatioBetweenRounds,
  judgeFailureRatioRound,
  readingOf,
  countsSince,
  type CountsObservation,
  type FailureRatioMetric,
} from './failure-ratio.js';
import { asTemplated, renderCountQueries, renderMetricQueries, type QueryValues } from './query-template.js';

export type CanaryState = CanaryStatus;
export type CanaryPauseCause = NonNullable<CanaryState['pause']>['cause'];

export interface CanarySpec {
  /** Steps, analysis and rollback policy (the cycle's frozen copy of spec.rollout). */
  rollout: HyperAgentSpec['rollout'];
  /** The label values the analysis queries are rendered with. */
  target: QueryValues;
  /** How long the router may take to put a step's weight in place; WEIGHT_DEADLINE_MS when unset. */
  weightDeadlineMs?: number;
}

/** A step's weight not in place after this long means the canary cannot serve (pods not ready, say). */
export const WEIGHT_DEADLINE_MS = 10 * 60_000;
/** How soon to look again while waiting for the router, a promotion or a removal. */
export const ROUTER_POLL_MS = 2_000;
/**
 * How soon to look again while a promotion or a rollback is carried out: a stable rollout, a route
 * put back and a canary removed take seconds, and each is worth hearing of soon.
 */
export const FINISHING_POLL_MS = 500;
/** How soon to look again while paused with nothing to measure (requests also arrive by watch). */
export const PAUSED_POLL_MS = 60_000;
/** How often failureRatio counters are read when analysis.counters.interval is unset. */
export const DEFAULT_COUNTERS_INTERVAL = '1s';
/** Measurements kept in the state, newest last. */
export const MAX_RECORDED_MEASUREMENTS = 32;

export interface UserRequest {
  action: 'pause' | 'resume' | 'abort';
  /** Identifies the request (the CLI writes an RFC 3339 time); a token is acted on once. */
  token: string;
}

export interface MetricObservation {
  metric: string;
  /** The query's value on the canary (a query metric). */
  canary?: Measurement;
  /** The same query on the stable version, for maxRatioToStable metrics. */
  stable?: Measurement;
  /** Both counters of a failureRatio metric. */
  counts?: CountsObservation;
}

export interface CanaryObservations {
  /** The canary weight the traffic router has in place and ready; undefined when unknown. */
  routedWeight?: number;
  /** One round of measurements, answering a `measure` action (countsOnly as the action said). */
  measurements?: { takenAt: Date; results: MetricObservation[]; countsOnly?: boolean };
  /** Pause, resume and abort requests currently present (for example as annotations). */
  requests?: UserRequest[];
  /** The stable Deployment runs the canary's revision and has rolled out. */
  promoted?: boolean;
  /** The canary Deployment is gone. */
  canaryRemoved?: boolean;
}

export type MeasureQuery =
  | { metric: string; canary: string; stable?: string }
  | { metric: string; counts: { failed: string; total: string } };

export type CanaryAction =
  | { type: 'setWeight'; weight: number }
  /** A round of every metric, or (countsOnly) a reading of the failureRatio counters between rounds. */
  | { type: 'measure'; queries: MeasureQuery[]; countsOnly?: boolean }
  | { type: 'promote' }
  | { type: 'removeCanary' }
  | { type: 'event'; severity: 'Normal' | 'Warning'; reason: string; message: string };

export interface CanaryStepResult {
  state: CanaryState;
  /** To carry out in order, after the state is persisted. */
  actions: CanaryAction[];
  /** Look again after this many ms (0: at once, with the measurements asked for); undefined when over. */
  requeueAfterMs?: number;
}

const TERMINAL: readonly CanaryState['phase'][] = ['Promoted', 'RolledBack'];

/** True when the canary has its outcome: Promoted or RolledBack, nothing more happens. */
export function isCanaryTerminal(phase: CanaryState['phase']): boolean {
  return TERMINAL.includes(phase);
}

/** The state a canary starts from, before its first step. */
export function initialCanaryState(now: Date): CanaryState {
  return {
    phase: 'Initializing',
    reason: 'Initializing',
    message: 'Starting the canary',
    startTime: now.toISOString(),
    phaseStartTime: now.toISOString(),
    stepIndex: 0,
    weight: 0,
    counts: [],
    measurements: [],
    handledRequests: {},
  };
}

/** Decides the next state of a canary from its persisted state, what was observed and the time. */
export function step(
  spec: CanarySpec,
  state: CanaryState | undefined,
  observations: CanaryObservations,
  now: Date,
): CanaryStepResult {
  const current = state ?? initialCanaryState(now);
  if (isCanaryTerminal(current.phase)) return { state: current, actions: [] };
  const visit = new Visit(spec, observations, now);
  const outcome =
    current.phase === 'Initializing'
      ? initialize(visit, current)
      : proceed(visit, handleRequests(visit, current));
  return { state: outcome.state, actions: visit.actions, requeueAfterMs: outcome.requeueAfterMs };
}

/** The latest successful value of each metric: the figures a promoted revision is recorded with. */
export function promotedMetrics(state: CanaryState): Record<string, number> {
  const figures: Record<string, number> = {};
  for (const record of state.measurements) {
    if (record.result === 'Successful' && record.value !== undefined) figures[record.metric] = record.value;
  }
  return figures;
}

// ---------------------------------------------------------------------------------------------

interface Outcome {
  state: CanaryState;
  requeueAfterMs?: number;
}

/** Everything one call of step() sees, and the actions it collects. */
class Visit {
  readonly actions: CanaryAction[] = [];
  readonly iso: string;
  readonly ms: number;
  constructor(
    readonly spec: CanarySpec,
    readonly observed: CanaryObservations,
    readonly now: Date,
  ) {
    this.iso = now.toISOString();
    this.ms = now.getTime();
  }
  get steps() {
    return this.spec.rollout.steps;
  }
  get analysis() {
    return this.spec.rollout.analysis;
  }
  event(severity: 'Normal' | 'Warning', reason: string, message: string): void {
    this.actions.push({ type: 'event', severity, reason, message: clip(message, 1024) });
  }
  act(action: Exclude<CanaryAction, { type: 'event' }>): void {
    this.actions.push(action);
  }
  /** Converges the router on `weight` unless it reports that weight already. */
  holdWeight(weight: number): void {
    if (this.observed.routedWeight !== weight) this.act({ type: 'setWeight', weight });
  }
}

function proceed(visit: Visit, state: CanaryState): Outcome {
  switch (state.phase) {
    case 'Progressing':
      return progressing(visit, state);
    case 'Paused':
      return paused(visit, state);
    case 'Promoting':
      return promoting(visit, state);
    case 'RollingBack':
      return rollingBack(visit, state);
    default:
      return { state };
  }
}

function initialize(visit: Visit, state: CanaryState): Outcome {
  // requests already present belong to an earlier canary: they are seen, not acted on
  const handled: CanaryState = { ...state, handledRequests: latestTokens(visit.observed.requests) };
  const problems: string[] = [];
  if (visit.steps.length === 0) problems.push('no canary steps are configured');
  for (const metric of visit.analysis.metrics) {
    try {
      const query = metricQuery(metric, visit.spec.target);
      // counters read from an endpoint are summed by selector, not by PromQL
      if ('counts' in query && visit.analysis.counters?.url) {
        parseCounterSelector(query.counts.failed);
        parseCounterSelector(query.counts.total);
      }
    } catch (error) {
      problems.push(
        `metric ${metric.name}: ${(error as Error).message.replace(`metric ${metric.name}: `, '')}`,
      );
    }
  }
  if (problems.length > 0) {
    return proceed(
      visit,
      toRollingBack(visit, handled, 'InvalidAnalysis', `the analysis cannot run: ${problems.join('; ')}`),
    );
  }
  const first = visit.steps[0] as (typeof visit.steps)[number];
  const metrics = visit.analysis.metrics;
  const started: CanaryState = {
    ...handled,
    phase: 'Progressing',
    reason: 'Progressing',
    phaseStartTime: visit.iso,
    stepIndex: 0,
    weight: first.weight,
    stepStartTime: visit.iso,
    counts: metrics.map((metric) => emptyCounts(metric.name)),
  };
  const plan = visit.steps.map((s) => `${s.weight}% for ${s.pause}`).join(', ');
  const judged =
    metrics.length > 0
      ? `${metrics.length} ${metrics.length === 1 ? 'metric' : 'metrics'} (${metrics.map((m) => m.name).join(', ')}) measured every ${visit.analysis.interval}`
      : 'no analysis metrics';
  visit.event('Normal', 'CanaryStarted', `Canary started: ${plan}, then promotion; ${judged}`);
  if (metrics.length === 0) {
    visit.event(
      'Warning',
      'NoAnalysisMetrics',
      'No analysis metrics are configured: the canary advances on time only and waits for `kubectl hyperagent resume` before promotion',
    );
  }
  return progressing(visit, started);
}

// ---------------------------------------------------------------------------------------------
// User requests

function latestTokens(requests: readonly UserRequest[] | undefined): CanaryState['handledRequests'] {
  const latest: CanaryState['handledRequests'] = {};
  for (const request of requests ?? []) {
    const known = latest[request.action];
    if (known === undefined || request.token > known) latest[request.action] = request.token;
  }
  return latest;
}

function handleRequests(visit: Visit, state: CanaryState): CanaryState {
  const latest = latestTokens(visit.observed.requests);
  const fresh = (action: UserRequest['action']) => {
    const token = latest[action];
    return token !== undefined && token !== state.handledRequests[action] ? token : undefined;
  };
  const abort = fresh('abort');
  const pause = fresh('pause');
  const resume = fresh('resume');
  if (abort === undefined && pause === undefined && resume === undefined) return state;
  const seen: CanaryState = { ...state, handledRequests: { ...state.handledRequests, ...latest } };
  const late = state.phase === 'Promoting' || state.phase === 'RollingBack';

  if (abort !== undefined) {
    if (late) {
      visit.event('Warning', 'AbortIgnored', `Abort ignored: the canary is already ${state.phase}`);
      return seen;
    }
    return toRollingBack(visit, seen, 'AbortedByUser', 'a user aborted the canary');
  }
  // of a pause and a resume both new, the later one counts
  const wantsPause = pause !== undefined && (resume === undefined || pause > resume);
  if (wantsPause) {
    if (state.phase === 'Progressing') {
      return toPaused(
        visit,
        seen,
        'User',
        `paused by a user at ${state.weight}% of traffic; \`kubectl hyperagent resume\` continues, \`abort\` rolls back`,
      );
    }
    if (late) visit.event('Normal', 'PauseIgnored', `Pause ignored: the canary is already ${state.phase}`);
    return seen;
  }
  if (state.phase === 'Paused') return resumed(visit, seen);
  return seen;
}

function resumed(visit: Visit, state: CanaryState): CanaryState {
  const cause = state.pause?.cause ?? 'User';
  const { pause, ...rest } = state;
  if (cause === 'NoAnalysis') {
    return toPromoting(
      visit,
      rest,
      'PromotedByUser',
      'a user resumed the canary after every step passed on time; no analysis metrics judged it',
    );
  }
  const pausedMs = pause ? visit.ms - Date.parse(pause.since) : 0;
  const next: CanaryState = {
    ...rest,
    phase: 'Progressing',
    reason: 'Resumed',
    phaseStartTime: visit.iso,
    // the data-quality counters start again; failures are forgiven only when they caused the pause
    counts: state.counts.map((c) => ({
      ...c,
      inconclusive: 0,
      consecutiveErrors: 0,
      failed: cause === 'AnalysisFailed' ? 0 : c.failed,
    })),
  };
  if (next.weightReachedTime) {
    // the step's clock stood still while paused
    next.weightReachedTime = new Date(Date.parse(next.weightReachedTime) + pausedMs).toISOString();
  } else {
    // a weight still not in place gets a fresh deadline: the pause was not the router's doing
    next.stepStartTime = visit.iso;
  }
  const forgiven =
    cause === 'User'
      ? ''
      : `; counts of ${cause === 'AnalysisFailed' ? 'failures, ' : ''}no data and errors restart`;
  visit.event('Normal', 'CanaryResumed', `Resumed by a user at ${stepLabel(visit, next)}${forgiven}`);
  return next;
}

// ---------------------------------------------------------------------------------------------
// Phases

function progressing(visit: Visit, state: CanaryState): Outcome {
  const stepSpec = visit.steps[
    Math.min(state.stepIndex, visit.steps.length - 1)
  ] as (typeof visit.steps)[number];
  let current = absorbCounts(visit, state);
  if (!current.weightReachedTime) {
    if (visit.observed.routedWeight !== current.weight) {
      // a smoke test's requests may already show a failing canary
      const early = decide(visit.analysis, current.counts, { elapsedMs: 0, pauseMs: 0 });
      if (early.decision === 'Rollback')
        return proceed(visit, onFailure(visit, current, early.cause, early.reason));
      return awaitWeight(visit, current);
    }
    current = { ...current, weightReachedTime: visit.iso, reason: 'Analysing' };
    visit.event(
      'Normal',
      'CanaryStepStarted',
      `${capitalize(stepLabel(visit, current))}: the canary serves ${current.weight}% of traffic for at least ${stepSpec.pause}`,
    );
  } else {
    visit.holdWeight(current.weight);
  }

  const reachedMs = Date.parse(current.weightReachedTime as string);
  const pauseMs = parseDuration(stepSpec.pause);
  current = absorbMeasurements(visit, current, visit.ms - reachedMs >= pauseMs);
  const decision = decide(visit.analysis, current.counts, { elapsedMs: visit.ms - reachedMs, pauseMs });
  switch (decision.decision) {
    case 'Rollback':
      return proceed(visit, onFailure(visit, current, decision.cause, decision.reason));
    case 'Pause':
      return proceed(
        visit,
        toPaused(
          visit,
          current,
          decision.cause,
          `${decision.reason}; \`kubectl hyperagent resume\` continues, \`abort\` rolls back`,
        ),
      );
    case 'StepPassed': {
      // a round due now is taken first: a step never passes on data older than one interval
      const measured = requestMeasurement(visit, current);
      if (measured !== undefined) return { state: current, requeueAfterMs: measured };
      return proceed(visit, stepPassed(visit, current, decision.reason));
    }
    case 'Continue': {
      const waiting = {
        ...current,
        message: clip(`${capitalize(stepLabel(visit, current))}: ${decision.reason}`, 4096),
      };
      const measured = requestMeasurement(visit, waiting) ?? requestCounts(visit);
      const pauseEnd = reachedMs + pauseMs;
      return {
        state: waiting,
        requeueAfterMs:
          measured ?? nextVisit(visit, [pauseEnd, measurementDue(visit, waiting), countsDue(visit)]),
      };
    }
  }
}

function awaitWeight(visit: Visit, state: CanaryState): Outcome {
  const deadlineMs = visit.spec.weightDeadlineMs ?? WEIGHT_DEADLINE_MS;
  const since = Date.parse(state.stepStartTime ?? state.phaseStartTime);
  const routed = visit.observed.routedWeight;
  const reports = routed === undefined ? 'reports no weight' : `reports ${routed}%`;
  if (visit.ms - since > deadlineMs) {
    return proceed(
      visit,
      onFailure(
        visit,
        state,
        'WeightNotReached',
        `the traffic router did not put ${state.weight}% in place within ${formatMs(deadlineMs)} (it ${reports}); the canary pods may not be ready`,
      ),
    );
  }
  visit.holdWeight(state.weight);
  const waiting: CanaryState = {
    ...state,
    reason: 'WaitingForWeight',
    message: `${capitalize(stepLabel(visit, state))}: waiting for the traffic router to send ${state.weight}% of traffic to the canary (it ${reports})`,
  };
  const counted = requestCounts(visit);
  if (counted !== undefined) return { state: waiting, requeueAfterMs: counted };
  const countsAt = countsDue(visit);
  const poll = countsAt === undefined ? ROUTER_POLL_MS : Math.min(ROUTER_POLL_MS, countsAt - visit.ms);
  return {
    state: waiting,
    requeueAfterMs: Math.max(0, Math.min(poll, since + deadlineMs - visit.ms + 1)),
  };
}

function stepPassed(visit: Visit, state: CanaryState, reason: string): CanaryState {
  visit.event('Normal', 'CanaryStepPassed', `${capitalize(stepLabel(visit, state))} passed: ${reason}`);
  const nextIndex = state.stepIndex + 1;
  const nextStep = visit.steps[nextIndex];
  if (nextStep) {
    const { weightReachedTime: _reached, ...rest } = state;
    return {
      ...rest,
      reason: 'Progressing',
      stepIndex: nextIndex,
      weight: nextStep.weight,
      stepStartTime: visit.iso,
      counts: countsForNewStep(state.counts),
    };
  }
  if (visit.analysis.metrics.length === 0) {
    return toPaused(
      visit,
      state,
      'NoAnalysis',
      'every step passed on time, but no analysis metrics judged the canary: `kubectl hyperagent resume` promotes it, `abort` rolls it back',
    );
  }
  const latest = state.counts.map((c) => c.lastMessage).filter((m): m is string => m !== undefined);
  return toPromoting(
    visit,
    state,
    'AnalysisPassed',
    `all ${visit.steps.length} steps passed their analysis; latest: ${latest.join('; ')}`,
  );
}

function paused(visit: Visit, state: CanaryState): Outcome {
  visit.holdWeight(state.weight);
  const before = state.counts;
  const current = absorbMeasurements(visit, absorbCounts(visit, state), false);
  if (current.counts !== before && visit.spec.rollout.rollback.automatic) {
    // a pause holds the weight; it never switches off the safety net (only a rollback counts here)
    const decision = decide(visit.analysis, current.counts, { elapsedMs: 0, pauseMs: 0 });
    if (decision.decision === 'Rollback') {
      return proceed(visit, toRollingBack(visit, current, decision.cause, decision.reason));
    }
  }
  const measured = requestMeasurement(visit, current) ?? requestCounts(visit);
  const due = [measurementDue(visit, current), countsDue(visit)].filter((t) => t !== undefined);
  return {
    state: current,
    requeueAfterMs: measured ?? (due.length === 0 ? PAUSED_POLL_MS : nextVisit(visit, due)),
  };
}

function promoting(visit: Visit, state: CanaryState): Outcome {
  if (!visit.observed.promoted) {
    visit.act({ type: 'promote' });
    return { state, requeueAfterMs: FINISHING_POLL_MS };
  }
  if (!visit.observed.canaryRemoved) {
    visit.act({ type: 'removeCanary' });
    return { state, requeueAfterMs: FINISHING_POLL_MS };
  }
  const message = `Promoted: ${state.decision?.message ?? 'the canary became stable'}`;
  visit.event('Normal', 'CanaryPromoted', message);
  return {
    state: {
      ...state,
      phase: 'Promoted',
      reason: state.decision?.reason ?? 'Promoted',
      message: clip(message, 4096),
      phaseStartTime: visit.iso,
      weight: 0,
    },
  };
}

function rollingBack(visit: Visit, state: CanaryState): Outcome {
  if (visit.observed.canaryRemoved) {
    const message = `Rolled back: ${state.decision?.message ?? 'the canary was removed'}. The stable version serves all traffic.`;
    visit.event('Normal', 'CanaryRolledBack', message);
    return {
      state: {
        ...state,
        phase: 'RolledBack',
        reason: state.decision?.reason ?? 'RolledBack',
        message: clip(message, 4096),
        phaseStartTime: visit.iso,
        weight: 0,
      },
    };
  }
  // traffic back to stable first, then the canary goes; a router stuck for too long does not block removal
  const deadlineMs = visit.spec.weightDeadlineMs ?? WEIGHT_DEADLINE_MS;
  const stuck = visit.ms - Date.parse(state.phaseStartTime) > deadlineMs;
  if (visit.observed.routedWeight !== 0 && !stuck) visit.act({ type: 'setWeight', weight: 0 });
  else visit.act({ type: 'removeCanary' });
  return { state, requeueAfterMs: FINISHING_POLL_MS };
}

// ---------------------------------------------------------------------------------------------
// Transitions: state and events only; proceed() then runs the new phase.

function onFailure(
  visit: Visit,
  state: CanaryState,
  cause: DecisionCause | 'WeightNotReached',
  reason: string,
): CanaryState {
  if (visit.spec.rollout.rollback.automatic) return toRollingBack(visit, state, cause, reason);
  return toPaused(
    visit,
    state,
    cause,
    `${reason}; automatic rollback is off: \`kubectl hyperagent abort\` rolls back, \`resume\` continues`,
  );
}

function toPaused(visit: Visit, state: CanaryState, cause: CanaryPauseCause, message: string): CanaryState {
  const text = clip(`Paused: ${message}`, 1024);
  visit.event(cause === 'User' ? 'Normal' : 'Warning', 'CanaryPaused', text);
  return {
    ...state,
    phase: 'Paused',
    reason: `Paused${cause}`,
    message: text,
    phaseStartTime: visit.iso,
    pause: { cause, message: text, since: visit.iso },
  };
}

function toPromoting(visit: Visit, state: CanaryState, reason: string, message: string): CanaryState {
  const { pause: _pause, ...rest } = state;
  const text = clip(message, 4096);
  visit.event('Normal', 'CanaryPromoting', `Promoting the canary: ${text}`);
  return {
    ...rest,
    phase: 'Promoting',
    reason,
    message: clip(`Promoting: ${text}`, 4096),
    phaseStartTime: visit.iso,
    decision: { action: 'Promote', reason, message: text, time: visit.iso },
  };
}

function toRollingBack(visit: Visit, state: CanaryState, reason: string, message: string): CanaryState {
  const { pause: _pause, ...rest } = state;
  const text = clip(message, 4096);
  visit.event('Warning', reason, `Rolling back the canary: ${text}`);
  return {
    ...rest,
    phase: 'RollingBack',
    reason,
    message: clip(`Rolling back: ${text}`, 4096),
    phaseStartTime: visit.iso,
    weight: 0,
    decision: { action: 'Rollback', reason, message: text, time: visit.iso },
  };
}

// ---------------------------------------------------------------------------------------------
// Measurements

/** When the next round of measurements is due: one interval after the weight was reached or after the last round. */
function measurementDue(visit: Visit, state: CanaryState): number | undefined {
  if (!state.weightReachedTime || visit.analysis.metrics.length === 0) return undefined;
  const reached = Date.parse(state.weightReachedTime);
  const last = state.lastMeasurementTime ? Date.parse(state.lastMeasurementTime) : reached;
  return Math.max(reached, last) + parseDuration(visit.analysis.interval);
}

/** Asks for a round of measurements when one is due; returns 0 (look again at once) if it did. */
function requestMeasurement(visit: Visit, state: CanaryState): number | undefined {
  const due = measurementDue(visit, state);
  if (due === undefined || due > visit.ms) return undefined;
  const queries = visit.analysis.metrics.map((metric) => metricQuery(metric, visit.spec.target));
  visit.act({ type: 'measure', queries });
  return 0;
}

/** What one metric runs: its query (and the stable side's), or a failureRatio's two counters. */
function metricQuery(metric: AnalysisSpecMetric, target: QueryValues): MeasureQuery {
  const templated = asTemplated(metric);
  if (templated) return { metric: metric.name, ...renderMetricQueries(templated, target) };
  if (metric.failureRatio)
    return {
      metric: metric.name,
      counts: renderCountQueries({ ...metric, failureRatio: metric.failureRatio }, target),
    };
  throw new Error(`metric ${metric.name} has neither a query nor a failureRatio`);
}

type AnalysisSpecMetric = CanarySpec['rollout']['analysis']['metrics'][number];

/** When the failureRatio counters are next read, if any metric has them: every counters.interval. */
function countsDue(visit: Visit): number | undefined {
  if (failureRatioMetrics(visit.analysis.metrics).length === 0) return undefined;
  return visit.ms + parseDuration(visit.analysis.counters?.interval ?? DEFAULT_COUNTERS_INTERVAL);
}

/**
 * Asks for a reading of the failureRatio counters, unless this visit already has a round (the
 * reading is not persisted: a visit without a round asks, a visit with one waits an interval).
 */
function requestCounts(visit: Visit): number | undefined {
  if (visit.observed.measurements) return undefined;
  const metrics = failureRatioMetrics(visit.analysis.metrics);
  if (metrics.length === 0) return undefined;
  const queries = metrics.map((metric) => metricQuery(metric, visit.spec.target));
  visit.act({ type: 'measure', queries, countsOnly: true });
  return 0;
}

/**
 * A reading between rounds: the first of a metric is its baseline; after it, a share of failures
 * conclusively above the limit is a Failed measurement at once. Nothing else is recorded.
 */
function absorbCounts(visit: Visit, state: CanaryState): CanaryState {
  const round = visit.observed.measurements;
  if (!round?.countsOnly) return state;
  let next = state;
  const records: CanaryMeasurementRecord[] = [];
  for (const metric of failureRatioMetrics(visit.analysis.metrics)) {
    const observed = round.results.find((r) => r.metric === metric.name)?.counts;
    const read = observed ? countsOf(next, metric, observed, round.takenAt) : undefined;
    if (!read || 'problem' in read) continue;
    next = read.state;
    const judgement = judgeFailureRatioBetweenRounds(metric, read.counts);
    if (!judgement) continue;
    const message = clip(judgement.message, 1024);
    next = {
      ...next,
      counts: countJudgement(next.counts, metric.name, { result: judgement.result, message }),
    };
    records.push(recordOf(state, metric.name, round.takenAt.toISOString(), judgement, message));
  }
  if (records.length === 0) return next;
  visit.event(
    'Warning',
    'CanaryAnalysis',
    `${capitalize(stepLabel(visit, state))}: ${records.map((r) => `${r.result}: ${r.message}`).join('; ')}`,
  );
  return { ...next, measurements: [...next.measurements, ...records].slice(-MAX_RECORDED_MEASUREMENTS) };
}

/**
 * The counts since a metric's baseline, from one reading of its counters; the first reading
 * becomes the baseline (no counts yet). A problem when the counters could not be read.
 */
function countsOf(
  state: CanaryState,
  metric: FailureRatioMetric,
  observed: CountsObservation,
  takenAt: Date,
): { state: CanaryState; counts: RatioCounts } | { problem: string } {
  const reading = readingOf(metric.name, observed, takenAt);
  if ('problem' in reading) return reading;
  const baselines = state.counterBaselines ?? [];
  const known = baselines.find((b) => b.metric === metric.name);
  if (!known) {
    return {
      state: { ...state, counterBaselines: [...baselines, reading] },
      counts: { failures: 0, total: 0 },
    };
  }
  const { counts, baseline } = countsSince(known, reading);
  if (baseline === known) return { state, counts };
  return {
    state: { ...state, counterBaselines: baselines.map((b) => (b.metric === metric.name ? baseline : b)) },
    counts,
  };
}

function recordOf(
  state: CanaryState,
  metric: string,
  time: string,
  judgement: Judgement,
  message: string,
): CanaryMeasurementRecord {
  return {
    metric,
    time,
    step: state.stepIndex,
    weight: state.weight,
    result: judgement.result,
    ...(judgement.value !== undefined ? { value: judgement.value } : {}),
    ...(judgement.stableValue !== undefined ? { stableValue: judgement.stableValue } : {}),
    ...(judgement.ratio !== undefined ? { ratio: judgement.ratio } : {}),
    threshold: clip(judgement.threshold, 256),
    message,
  };
}

/** Judges and counts a round of measurements, if one was observed and is due; an early or repeated round is ignored. */
function absorbMeasurements(visit: Visit, state: CanaryState, pauseElapsed: boolean): CanaryState {
  const round = visit.observed.measurements;
  const due = measurementDue(visit, state);
  if (!round || round.countsOnly || due === undefined || round.takenAt.getTime() < due) return state;
  const time = round.takenAt.toISOString();
  let current = state;
  const records: CanaryMeasurementRecord[] = [];
  const pending: string[] = [];
  for (const metric of visit.analysis.metrics) {
    const observed = round.results.find((r) => r.metric === metric.name);
    let judgement: Judgement | undefined;
    const counted = asFailureRatio(metric);
    if (counted && observed?.counts) {
      const read = countsOf(current, counted, observed.counts, round.takenAt);
      if ('state' in read) {
        current = read.state;
        const verdict = judgeFailureRatioRound(counted, read.counts, pauseElapsed);
        if ('pending' in verdict) {
          pending.push(verdict.pending);
          continue;
        }
        judgement = verdict.judgement;
      } else {
        judgement = {
          result: 'Error',
          threshold: describeThreshold(metric),
          message: read.problem,
        };
      }
    } else if (observed?.canary && !counted) {
      judgement = judgeMeasurement(metric, observed.canary, observed.stable);
    } else {
      judgement = {
        result: 'Error',
        threshold: describeThreshold(metric),
        message: `${metric.name}: not measured in this round`,
      };
    }
    const message = clip(judgement.message, 1024);
    current = {
      ...current,
      counts: countJudgement(current.counts, metric.name, { result: judgement.result, message }),
    };
    records.push(recordOf(state, metric.name, time, judgement, message));
  }
  const clean = records.every((r) => r.result === 'Successful');
  const told = [...records.map((r) => `${r.result}: ${r.message}`), ...pending.map((p) => `Waiting: ${p}`)];
  visit.event(
    clean ? 'Normal' : 'Warning',
    'CanaryAnalysis',
    `${capitalize(stepLabel(visit, state))}: ${told.join('; ')}`,
  );
  return {
    ...current,
    measurements: [...current.measurements, ...records].slice(-MAX_RECORDED_MEASUREMENTS),
    lastMeasurementTime: time,
  };
}

// ---------------------------------------------------------------------------------------------

/** Time until the earliest of `times` still ahead; a short poll if none is (never a busy loop). */
function nextVisit(visit: Visit, times: (number | undefined)[]): number {
  const future = times.filter((t): t is number => t !== undefined && t > visit.ms);
  return future.length > 0 ? Math.min(...future) - visit.ms : ROUTER_POLL_MS;
}

function stepLabel(visit: Visit, state: CanaryState): string {
  return `step ${state.stepIndex + 1} of ${visit.steps.length} (${state.weight}%)`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function formatMs(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
