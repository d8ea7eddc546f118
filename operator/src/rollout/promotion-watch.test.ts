import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultedMinimalSpec } from '../../../test/support/agents.js';
import type { PromotionWatch } from '../api/schema.js';
import type { Measurement } from './metric-provider.js';
import {
  stepWatch,
  type WatchAction,
  type WatchObservations,
  type WatchSpec,
  type WatchStepResult,
} from './promotion-watch.js';

const CANARY_START = Date.parse('2026-12-01T10:00:00Z');
const PROMOTED_AT = Date.parse('2026-12-01T10:02:00Z');
const at = (seconds: number) => new Date(PROMOTED_AT + seconds * 1000);
const value = (v: number): Measurement => ({ kind: 'value', value: v });

const LATENCY = {
  name: 'latency',
  query: 'histogram_quantile(0.99, rate(d_bucket{pod=~"{{canary}}-.*"}[30s]))',
  maxRatioToStable: 1.5,
};
const ERRORS = { name: 'errors', query: 'rate(e{pod=~"{{canary}}-.*"}[30s])', max: 0.05 };

function spec(metrics: object[] = [LATENCY, ERRORS], failureLimit = 0): WatchSpec {
  const agentSpec = defaultedMinimalSpec({
    target: { deployment: 'web' },
    rollout: {
      afterPromotion: { window: '2m', watch: true },
      analysis: { interval: '10s', failureLimit, metrics },
    },
  });
  return {
    rollout: agentSpec.rollout,
    target: { namespace: 'shop', service: 'web', canary: 'web', stable: 'web', canaryService: 'web' },
    promotedAt: new Date(PROMOTED_AT),
    canaryStart: new Date(CANARY_START),
  };
}

/** Steps the watch, answering its measure actions with `answer(metric)` as the reconciler would. */
function visit(
  watchSpec: WatchSpec,
  before: PromotionWatch | undefined,
  now: Date,
  answer: (metric: string) => Measurement,
  extra: WatchObservations = {},
): WatchStepResult {
  let result = stepWatch(watchSpec, before, extra, now);
  for (let i = 0; i < 3; i += 1) {
    const ask = result.actions.find(
      (a): a is Extract<WatchAction, { queries: unknown }> =>
        a.type === 'measure' || a.type === 'measureBaseline',
    );
    if (!ask) return result;
    const answered = ask.queries.map((q) => ({ metric: q.metric, value: answer(q.metric) }));
    const observations: WatchObservations =
      ask.type === 'measureBaseline'
        ? { ...extra, baseline: answered }
        : { ...extra, measurements: { takenAt: now, results: answered } };
    result = stepWatch(watchSpec, before, observations, now);
  }
  return result;
}

test('the first visit starts the watch and measures the baseline over the window before the canary', () => {
  const first = stepWatch(spec(), undefined, {}, at(0));
  assert.equal(first.state.phase, 'Watching');
  assert.equal(first.state.until, at(120).toISOString());
  const ask = first.actions.find((a) => a.type === 'measureBaseline');
  assert.ok(ask && ask.type === 'measureBaseline');
  assert.deepEqual(
    ask.queries.map((q) => q.metric),
    ['latency'],
    'only ratio metrics need a baseline',
  );
  // 2m window ending when the canary started, 120 s before now
  assert.match(
    ask.queries[0]!.query,
    /^avg_over_time\(\(histogram_quantile.*pod=~"web-\.\*".*\)\[120s:10s\] offset 120s\)$/,
  );
  assert.ok(first.actions.some((a) => a.type === 'event' && a.reason === 'WatchStarted'));
});

test('a healthy revision passes the window; each round is judged against the baseline', () => {
  const watchSpec = spec();
  let result = visit(watchSpec, undefined, at(0), () => value(0.1));
  assert.deepEqual(result.state.baseline, { latency: 0.1 });
  assert.equal(result.requeueAfterMs, 10_000);
  let state = result.state;
  for (let s = 10; s <= 120; s += 10) {
    result = visit(watchSpec, state, at(s), (metric) => value(metric === 'latency' ? 0.12 : 0.01));
    state = result.state;
  }
  assert.equal(state.phase, 'Passed');
  assert.match(state.message, /ended without a regression \(22 measurements judged\)/);
  assert.ok(result.actions.some((a) => a.type === 'event' && a.reason === 'WatchPassed'));
  assert.deepEqual(stepWatch(watchSpec, state, {}, at(500)).actions, [], 'over is over');
});

test('latency that degrades after promotion is reverted at the first failed round beyond failureLimit', () => {
  const watchSpec = spec([LATENCY], 1);
  let state = visit(watchSpec, undefined, at(0), () => value(0.1)).state;
  state = visit(watchSpec, state, at(10), () => value(0.11)).state;
  assert.equal(state.phase, 'Watching');
  state = visit(watchSpec, state, at(20), () => value(0.3)).state;
  assert.equal(state.phase, 'Watching', 'one failure is within failureLimit 1');
  assert.equal(state.firstFailureTime, at(20).toISOString());
  const decided = visit(watchSpec, state, at(30), () => value(0.3));
  assert.equal(decided.state.phase, 'Reverting');
  assert.equal(decided.state.decisionTime, at(30).toISOString());
  assert.match(
    decided.state.message,
    /latency 0\.3 is 3x the revision before 0\.1, above at most 1\.5x the revision before/,
  );
  assert.ok(decided.actions.some((a) => a.type === 'event' && a.reason === 'RegressionAfterPromotion'));

  // the revert is asked for until it is observed done
  const waiting = stepWatch(watchSpec, decided.state, {}, at(31));
  assert.deepEqual(waiting.actions, [{ type: 'revert' }]);
  assert.equal(waiting.state, decided.state, 'nothing changes while the revert rolls out');
  const done = stepWatch(watchSpec, { ...decided.state, revertedTo: 'c1-a' }, { reverted: true }, at(40));
  assert.equal(done.state.phase, 'Reverted');
  assert.equal(done.state.revertedTime, at(40).toISOString());
  assert.ok(
    done.actions.some(
      (a) =>
        a.type === 'event' &&
        a.reason === 'Reverted' &&
        /c1-a runs again, rolled out 10\.0s after the decision/.test(a.message),
    ),
  );
});

test('an absolute limit reverts without a baseline', () => {
  const watchSpec = spec([ERRORS]);
  let result = stepWatch(watchSpec, undefined, {}, at(0));
  assert.ok(!result.actions.some((a) => a.type === 'measureBaseline'));
  result = visit(watchSpec, result.state, at(10), () => value(0.2));
  assert.equal(result.state.phase, 'Reverting');
  assert.match(result.state.message, /errors 0\.2 > max 0\.05/);
});

test('no data and provider errors never revert, and never pass a round', () => {
  const watchSpec = spec();
  let state = visit(watchSpec, undefined, at(0), () => value(0.1)).state;
  for (let s = 10; s <= 120; s += 10) {
    state = visit(watchSpec, state, at(s), (metric) =>
      metric === 'latency' ? { kind: 'noData' } : { kind: 'error', message: 'connection refused' },
    ).state;
    assert.notEqual(state.phase, 'Reverting');
  }
  assert.equal(state.phase, 'Passed');
  assert.match(state.message, /0 measurements judged, 22 without data or with errors/);
});

test('a baseline Prometheus could not give is asked for again; no data leaves the ratio unjudged', () => {
  const watchSpec = spec([LATENCY]);
  const failed = visit(watchSpec, undefined, at(0), () => ({ kind: 'error', message: 'down' }));
  assert.equal(failed.state.baseline, undefined);
  assert.match(failed.state.message, /baseline could not be measured yet: latency: down/);
  assert.equal(failed.requeueAfterMs, 10_000);
  const none = visit(watchSpec, failed.state, at(10), (metric) => (metric ? { kind: 'noData' } : value(0)));
  assert.deepEqual(none.state.baseline, {});
  const round = visit(watchSpec, none.state, at(20), () => value(5));
  assert.equal(round.state.phase, 'Watching', 'a ratio with nothing to compare with is inconclusive');
  assert.equal(round.state.counts[0]?.inconclusive, 1);
});

test('a round taken before the last one, or seen twice, is ignored; a round comes once per interval', () => {
  const watchSpec = spec([ERRORS]);
  const started = stepWatch(watchSpec, undefined, {}, at(0));
  assert.equal(started.requeueAfterMs, 10_000);
  assert.deepEqual(
    stepWatch(watchSpec, started.state, {}, at(5)).actions,
    [],
    'not due before one interval after promotion',
  );
  const measured = visit(watchSpec, started.state, at(10), () => value(0.01)).state;
  const replay = stepWatch(
    watchSpec,
    measured,
    { measurements: { takenAt: at(10), results: [{ metric: 'errors', value: value(0.9) }] } },
    at(11),
  );
  assert.equal(replay.state.phase, 'Watching');
  assert.equal(replay.state.counts[0]?.failed, 0);
});

test('a watch that begins after its window (the operator was down) passes without judging', () => {
  const result = stepWatch(spec([ERRORS]), undefined, {}, at(600));
  assert.equal(result.state.phase, 'Passed');
  assert.match(result.state.message, /0 measurements judged/);
});

test("the canary's own stable rounds are the baseline; Prometheus is asked only for a metric they lack", () => {
  const second = { ...LATENCY, name: 'p99' };
  const watchSpec = { ...spec([LATENCY, second]), canaryStableValues: { latency: [0.1, 0.3, 0.2] } };
  const first = stepWatch(watchSpec, undefined, {}, at(0));
  const ask = first.actions.find((a) => a.type === 'measureBaseline');
  assert.ok(ask && ask.type === 'measureBaseline');
  assert.deepEqual(
    ask.queries.map((q) => q.metric),
    ['p99'],
  );
  const answered = stepWatch(
    watchSpec,
    undefined,
    { baseline: [{ metric: 'p99', value: value(0.5) }] },
    at(0),
  );
  assert.deepEqual(answered.state.baseline, { latency: 0.2, p99: 0.5 }, 'the median of the rounds');
  const all = stepWatch({ ...spec([LATENCY]), canaryStableValues: { latency: [0.1] } }, undefined, {}, at(0));
  assert.deepEqual(all.state.baseline, { latency: 0.1 });
  assert.ok(!all.actions.some((a) => a.type === 'measureBaseline'));
});
