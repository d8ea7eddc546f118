import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { defaultedMinimalSpec } from '../../../test/support/agents.js';
import {
  countJudgement,
  countsForNewStep,
  decide,
  emptyCounts,
  judgeMeasurement,
  type AnalysisMetric,
  type AnalysisSpec,
  type Judgement,
  type MetricCounts,
} from './analysis.js';
import type { Measurement } from './metric-provider.js';

const value = (v: number): Measurement => ({ kind: 'value', value: v });
const noData: Measurement = { kind: 'noData' };
const failure = (message: string): Measurement => ({ kind: 'error', message });

const errorRate: AnalysisMetric = { name: 'error-rate', query: 'q', max: 0.05 };
const successRate: AnalysisMetric = { name: 'success-rate', query: 'q', min: 0.99 };
const band: AnalysisMetric = { name: 'latency', query: 'q', min: 0.1, max: 0.5 };
const ratio: AnalysisMetric = { name: 'error-rate', query: 'q', maxRatioToStable: 1.5 };
const ratioAndMax: AnalysisMetric = { name: 'error-rate', query: 'q', max: 0.05, maxRatioToStable: 1.5 };

/** A defaulted analysis, as the API server returns it, with `overrides`. */
function analysis(overrides: Partial<AnalysisSpec> = {}): AnalysisSpec {
  return { ...defaultedMinimalSpec().rollout.analysis, metrics: [errorRate], ...overrides };
}

test('judgement table: figure and threshold in words', () => {
  const table: [AnalysisMetric, Measurement, Measurement | undefined, Partial<Judgement>][] = [
    [
      errorRate,
      value(0.12),
      undefined,
      { result: 'Failed', value: 0.12, message: 'error-rate 0.12 > max 0.05' },
    ],
    [errorRate, value(0.01), undefined, { result: 'Successful', message: 'error-rate 0.01 <= max 0.05' }],
    [errorRate, value(0.05), undefined, { result: 'Successful', message: 'error-rate 0.05 <= max 0.05' }],
    [
      errorRate,
      value(0.0500001),
      undefined,
      { result: 'Failed', message: 'error-rate 0.0500001 > max 0.05' },
    ],
    [successRate, value(0.9), undefined, { result: 'Failed', message: 'success-rate 0.9 < min 0.99' }],
    [band, value(0.3), undefined, { result: 'Successful', message: 'latency 0.3 >= min 0.1 and <= max 0.5' }],
    [band, value(0.6), undefined, { result: 'Failed', message: 'latency 0.6 > max 0.5' }],
    [
      ratio,
      value(0.02),
      value(0.016),
      {
        result: 'Successful',
        ratio: 1.25,
        stableValue: 0.016,
        message: 'error-rate 0.02 is 1.25x stable 0.016, within at most 1.5x stable',
      },
    ],
    [
      ratio,
      value(0.05),
      value(0.02),
      {
        result: 'Failed',
        ratio: 2.5,
        message: 'error-rate 0.05 is 2.5x stable 0.02, above at most 1.5x stable',
      },
    ],
    [
      ratioAndMax,
      value(0.02),
      value(0.02),
      {
        result: 'Successful',
        threshold: 'max 0.05, at most 1.5x stable',
        message: 'error-rate 0.02 <= max 0.05 and is 1x stable 0.02, within at most 1.5x stable',
      },
    ],
    // an absolute failure needs no stable figure
    [ratioAndMax, value(0.2), failure('down'), { result: 'Failed', message: 'error-rate 0.2 > max 0.05' }],
    [ratio, value(0), value(0), { result: 'Successful', ratio: 1 }],
    [ratio, value(0.01), value(0), { result: 'Failed', ratio: undefined, stableValue: 0 }],
  ];
  for (const [metric, canary, stable, expected] of table) {
    const judgement = judgeMeasurement(metric, canary, stable);
    for (const [key, want] of Object.entries(expected)) {
      assert.deepEqual(
        judgement[key as keyof Judgement],
        want,
        `${JSON.stringify([metric, canary, stable])}.${key}`,
      );
    }
  }
});

test('no data, NaN, infinities and errors are never a success, and say why', () => {
  const table: [AnalysisMetric, Measurement, Measurement | undefined, Judgement['result'], RegExp][] = [
    [errorRate, noData, undefined, 'Inconclusive', /error-rate: the query returned no data/],
    [
      errorRate,
      value(Number.NaN),
      undefined,
      'Inconclusive',
      /returned NaN, not a number the threshold can judge/,
    ],
    [successRate, value(Infinity), undefined, 'Inconclusive', /returned \+Inf/],
    [errorRate, value(-Infinity), undefined, 'Inconclusive', /returned -Inf/],
    [
      errorRate,
      failure('connect ECONNREFUSED 10.0.0.1:9090'),
      undefined,
      'Error',
      /query failed: connect ECONNREFUSED/,
    ],
    [ratio, value(0.01), undefined, 'Error', /stable version was not measured/],
    [ratio, value(0.01), failure('timeout'), 'Error', /the stable query failed: timeout/],
    [ratio, value(0.01), noData, 'Inconclusive', /stable query returned no data/],
    [ratio, value(0.01), value(Number.NaN), 'Inconclusive', /stable NaN cannot be compared/],
    [ratio, value(-1), value(1), 'Inconclusive', /cannot be compared as a ratio/],
    [{ name: 'bare', query: 'q' }, value(1), undefined, 'Error', /bare has no threshold/],
  ];
  for (const [metric, canary, stable, result, message] of table) {
    const judgement = judgeMeasurement(metric, canary, stable);
    assert.equal(judgement.result, result, judgement.message);
    assert.match(judgement.message, message);
  }
});

test('property: a judgement only carries finite figures (status cannot hold NaN or Inf)', () => {
  const measurement = fc.oneof(fc.double().map(value), fc.constant(noData), fc.constant(failure('x')));
  const metric = fc.record(
    {
      name: fc.constant('m'),
      query: fc.constant('q'),
      min: fc.double({ noNaN: true, noDefaultInfinity: true }),
      max: fc.double({ noNaN: true, noDefaultInfinity: true }),
      maxRatioToStable: fc.double({ min: 0.01, max: 100, noNaN: true }),
    },
    { requiredKeys: ['name', 'query'] },
  );
  fc.assert(
    fc.property(metric, measurement, fc.option(measurement, { nil: undefined }), (m, canary, stable) => {
      const judgement = judgeMeasurement(m, canary, stable);
      for (const figure of [judgement.value, judgement.stableValue, judgement.ratio]) {
        assert.ok(figure === undefined || Number.isFinite(figure), JSON.stringify(judgement));
      }
      if (judgement.result === 'Successful') {
        assert.equal(canary.kind, 'value');
        assert.ok(Number.isFinite((canary as { value: number }).value));
      }
    }),
    { numRuns: 3000 },
  );
});

test('counts: successful per step, failures and errors per canary, errors in a row restart', () => {
  let counts: MetricCounts[] = [];
  const add = (result: Judgement['result']) => {
    counts = countJudgement(counts, 'error-rate', { result, message: result });
  };
  add('Error');
  add('Error');
  assert.deepEqual(counts, [
    {
      ...emptyCounts('error-rate'),
      errors: 2,
      consecutiveErrors: 2,
      lastResult: 'Error',
      lastMessage: 'Error',
    },
  ]);
  add('Successful');
  add('Failed');
  add('Inconclusive');
  assert.deepEqual(counts[0], {
    metric: 'error-rate',
    successful: 1,
    failed: 1,
    inconclusive: 1,
    errors: 2,
    consecutiveErrors: 0,
    lastResult: 'Inconclusive',
    lastMessage: 'Inconclusive',
  });
  assert.deepEqual(countsForNewStep(counts)[0], { ...counts[0], successful: 0 });
});

const counted = (metric: string, fields: Partial<MetricCounts>): MetricCounts => ({
  ...emptyCounts(metric),
  ...fields,
});
const elapsed = { elapsedMs: 60_000, pauseMs: 60_000 };

test('decide table: limits are exceeded strictly, rollbacks win over pauses', () => {
  const table: [Partial<AnalysisSpec>, MetricCounts[], string, RegExp][] = [
    [
      {},
      [counted('error-rate', { failed: 1, lastMessage: 'error-rate 0.12 > max 0.05' })],
      'Rollback',
      /error-rate failed once, more than failureLimit 0: error-rate 0.12 > max 0.05/,
    ],
    [
      { failureLimit: 1 },
      [counted('error-rate', { failed: 1, successful: 1, lastResult: 'Successful' })],
      'StepPassed',
      /every metric/,
    ],
    [
      { failureLimit: 1 },
      [counted('error-rate', { failed: 2 })],
      'Rollback',
      /failed 2 times, more than failureLimit 1/,
    ],
    [
      {},
      [counted('error-rate', { inconclusive: 1 })],
      'Rollback',
      /inconclusive once, more than inconclusiveLimit 0 \(onNoData: Rollback\)/,
    ],
    [{ onNoData: 'Pause' }, [counted('error-rate', { inconclusive: 1 })], 'Pause', /onNoData: Pause/],
    [
      { inconclusiveLimit: 2 },
      [counted('error-rate', { inconclusive: 2 })],
      'Continue',
      /successful measurements \(error-rate 0\/1\)/,
    ],
    [{}, [counted('error-rate', { consecutiveErrors: 4, errors: 4 })], 'Continue', /error-rate 0\/1/],
    [
      {},
      [counted('error-rate', { consecutiveErrors: 5 })],
      'Rollback',
      /could not be measured 5 times in a row, more than consecutiveErrorLimit 4/,
    ],
    [
      { onProviderError: 'Pause' },
      [counted('error-rate', { consecutiveErrors: 5 })],
      'Pause',
      /onProviderError: Pause/,
    ],
    // a pause from one metric does not hide a rollback from another
    [
      { onProviderError: 'Pause', metrics: [successRate, errorRate] },
      [counted('success-rate', { consecutiveErrors: 5 }), counted('error-rate', { failed: 1 })],
      'Rollback',
      /error-rate failed once/,
    ],
  ];
  for (const [overrides, counts, expected, reason] of table) {
    const decision = decide(analysis(overrides), counts, elapsed);
    assert.equal(decision.decision, expected, `${JSON.stringify([overrides, counts])}: ${decision.reason}`);
    assert.match(decision.reason, reason);
  }
});

test('the minimum-sample guard: a step passes only with enough successes and its pause elapsed', () => {
  const spec = analysis({ minSamples: 3, metrics: [errorRate, successRate] });
  const ok = { lastResult: 'Successful' as const };
  const two = [
    counted('error-rate', { successful: 3, ...ok }),
    counted('success-rate', { successful: 2, ...ok }),
  ];
  const three = [
    counted('error-rate', { successful: 3, ...ok }),
    counted('success-rate', { successful: 3, ...ok }),
  ];
  assert.deepEqual(decide(spec, two, elapsed), {
    decision: 'Continue',
    reason: 'waiting for successful measurements (success-rate 2/3)',
  });
  assert.deepEqual(decide(spec, three, { elapsedMs: 45_000, pauseMs: 60_000 }), {
    decision: 'Continue',
    reason: "waiting for 15s of the step's pause",
  });
  assert.equal(decide(spec, three, elapsed).decision, 'StepPassed');
  // successes from before an outage do not carry the step while the latest measurement failed
  const outage = [
    three[0] as MetricCounts,
    counted('success-rate', { successful: 3, errors: 1, consecutiveErrors: 1, lastResult: 'Error' }),
  ];
  assert.deepEqual(decide(spec, outage, elapsed), {
    decision: 'Continue',
    reason: 'waiting for a successful measurement after the latest Error one of success-rate',
  });
  // counts of a metric no longer configured do not stand in for a configured one
  assert.equal(decide(spec, [counted('other', { successful: 9 })], elapsed).decision, 'Continue');
});

test('with no metrics a step passes on time only, and the reason says nothing judged it', () => {
  const spec = analysis({ metrics: [] });
  assert.match(decide(spec, [], { elapsedMs: 10_000, pauseMs: 60_000 }).reason, /no analysis metrics.*50s/);
  const passed = decide(spec, [], elapsed);
  assert.equal(passed.decision, 'StepPassed');
  assert.match(passed.reason, /passed on time only, nothing judged it/);
});

test('property: decide never passes a step that lacks samples or time, or that broke a limit', () => {
  const counts = fc.record({
    successful: fc.nat(5),
    failed: fc.nat(3),
    inconclusive: fc.nat(3),
    errors: fc.nat(6),
    consecutiveErrors: fc.nat(6),
    lastResult: fc.constantFrom(
      'Successful' as const,
      'Failed' as const,
      'Inconclusive' as const,
      'Error' as const,
    ),
  });
  const limits = fc.record({
    failureLimit: fc.nat(2),
    inconclusiveLimit: fc.nat(2),
    consecutiveErrorLimit: fc.nat(5),
    minSamples: fc.integer({ min: 1, max: 4 }),
    onNoData: fc.constantFrom('Pause' as const, 'Rollback' as const),
    onProviderError: fc.constantFrom('Pause' as const, 'Rollback' as const),
  });
  fc.assert(
    fc.property(limits, counts, counts, fc.nat(120_000), (l, a, b, elapsedMs) => {
      const spec = analysis({ ...l, metrics: [errorRate, successRate] });
      const all = [counted('error-rate', a), counted('success-rate', b)];
      const decision = decide(spec, all, { elapsedMs, pauseMs: 60_000 });
      const broken = all.some(
        (c) =>
          c.failed > l.failureLimit ||
          c.inconclusive > l.inconclusiveLimit ||
          c.consecutiveErrors > l.consecutiveErrorLimit,
      );
      if (decision.decision === 'StepPassed') {
        assert.ok(!broken);
        assert.ok(elapsedMs >= 60_000);
        assert.ok(all.every((c) => c.successful >= l.minSamples && c.lastResult === 'Successful'));
      }
      if (all.some((c) => c.failed > l.failureLimit)) assert.equal(decision.decision, 'Rollback');
      if (broken) assert.ok(decision.decision === 'Rollback' || decision.decision === 'Pause');
    }),
    { numRuns: 5000 },
  );
});
