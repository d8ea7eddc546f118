// The canary machine by tables (one call of step) and by scenarios: a simulated world (a traffic
// router with a lag, a Prometheus that is a function of time, users acting on a timeline) driven
// the way a reconciler drives it, following requeueAfterMs. Time is injected, so hours of canary
// run in milliseconds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Value } from '@sinclair/typebox/value';
import { CanaryStatus } from '../api/schema.js';
import { defaultedMinimalSpec } from '../../../test/support/agents.js';
import {
  MAX_RECORDED_MEASUREMENTS,
  PAUSED_POLL_MS,
  initialCanaryState,
  promotedMetrics,
  step,
  type CanaryAction,
  type CanaryObservations,
  type CanarySpec,
  type CanaryState,
  type CanaryStepResult,
  type MeasureQuery,
  type UserRequest,
} from './canary-machine.js';
import type { Measurement } from './metric-provider.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(T0 + ms);
const iso = (ms: number) => at(ms).toISOString();
const S = 1000;

const TARGET = {
  namespace: 'shop',
  service: 'quote',
  canary: 'quote-canary',
  stable: 'quote',
  canaryService: 'quote-canary',
};
const ERROR_RATE = {
  name: 'error-rate',
  query: 'sum(rate(http_errors_total{namespace="{{namespace}}", pod=~"{{canary}}-.*"}[30s]))',
  max: 0.05,
};

/** A canary spec as the API server would default it; `rollout` is written as a user would. */
function canarySpec(rollout: Record<string, unknown> = {}, extra: Partial<CanarySpec> = {}): CanarySpec {
  const { analysis, ...rest } = rollout as { analysis?: Record<string, unknown> };
  const spec = defaultedMinimalSpec({
    rollout: {
      steps: [
        { weight: 10, pause: '1m' },
        { weight: 50, pause: '1m' },
      ],
      ...rest,
      analysis: { interval: '10s', metrics: [ERROR_RATE], ...analysis },
    },
  });
  return { rollout: spec.rollout, target: TARGET, ...extra };
}

const value = (v: number): Measurement => ({ kind: 'value', value: v });
/** Prometheus as a function of the query and the time since T0. */
type Source = (query: string, ms: number) => Measurement;
const healthy: Source = () => value(0.01);

interface WorldEvent {
  at: number;
  severity: string;
  reason: string;
  message: string;
}

/** The cluster and Prometheus as the reconciler would observe them. */
class World {
  routed: number | undefined = 0;
  promoted = false;
  canaryRemoved = false;
  requests: UserRequest[] = [];
  readonly events: WorldEvent[] = [];
  readonly routedLog: { at: number; weight: number }[] = [];
  readonly calls = { setWeight: 0, promote: 0, removeCanary: 0, measure: 0 };
  private pending?: { weight: number; at: number };
  private readonly timeline: { at: number; run: (world: World) => void; done?: boolean }[] = [];

  constructor(
    public source: Source = healthy,
    readonly routerLagMs = 2 * S,
    readonly routerStuck = false,
  ) {}

  /** Schedules a change of the world; the reconciler is woken by it, as a watch would. */
  on(ms: number, run: (world: World) => void): this {
    this.timeline.push({ at: ms, run });
    return this;
  }
  request(ms: number, action: UserRequest['action']): this {
    return this.on(ms, (w) => w.requests.push({ action, token: iso(ms) }));
  }
  advanceTo(ms: number): void {
    for (const entry of this.timeline) {
      if (!entry.done && entry.at <= ms) {
        entry.done = true;
        entry.run(this);
      }
    }
    if (this.pending && this.pending.at <= ms) {
      this.route(this.pending.weight, this.pending.at);
      this.pending = undefined;
    }
  }
  nextChange(after: number): number {
    const times = this.timeline.filter((e) => !e.done && e.at > after).map((e) => e.at);
    if (this.pending && this.pending.at > after) times.push(this.pending.at);
    return Math.min(Infinity, ...times);
  }
  observe(): CanaryObservations {
    return {
      routedWeight: this.routed,
      requests: [...this.requests],
      promoted: this.promoted,
      canaryRemoved: this.canaryRemoved,
    };
  }
  measure(queries: MeasureQuery[], ms: number): CanaryObservations['measurements'] {
    this.calls.measure += 1;
    return {
      takenAt: at(ms),
      results: queries.map((q) =>
        'canary' in q
          ? {
              metric: q.metric,
              canary: this.source(q.canary, ms),
              ...(q.stable !== undefined ? { stable: this.source(q.stable, ms) } : {}),
            }
          : {
              metric: q.metric,
              counts: { failed: this.source(q.counts.failed, ms), total: this.source(q.counts.total, ms) },
            },
      ),
    };
  }
  carryOut(actions: CanaryAction[], ms: number): void {
    for (const action of actions) {
      if (action.type === 'event') {
        this.events.push({
          at: ms,
          severity: action.severity,
          reason: action.reason,
          message: action.message,
        });
      } else if (action.type === 'setWeight') {
        this.calls.setWeight += 1;
        if (this.routerStuck) continue;
        if (this.routerLagMs === 0) this.route(action.weight, ms);
        // the same weight asked again is the same change still under way, not a new one
        else if (this.pending?.weight !== action.weight)
          this.pending = { weight: action.weight, at: ms + this.routerLagMs };
      } else if (action.type === 'promote') {
        this.calls.promote += 1;
        this.promoted = true;
      } else if (action.type === 'removeCanary') {
        this.calls.removeCanary += 1;
        this.canaryRemoved = true;
        this.pending = undefined;
        this.route(0, ms);
      } else {
        throw new Error('measure actions are answered before actions are carried out');
      }
    }
  }
  private route(weight: number, ms: number): void {
    if (this.routed !== weight) this.routedLog.push({ at: ms, weight });
    this.routed = weight;
  }
  reasons(): string[] {
    return this.events.map((e) => e.reason);
  }
}

interface Visit {
  at: number;
  before: CanaryState | undefined;
  observed: CanaryObservations;
  result: CanaryStepResult;
}

type Crash = 'beforePersist' | 'afterPersist' | undefined;

/**
 * Drives the machine as a reconciler would: observe, step (and when a measurement is asked for,
 * measure and step again from the same state with it), persist, carry out, sleep until the
 * requeue or until the world changes. `crash` loses the state and/or the actions of a visit.
 */
function drive(
  spec: CanarySpec,
  world: World,
  options: { untilMs?: number; crash?: (visit: number) => Crash } = {},
): { state: CanaryState; visits: Visit[]; ms: number } {
  const untilMs = options.untilMs ?? 4 * 3_600_000;
  let state: CanaryState | undefined;
  let ms = 0;
  let sameInstant = 0;
  const visits: Visit[] = [];
  for (let i = 0; i < 20_000; i++) {
    world.advanceTo(ms);
    let observed = world.observe();
    let result = step(spec, state, observed, at(ms));
    const measure = result.actions.find((a) => a.type === 'measure');
    if (measure) {
      const measurements = world.measure(measure.queries, ms)!;
      observed = {
        ...observed,
        measurements: { ...measurements, ...(measure.countsOnly ? { countsOnly: true } : {}) },
      };
      result = step(spec, state, observed, at(ms));
      assert.ok(!result.actions.some((a) => a.type === 'measure'), 'a measured round is not asked for again');
    }
    visits.push({ at: ms, before: state, observed, result });
    const crash = options.crash?.(i);
    if (crash !== 'beforePersist') state = result.state;
    if (crash === undefined) world.carryOut(result.actions, ms);
    if (result.requeueAfterMs === undefined && crash === undefined)
      return { state: result.state, visits, ms };
    const wait = crash !== undefined ? S : (result.requeueAfterMs as number);
    const next = Math.min(ms + wait, world.nextChange(ms));
    sameInstant = next === ms ? sameInstant + 1 : 0;
    assert.ok(sameInstant < 3, `busy loop at ${ms}ms in ${result.state.phase}`);
    ms = next;
    if (ms > untilMs) break;
  }
  assert.ok(state, 'the machine ran');
  return { state, visits, ms };
}

/** A clean outcome: no pause, no traffic, a decision with its reason. */
function assertClean(state: CanaryState, phase: 'Promoted' | 'RolledBack', reason: string): void {
  assert.equal(state.phase, phase, state.message);
  assert.equal(state.reason, reason);
  assert.equal(state.weight, 0);
  assert.equal(state.pause, undefined);
  assert.equal(state.decision?.action, phase === 'Promoted' ? 'Promote' : 'Rollback');
  assert.equal(state.decision?.reason, reason);
}

// ---------------------------------------------------------------------------------------------
// Scenarios

test('a good version is promoted through every step, measured every interval', () => {
  const world = new World(healthy);
  const { state, ms } = drive(canarySpec(), world);
  assertClean(state, 'Promoted', 'AnalysisPassed');
  assert.deepEqual(
    world.routedLog.map((r) => r.weight),
    [10, 50, 0],
  );
  assert.deepEqual(world.reasons(), [
    'CanaryStarted',
    'CanaryStepStarted',
    ...Array(6).fill('CanaryAnalysis'),
    'CanaryStepPassed',
    'CanaryStepStarted',
    ...Array(6).fill('CanaryAnalysis'),
    'CanaryStepPassed',
    'CanaryPromoting',
    'CanaryPromoted',
  ]);
  assert.deepEqual(world.calls, { setWeight: 2, promote: 1, removeCanary: 1, measure: 12 });
  // two 1m steps, each after a 2s router lag, and a few polls for promotion and removal
  assert.ok(ms >= 124 * S && ms <= 130 * S, `took ${ms}ms`);
  assert.equal(state.measurements.length, 12);
  assert.deepEqual(promotedMetrics(state), { 'error-rate': 0.01 });
  assert.match(
    state.decision?.message ?? '',
    /all 2 steps passed their analysis; latest: error-rate 0.01 <= max 0.05/,
  );
  assert.match(world.events.at(-1)?.message ?? '', /^Promoted: all 2 steps passed/);
});

test('a version that fails under traffic is rolled back within one interval of the failure', () => {
  const onset = 90 * S; // during the second step
  const world = new World((q, ms) => value(ms >= onset && q.includes('quote-canary') ? 0.2 : 0.01));
  const { state } = drive(canarySpec(), world);
  assertClean(state, 'RolledBack', 'AnalysisFailed');
  assert.match(
    state.decision?.message ?? '',
    /error-rate failed once, more than failureLimit 0: error-rate 0.2 > max 0.05/,
  );
  const firstFailure = world.events.find((e) => e.reason === 'CanaryAnalysis' && /Failed/.test(e.message));
  const noTraffic = world.routedLog.find((r) => r.weight === 0);
  assert.ok(firstFailure && noTraffic);
  assert.ok(firstFailure.at - onset <= 10 * S, 'the failure is measured within one interval');
  assert.ok(noTraffic.at - firstFailure.at <= world.routerLagMs, 'traffic leaves the canary at once');
  assert.equal(world.calls.promote, 0);
  const rollingBack = world.events.find((e) => e.reason === 'AnalysisFailed');
  assert.equal(rollingBack?.severity, 'Warning');
  assert.match(world.events.at(-1)?.message ?? '', /The stable version serves all traffic/);
  assert.equal(world.events.at(-1)?.severity, 'Normal');
});

test('Prometheus stopped mid-canary: rollback per policy, and never a promotion', () => {
  const down: Source = (_q, ms) =>
    ms >= 80 * S ? { kind: 'error', message: 'cannot reach Prometheus: ECONNREFUSED' } : value(0.01);
  const world = new World(down);
  const spec = canarySpec({ analysis: { interval: '5s', consecutiveErrorLimit: 2 } });
  const { state } = drive(spec, world);
  assertClean(state, 'RolledBack', 'ProviderError');
  assert.match(state.decision?.message ?? '', /could not be measured 3 times in a row.*ECONNREFUSED/);
  const firstError = world.events.find((e) => /Error/.test(e.message) && e.reason === 'CanaryAnalysis');
  const decided = world.events.find((e) => e.reason === 'ProviderError');
  assert.ok(firstError && decided && decided.at - firstError.at <= 30 * S);
  assert.equal(world.calls.promote, 0);
});

test('successes from before an outage never carry the last step to promotion', () => {
  // the outage starts after the last step has all its samples but before its pause ends
  const down: Source = (_q, ms) => (ms >= 85 * S ? { kind: 'error', message: 'timeout' } : value(0.01));
  const world = new World(down);
  const spec = canarySpec({
    steps: [
      { weight: 10, pause: '30s' },
      { weight: 50, pause: '1m' },
    ],
    analysis: { interval: '10s', minSamples: 2 },
  });
  const { state } = drive(spec, world);
  assertClean(state, 'RolledBack', 'ProviderError');
  assert.equal(world.calls.promote, 0);
});

test('onProviderError Pause: the canary holds its weight until a user resumes it', () => {
  const outage = { from: 80 * S, to: 200 * S };
  const world = new World((_q, ms) =>
    ms >= outage.from && ms < outage.to ? { kind: 'error', message: 'HTTP 503' } : value(0.01),
  );
  world.request(300 * S, 'resume');
  const spec = canarySpec({ analysis: { onProviderError: 'Pause', consecutiveErrorLimit: 1 } });
  const { state, visits } = drive(spec, world);
  assertClean(state, 'Promoted', 'AnalysisPassed');
  const pausedAt = visits.find((v) => v.result.state.phase === 'Paused');
  assert.equal(pausedAt?.result.state.pause?.cause, 'ProviderError');
  assert.equal(pausedAt?.result.state.weight, 50);
  // while paused nothing moved: the weight held, no promotion
  const during = world.routedLog.filter((r) => r.at > (pausedAt?.at ?? 0) && r.at < 300 * S);
  assert.deepEqual(during, []);
  assert.ok(world.reasons().includes('CanaryResumed'));
  // measurements went on during the pause, so status showed Prometheus back before the resume
  const pausedRounds = world.events.filter(
    (e) => e.reason === 'CanaryAnalysis' && e.at > (pausedAt?.at ?? 0) && e.at < 300 * S,
  );
  assert.ok(pausedRounds.some((e) => /Successful/.test(e.message)));
});

test('no data rolls back by default, and says so', () => {
  const world = new World(() => ({ kind: 'noData' }));
  const { state } = drive(canarySpec(), world);
  assertClean(state, 'RolledBack', 'NoData');
  assert.match(
    state.decision?.message ?? '',
    /inconclusive once, more than inconclusiveLimit 0 \(onNoData: Rollback\).*returned no data/,
  );
  assert.equal(world.calls.promote, 0);
});

test("a user's pause holds the weight and stops the step's clock; resume continues where it was", () => {
  const world = new World(healthy).request(32 * S, 'pause').request(332 * S, 'resume');
  const { state, visits } = drive(canarySpec(), world);
  assertClean(state, 'Promoted', 'AnalysisPassed');
  const paused = visits.find((v) => v.result.state.phase === 'Paused')?.result.state;
  assert.equal(paused?.pause?.cause, 'User');
  assert.equal(paused?.reason, 'PausedUser');
  // the first step reached its weight at 2s and was paused 30s in: 30s of it remained after the resume
  const passed = world.events.find((e) => e.reason === 'CanaryStepPassed');
  assert.equal(passed?.at, 362 * S);
  // the analysis went on while paused (every interval) without passing the step
  const rounds = world.events.filter((e) => e.reason === 'CanaryAnalysis' && e.at > 32 * S && e.at < 332 * S);
  assert.equal(rounds.length, 29);
});

test('a failure while paused by a user still rolls back: a pause never switches off the safety net', () => {
  const world = new World((q, ms) => value(ms >= 100 * S && q.includes('quote-canary') ? 0.5 : 0.01)).request(
    32 * S,
    'pause',
  );
  const { state } = drive(canarySpec(), world);
  assertClean(state, 'RolledBack', 'AnalysisFailed');
});

test('abort rolls back from any step and ends clean; requests after the end change nothing', () => {
  const world = new World(healthy).request(70 * S, 'abort');
  const { state } = drive(canarySpec(), world);
  assertClean(state, 'RolledBack', 'AbortedByUser');
  assert.equal(world.calls.promote, 0);
  const again = step(
    canarySpec(),
    state,
    { requests: [{ action: 'abort', token: iso(999 * S) }] },
    at(999 * S),
  );
  assert.deepEqual(again, { state, actions: [] });
});

test('with no metrics the canary advances on time, then waits for a human before promotion', () => {
  const world = new World(healthy);
  const spec = canarySpec({ analysis: { metrics: [] } });
  const waiting = drive(spec, world, { untilMs: 3_600_000 });
  assert.equal(waiting.state.phase, 'Paused');
  assert.equal(waiting.state.pause?.cause, 'NoAnalysis');
  assert.equal(waiting.state.weight, 50);
  assert.match(
    waiting.state.message,
    /no analysis metrics judged the canary: `kubectl hyperagent resume` promotes it/,
  );
  assert.equal(world.calls.promote, 0);
  assert.equal(world.calls.measure, 0);
  assert.deepEqual(world.reasons().slice(0, 2), ['CanaryStarted', 'NoAnalysisMetrics']);
  assert.match(world.events.find((e) => e.reason === 'CanaryStepPassed')?.message ?? '', /on time only/);

  const resumed = new World(healthy).request(3_700 * S, 'resume');
  const { state } = drive(spec, resumed);
  assertClean(state, 'Promoted', 'PromotedByUser');
  assert.match(state.decision?.message ?? '', /no analysis metrics judged it/);
});

test('a router that never reaches the weight rolls the canary back after the deadline', () => {
  const world = new World(healthy, 2 * S, true);
  const spec = canarySpec({}, { weightDeadlineMs: 60 * S });
  const { state, ms } = drive(spec, world);
  assertClean(state, 'RolledBack', 'WeightNotReached');
  assert.match(state.decision?.message ?? '', /did not put 10% in place within 1m \(it reports 0%\)/);
  assert.ok(ms <= 2 * 60 * S + 10 * S, 'a stuck router does not block the removal either');
  assert.equal(world.calls.removeCanary, 1);
});

test('automatic rollback off: a failure pauses; abort then rolls back', () => {
  const world = new World((q) => value(q.includes('quote-canary') ? 0.3 : 0.01)).request(200 * S, 'abort');
  const spec = canarySpec({ rollback: { automatic: false } });
  const { state, visits } = drive(spec, world);
  const paused = visits.find((v) => v.result.state.phase === 'Paused')?.result.state;
  assert.equal(paused?.pause?.cause, 'AnalysisFailed');
  assert.match(paused?.message ?? '', /automatic rollback is off: `kubectl hyperagent abort` rolls back/);
  assertClean(state, 'RolledBack', 'AbortedByUser');
});

test('an analysis that cannot run is refused before any traffic moves', () => {
  const world = new World(healthy);
  const spec = canarySpec({ analysis: { metrics: [{ ...ERROR_RATE, query: 'x{pod="{{pod}}"}' }] } });
  const { state } = drive(spec, world);
  assertClean(state, 'RolledBack', 'InvalidAnalysis');
  assert.match(
    state.decision?.message ?? '',
    /metric error-rate: cannot render the query: unknown placeholder \{\{pod\}\}/,
  );
  assert.deepEqual(world.routedLog, []);
  assert.equal(world.calls.measure, 0);
});

test('requests left from an earlier canary are ignored; of a new pause and resume the later wins', () => {
  const old: UserRequest[] = [
    { action: 'abort', token: iso(-60 * S) },
    { action: 'pause', token: iso(-50 * S) },
  ];
  const first = step(canarySpec(), undefined, { requests: old, routedWeight: 0 }, at(0));
  assert.equal(first.state.phase, 'Progressing');
  assert.deepEqual(first.state.handledRequests, { abort: iso(-60 * S), pause: iso(-50 * S) });
  const same = step(canarySpec(), first.state, { requests: old, routedWeight: 10 }, at(2 * S));
  assert.equal(same.state.phase, 'Progressing');

  const both: UserRequest[] = [
    ...old,
    { action: 'pause', token: iso(5 * S) },
    { action: 'resume', token: iso(6 * S) },
  ];
  assert.equal(
    step(canarySpec(), same.state, { requests: both, routedWeight: 10 }, at(7 * S)).state.phase,
    'Progressing',
  );
  const pauseLast: UserRequest[] = [
    ...old,
    { action: 'resume', token: iso(5 * S) },
    { action: 'pause', token: iso(6 * S) },
  ];
  assert.equal(
    step(canarySpec(), same.state, { requests: pauseLast, routedWeight: 10 }, at(7 * S)).state.phase,
    'Paused',
  );
});

test('the minimum-sample guard makes a step last until it has its samples, past its pause', () => {
  const world = new World(healthy);
  const spec = canarySpec({
    steps: [{ weight: 20, pause: '30s' }],
    analysis: { interval: '20s', minSamples: 3 },
  });
  drive(spec, world);
  const passed = world.events.find((e) => e.reason === 'CanaryStepPassed');
  // weight at 2s; samples at 22s, 42s, 62s: the 30s pause alone would have passed it at 32s
  assert.equal(passed?.at, 62 * S);
});

// ---------------------------------------------------------------------------------------------
// Restart safety

test('an operator killed mid-canary resumes from status: same outcome, no duplicate transitions', () => {
  const spec = canarySpec();
  const failing: Source = (q, ms) => value(ms >= 90 * S && q.includes('quote-canary') ? 0.2 : 0.01);
  const reference = { good: drive(spec, new World(healthy)), bad: drive(spec, new World(failing)) };
  const transitions = [
    'CanaryStarted',
    'CanaryStepPassed',
    'CanaryPromoting',
    'CanaryPromoted',
    'CanaryRolledBack',
  ];
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.array(fc.tuple(fc.nat(80), fc.constantFrom<Crash>('beforePersist', 'afterPersist')), {
        maxLength: 6,
      }),
      (good, crashes) => {
        const world = new World(good ? healthy : failing);
        const plan = new Map(crashes);
        const { state } = drive(spec, world, { crash: (i) => plan.get(i) });
        const expected = good ? reference.good.state : reference.bad.state;
        assert.equal(state.phase, expected.phase);
        assert.equal(state.decision?.reason, expected.decision?.reason);
        for (const reason of transitions) {
          const messages = world.events.filter((e) => e.reason === reason).map((e) => e.message);
          assert.equal(new Set(messages).size, messages.length, `${reason} twice: ${messages.join(' | ')}`);
        }
        const stepStarts = world.events.filter((e) => e.reason === 'CanaryStepStarted').map((e) => e.message);
        assert.equal(new Set(stepStarts).size, stepStarts.length);
        assert.ok(world.calls.promote <= 2 && world.calls.removeCanary <= 2);
      },
    ),
    { numRuns: 200 },
  );
});

test('a replayed visit is a fixpoint: same state, no events, only converging actions', () => {
  const spec = canarySpec({ analysis: { onNoData: 'Pause' } });
  const world = new World((q, ms) => (ms > 150 * S && ms < 170 * S ? { kind: 'noData' } : healthy(q, ms)))
    .request(30 * S, 'pause')
    .request(60 * S, 'resume')
    .request(400 * S, 'resume');
  const { visits, state } = drive(spec, world);
  assertClean(state, 'Promoted', 'AnalysisPassed');
  for (const visit of visits) {
    const replay = step(spec, visit.result.state, visit.observed, at(visit.at));
    assert.deepEqual(replay.state, visit.result.state, `visit at ${visit.at}ms`);
    assert.deepEqual(
      replay.actions.filter((a) => a.type === 'event' || a.type === 'measure'),
      [],
      `visit at ${visit.at}ms`,
    );
  }
});

test('every state the machine writes fits the CanaryStatus schema the API server enforces', () => {
  const long = 'x'.repeat(5000);
  const worlds: [CanarySpec, World][] = [
    [canarySpec(), new World(healthy)],
    [canarySpec(), new World(() => ({ kind: 'error', message: long }))],
    [
      canarySpec({ analysis: { metrics: [{ ...ERROR_RATE, maxRatioToStable: 1.5 }] } }),
      new World((q) => value(q.includes('canary') ? 0.011 : 0.01)),
    ],
    [canarySpec({ analysis: { metrics: [] } }), new World(healthy).request(200 * S, 'resume')],
    [
      canarySpec({ analysis: { onNoData: 'Pause' } }),
      new World(() => value(Number.NaN)).request(100 * S, 'abort'),
    ],
  ];
  for (const [spec, world] of worlds) {
    for (const visit of drive(spec, world).visits) {
      const state = visit.result.state;
      const errors = [...Value.Errors(CanaryStatus, state)].map((e) => `${e.path}: ${e.message}`);
      assert.deepEqual(errors, [], `${state.phase} at ${visit.at}ms`);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Tables: one call of step

const progressing = (fields: Partial<CanaryState> = {}): CanaryState => ({
  ...initialCanaryState(at(0)),
  phase: 'Progressing',
  reason: 'Analysing',
  stepIndex: 0,
  weight: 10,
  stepStartTime: iso(0),
  weightReachedTime: iso(0),
  counts: [
    { metric: 'error-rate', successful: 0, failed: 0, inconclusive: 0, errors: 0, consecutiveErrors: 0 },
  ],
  ...fields,
});

test('table: measurements are counted once, when due; early, repeated or missing ones are not', () => {
  const spec = canarySpec();
  const round = (ms: number, results = [{ metric: 'error-rate', canary: value(0.01) }]) => ({
    takenAt: at(ms),
    results,
  });
  const table: [string, CanaryState, CanaryObservations['measurements'], number, number][] = [
    ['early', progressing(), round(9 * S), 9 * S, 0],
    ['due', progressing(), round(10 * S), 10 * S, 1],
    ['repeated', progressing({ lastMeasurementTime: iso(10 * S) }), round(10 * S), 12 * S, 0],
    ['stale', progressing({ lastMeasurementTime: iso(20 * S) }), round(15 * S), 25 * S, 0],
  ];
  for (const [name, state, measurements, now, counted] of table) {
    const result = step(spec, state, { routedWeight: 10, measurements }, at(now));
    assert.equal(result.state.measurements.length, counted, name);
  }
  const missing = step(
    spec,
    progressing(),
    { routedWeight: 10, measurements: round(10 * S, []) },
    at(10 * S),
  );
  assert.equal(missing.state.measurements[0]?.result, 'Error');
  assert.match(missing.state.measurements[0]?.message ?? '', /error-rate: not measured in this round/);
});

test('table: a due measurement is asked for with rendered queries, stable variant included', () => {
  const spec = canarySpec({ analysis: { metrics: [{ ...ERROR_RATE, maxRatioToStable: 2 }] } });
  const result = step(spec, progressing(), { routedWeight: 10 }, at(10 * S));
  assert.equal(result.requeueAfterMs, 0);
  assert.deepEqual(
    result.actions.filter((a) => a.type === 'measure'),
    [
      {
        type: 'measure',
        queries: [
          {
            metric: 'error-rate',
            canary: 'sum(rate(http_errors_total{namespace="shop", pod=~"quote-canary-.*"}[30s]))',
            stable: 'sum(rate(http_errors_total{namespace="shop", pod=~"quote-.*"}[30s]))',
          },
        ],
      },
    ],
  );
  const notYet = step(spec, progressing(), { routedWeight: 10 }, at(4 * S));
  assert.deepEqual(notYet.actions, []);
  assert.equal(notYet.requeueAfterMs, 6 * S);
});

test('table: recorded measurements are bounded, newest kept, and carry figures only when finite', () => {
  const spec = canarySpec();
  const old = Array.from({ length: MAX_RECORDED_MEASUREMENTS }, (_, i) => ({
    metric: 'error-rate',
    time: iso(i),
    step: 0,
    weight: 10,
    result: 'Successful' as const,
    value: i,
    threshold: 'max 0.05',
    message: `old ${i}`,
  }));
  const result = step(
    spec,
    progressing({ measurements: old, lastMeasurementTime: iso(0) }),
    {
      routedWeight: 10,
      measurements: { takenAt: at(10 * S), results: [{ metric: 'error-rate', canary: value(Number.NaN) }] },
    },
    at(10 * S),
  );
  assert.equal(result.state.measurements.length, MAX_RECORDED_MEASUREMENTS);
  assert.equal(result.state.measurements[0]?.message, 'old 1');
  const newest = result.state.measurements.at(-1);
  assert.equal(newest?.result, 'Inconclusive');
  assert.ok(!('value' in (newest ?? {})), 'NaN is not written to status');
});

test('table: promotion and rollback converge step by step and end when observed done', () => {
  const spec = canarySpec();
  const promoting: CanaryState = {
    ...progressing(),
    phase: 'Promoting',
    decision: { action: 'Promote', reason: 'AnalysisPassed', message: 'ok', time: iso(0) },
  };
  const types = (r: CanaryStepResult) => r.actions.map((a) => (a.type === 'event' ? a.reason : a.type));
  assert.deepEqual(types(step(spec, promoting, {}, at(S))), ['promote']);
  assert.deepEqual(types(step(spec, promoting, { promoted: true }, at(S))), ['removeCanary']);
  const done = step(spec, promoting, { promoted: true, canaryRemoved: true }, at(S));
  assert.deepEqual(types(done), ['CanaryPromoted']);
  assert.equal(done.requeueAfterMs, undefined);

  const rollingBack: CanaryState = { ...promoting, phase: 'RollingBack', weight: 0, phaseStartTime: iso(0) };
  assert.deepEqual(types(step(spec, rollingBack, { routedWeight: 10 }, at(S))), ['setWeight']);
  assert.deepEqual(types(step(spec, rollingBack, { routedWeight: 0 }, at(S))), ['removeCanary']);
  assert.deepEqual(types(step(spec, rollingBack, { routedWeight: 0, canaryRemoved: true }, at(S))), [
    'CanaryRolledBack',
  ]);

  // too late to abort a promotion under way; said once
  const abort = { requests: [{ action: 'abort' as const, token: iso(S) }] };
  const ignored = step(spec, promoting, abort, at(S));
  assert.deepEqual(types(ignored), ['AbortIgnored', 'promote']);
  assert.deepEqual(types(step(spec, ignored.state, abort, at(2 * S))), ['promote']);
});

test('table: while the weight is not in place nothing is measured and the step clock does not run', () => {
  const spec = canarySpec();
  const first = step(spec, undefined, { routedWeight: 0 }, at(0));
  assert.deepEqual(
    first.actions.filter((a) => a.type !== 'event'),
    [{ type: 'setWeight', weight: 10 }],
  );
  assert.equal(first.state.weightReachedTime, undefined);
  assert.match(
    first.state.message,
    /waiting for the traffic router to send 10% of traffic to the canary \(it reports 0%\)/,
  );
  const later = step(spec, first.state, { routedWeight: 0 }, at(50 * S));
  assert.equal(later.state.weightReachedTime, undefined);
  assert.deepEqual(
    later.actions.filter((a) => a.type === 'measure'),
    [],
  );
  const reached = step(spec, later.state, { routedWeight: 10 }, at(51 * S));
  assert.equal(reached.state.weightReachedTime, iso(51 * S));
  assert.equal(reached.requeueAfterMs, 10 * S);
});

test('table: a pause while the weight is not in place gives the router a fresh deadline on resume', () => {
  const spec = canarySpec({}, { weightDeadlineMs: 60 * S });
  const waiting = step(spec, undefined, { routedWeight: 0 }, at(0));
  const pause = [{ action: 'pause' as const, token: iso(S) }];
  const pausedState = step(spec, waiting.state, { routedWeight: 0, requests: pause }, at(S));
  assert.equal(pausedState.state.phase, 'Paused');
  assert.equal(pausedState.requeueAfterMs, PAUSED_POLL_MS);
  const resume = [...pause, { action: 'resume' as const, token: iso(600 * S) }];
  const resumed = step(spec, pausedState.state, { routedWeight: 0, requests: resume }, at(600 * S));
  assert.equal(resumed.state.phase, 'Progressing');
  assert.equal(resumed.state.reason, 'WaitingForWeight');
  assert.equal(resumed.state.stepStartTime, iso(600 * S));
  assert.deepEqual(
    resumed.actions.map((a) => (a.type === 'event' ? a.reason : a.type)),
    ['CanaryResumed', 'setWeight'],
  );
});

// ---------------------------------------------------------------------------------------------
// failureRatio metrics: counts read every counters.interval, judged sequentially

const GATEWAY_ERRORS = {
  name: 'gateway-errors',
  failureRatio: {
    failed: 'sum(requests_total{service="{{canaryService}}", code=~"5.."})',
    total: 'sum(requests_total{service="{{canaryService}}"})',
  },
  max: 0.05,
};

/**
 * A gateway's counters of the canary backend: `rps` requests a second while the world routes any
 * traffic to the canary, each failing with probability `failing` (a seeded stream), on top of what
 * earlier canaries left in them.
 */
class GatewayCounters {
  failed: number;
  total: number;
  private lastMs = 0;
  private readonly rng: () => number;

  constructor(
    private readonly world: () => World,
    readonly rps: number,
    public failing: number,
    seed = 1,
    start = { failed: 0, total: 0 },
  ) {
    this.failed = start.failed;
    this.total = start.total;
    let state = seed >>> 0 || 1;
    // xorshift32: enough for a simulated stream of requests
    this.rng = () => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) / 2 ** 32;
    };
  }
  readonly source: Source = (query, ms) => {
    this.advance(ms);
    return value(query.includes('code=~') ? this.failed : this.total);
  };
  private advance(ms: number): void {
    const served = (t: number) => Math.floor((t * this.rps) / S);
    const requests = (this.world().routed ?? 0) > 0 ? served(ms) - served(this.lastMs) : 0;
    this.lastMs = ms;
    for (let i = 0; i < requests; i++) {
      this.total += 1;
      if (this.rng() < this.failing) this.failed += 1;
    }
  }
}

function countedSpec(analysis: Record<string, unknown> = {}): CanarySpec {
  return canarySpec({
    steps: [
      { weight: 25, pause: '30s' },
      { weight: 50, pause: '30s' },
    ],
    analysis: { interval: '10s', metrics: [GATEWAY_ERRORS], ...analysis },
  });
}

function countedWorld(rps: number, failing: number, seed = 1, start?: { failed: number; total: number }) {
  const world = new World(healthy, 0);
  const counters = new GatewayCounters(() => world, rps, failing, seed, start);
  world.source = counters.source;
  return { world, counters };
}

test('failureRatio: a canary failing half its requests is rolled back seconds after its weight is in place, not at the first round', () => {
  const { world, counters } = countedWorld(6, 0.5);
  const { state } = drive(countedSpec(), world);
  assertClean(state, 'RolledBack', 'AnalysisFailed');
  const inPlace = world.routedLog.find((r) => r.weight === 25)!.at;
  const decided = Date.parse(state.decision!.time) - T0;
  assert.ok(decided - inPlace <= 3 * S, `decided ${(decided - inPlace) / S}s after the weight was in place`);
  assert.match(
    state.decision!.message,
    /gateway-errors failed once.*failed of \d+ requests .*above the limit 0\.05 at 99% confidence/,
  );
  assert.ok(counters.failed <= 12, `${counters.failed} failed requests before the decision`);
  const failed = state.measurements.find((m) => m.result === 'Failed')!;
  assert.equal(failed.threshold, 'failed share max 0.05 at 99% confidence');
});

test('failureRatio: a good canary is promoted no later than the same steps with a threshold query', () => {
  const counted = countedWorld(6, 0);
  const byCounts = drive(countedSpec(), counted.world);
  assertClean(byCounts.state, 'Promoted', 'AnalysisPassed');
  const byQuery = drive(
    canarySpec({
      steps: [
        { weight: 25, pause: '30s' },
        { weight: 50, pause: '30s' },
      ],
    }),
    new World(healthy, 0),
  );
  assertClean(byQuery.state, 'Promoted', 'AnalysisPassed');
  const promotedAt = (result: { state: CanaryState }) => Date.parse(result.state.decision!.time);
  assert.ok(
    promotedAt(byCounts) <= promotedAt(byQuery),
    `by counts ${byCounts.state.decision!.time}, by a query ${byQuery.state.decision!.time}`,
  );
  assert.match(byCounts.state.decision!.message, /within the limit 0\.05 at 99% confidence/);
});

test('failureRatio: counts start at the canary; what earlier canaries left in the counters does not count', () => {
  const { world } = countedWorld(6, 0, 1, { failed: 5000, total: 10_000 });
  const { state } = drive(countedSpec(), world);
  assertClean(state, 'Promoted', 'AnalysisPassed');
  assert.deepEqual(
    state.counterBaselines?.map((b) => [b.metric, b.failed, b.total]),
    [['gateway-errors', 5000, 10_000]],
  );
});

test('failureRatio: a counter that goes down was reset, and the counts go on from zero', () => {
  const { world, counters } = countedWorld(6, 0);
  world.on(45 * S, () => {
    counters.failed = 0;
    counters.total = 0;
  });
  const { state } = drive(countedSpec(), world);
  assertClean(state, 'Promoted', 'AnalysisPassed');
  assert.equal(state.counterBaselines?.[0]?.total, 0);
});

test('failureRatio: a share above max that is not yet conclusive waits for more requests, and the step passes once the share is within', () => {
  // 6 requests a second; one in 15 fails (above 5%, but too few to tell) until 4 have, none after
  const source: Source = (query, ms) => {
    const total = Math.floor((ms * 6) / S);
    return value(query.includes('code=~') ? Math.min(4, Math.floor(total / 15)) : total);
  };
  const world = new World(source, 0);
  const { state } = drive(countedSpec(), world);
  assertClean(state, 'Promoted', 'AnalysisPassed');
  const rounds = world.events.filter((e) => e.reason === 'CanaryAnalysis').map((e) => e.message);
  assert.match(
    rounds[0]!,
    /Waiting: gateway-errors: 4 failed of 66 requests \(0\.0606\): not yet conclusive .*> max 0\.05 so far/,
  );
  assert.match(rounds[1]!, /Successful: gateway-errors: 4 failed of 126 requests .*<= max 0\.05 so far/);
  assert.equal(state.counts[0]?.inconclusive, 0);
});

test('failureRatio: a share above max that stays inconclusive counts as Inconclusive once the pause has elapsed', () => {
  // one request a second, one in ten failing: above 5%, never conclusive within a 30 s step
  const source: Source = (query, ms) => {
    const total = Math.floor(ms / S);
    return value(query.includes('code=~') ? Math.floor(total / 10) : total);
  };
  const world = new World(source, 0);
  const { state } = drive(countedSpec(), world);
  assertClean(state, 'RolledBack', 'NoData');
  const rounds = world.events.filter((e) => e.reason === 'CanaryAnalysis').map((e) => e.message);
  assert.equal(rounds.filter((m) => m.includes('Waiting: gateway-errors')).length, 2, rounds.join('\n'));
  assert.match(state.decision!.message, /inconclusive once.*> max 0\.05 so far/);
});

test('failureRatio: a canary without traffic is Inconclusive at the round, as a 0/0 query is', () => {
  const { world } = countedWorld(0, 0);
  const { state } = drive(countedSpec(), world);
  assertClean(state, 'RolledBack', 'NoData');
  assert.match(state.decision!.message, /no requests yet, so the limit 0\.05 cannot be judged/);
});

test('failureRatio: counters that cannot be read are errors at the round, not evidence', () => {
  const world = new World(() => ({ kind: 'error', message: 'connection refused' }), 0);
  const { state } = drive(countedSpec({ consecutiveErrorLimit: 1 }), world);
  assertClean(state, 'RolledBack', 'ProviderError');
  assert.match(state.decision!.message, /the failed query failed: connection refused/);
});

test('failureRatio: a good canary (1% failing against 5%) is never rolled back, whatever the stream', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (seed) => {
      const { world } = countedWorld(20, 0.01, seed);
      const { state } = drive(countedSpec(), world);
      assert.equal(state.phase, 'Promoted', state.message);
    }),
    { numRuns: 40 },
  );
});

test('failureRatio: an analysis whose counter queries cannot be rendered is refused at the start', () => {
  const spec = countedSpec({
    metrics: [
      { ...GATEWAY_ERRORS, failureRatio: { ...GATEWAY_ERRORS.failureRatio, total: 'x{a="{{nope}}"}' } },
    ],
  });
  const { state } = drive(spec, new World(healthy, 0));
  assertClean(state, 'RolledBack', 'InvalidAnalysis');
  assert.match(state.decision!.message, /metric gateway-errors: .*\{\{nope\}\}/);
});

test('failureRatio: counters read from an endpoint must be selectors, refused at the start otherwise', () => {
  const spec = countedSpec({
    counters: { url: 'http://gateway:9100/metrics' },
    metrics: [
      { ...GATEWAY_ERRORS, failureRatio: { ...GATEWAY_ERRORS.failureRatio, total: 'sum(rate(x[1m]))' } },
    ],
  });
  const { state } = drive(spec, new World(healthy, 0));
  assertClean(state, 'RolledBack', 'InvalidAnalysis');
  assert.match(
    state.decision!.message,
    /metric gateway-errors: "sum\(rate\(x\[1m\]\)\)" is not a counter selector/,
  );
});
