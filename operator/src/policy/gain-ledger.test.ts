import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultedMinimalSpec } from '../../../test/support/agents.js';
import type { CanaryMeasurementRecord, GainLedger } from '../api/schema.js';
import type { ArchiveEntry } from './archive-entry.js';
import {
  benchmarkTrust,
  canaryLedger,
  improvementPercent,
  objectiveMetric,
  withProductionGain,
  withProductionUnmeasured,
} from './gain-ledger.js';

/** An agent whose primary objective is p99 (measured by the judge), going `direction`. */
function spec(options: { direction?: 'Minimize' | 'Maximize'; metrics?: Record<string, unknown>[] } = {}) {
  return defaultedMinimalSpec({
    objectives: [
      { name: 'errors', query: 'sum(rate(errors[1m]))' },
      { name: 'p99', workload: 'p99_ms', direction: options.direction ?? 'Minimize' },
    ],
    rollout: {
      analysis: {
        metrics: options.metrics ?? [
          { name: 'error-rate', query: 'errors', max: 0.05 },
          { name: 'latency', query: 'p99', maxRatioToStable: 1.2, objective: 'p99' },
        ],
      },
    },
  });
}

let minute = 0;
/** One canary measurement of `metric`: the canary's value against stable's. */
function measured(metric: string, value: number | undefined, stableValue: number | undefined) {
  minute += 1;
  const record: CanaryMeasurementRecord = {
    metric,
    time: new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString(),
    step: 0,
    weight: 10,
    result: 'Successful',
    ...(value !== undefined ? { value } : {}),
    ...(stableValue !== undefined ? { stableValue } : {}),
    threshold: 'max ratio 1.2',
    message: `${metric} ${value}`,
  };
  return record;
}

/** A delivered candidate's archive entry, evaluated at `time`, with its ledger. */
function delivery(id: string, time: string, gain: Partial<GainLedger>): ArchiveEntry {
  return {
    id,
    cycle: id.split('/')[0] ?? id,
    kind: 'code',
    summary: id,
    verdict: 'RolledBack',
    gain: { objective: 'p99', message: 'measured', ...gain },
    evaluatedAt: time,
  };
}

test('improvement is the reference minus the value for Minimize, the value minus it for Maximize', () => {
  assert.equal(improvementPercent(200, 150, 'Minimize'), 25);
  assert.equal(improvementPercent(200, 250, 'Minimize'), -25);
  assert.equal(improvementPercent(200, 250, 'Maximize'), 25);
  assert.equal(improvementPercent(200, 150, 'Maximize'), -25);
  assert.equal(improvementPercent(3, 2, 'Minimize'), 33.3, 'rounded to a tenth of a percent');
});

test('no improvement against a reference that is zero, negative or not a number', () => {
  for (const reference of [0, -10, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.equal(improvementPercent(reference, 5, 'Minimize'), undefined, String(reference));
    assert.equal(improvementPercent(reference, 5, 'Maximize'), undefined, String(reference));
  }
  assert.equal(improvementPercent(100, Number.NaN, 'Minimize'), undefined);
});

test('the primary objective is the first one measured in the sandbox, with the metric naming it', () => {
  const found = objectiveMetric(spec());
  assert.equal(found?.objective.name, 'p99');
  assert.equal(found?.metric?.name, 'latency');
});

test('an agent with no objective measured in the sandbox keeps no ledger', () => {
  const queryOnly = defaultedMinimalSpec();
  assert.equal(objectiveMetric(queryOnly), undefined);
  assert.equal(canaryLedger(queryOnly, 20, [measured('latency', 80, 100)]), undefined);
});

test('with no analysis metric naming the objective, the ledger says so and has no canary gain', () => {
  const ledger = canaryLedger(spec({ metrics: [{ name: 'latency', query: 'p99', max: 300 }] }), 20, [
    measured('latency', 80, 100),
  ]);
  assert.ok(ledger);
  assert.equal(ledger.objective, 'p99');
  assert.equal(ledger.predicted, 20);
  assert.equal(ledger.canary, undefined);
  assert.equal(ledger.ratio, undefined);
  assert.match(ledger.message, /No analysis metric names objective p99/);
});

test("the canary's gain is the median over the named metric's measurements against stable", () => {
  const ledger = canaryLedger(spec(), 20, [
    measured('latency', 90, 100), // +10
    measured('error-rate', 1, 100), // another metric: +99 if it counted
    measured('latency', 40, 100), // +60: an outlier the median is not moved by
    measured('latency', 50, undefined), // no stable value: +50 if it counted
    measured('latency', undefined, 100), // no canary value
    measured('latency', 80, 100), // +20
  ]);
  assert.equal(ledger?.canary, 20);
  assert.equal(ledger?.ratio, 1);
  assert.match(ledger?.message ?? '', /median of 3 measurements/);
  const even = canaryLedger(spec(), 20, [measured('latency', 90, 100), measured('latency', 80, 100)]);
  assert.equal(even?.canary, 15, 'an even count takes the mean of the middle two');
});

test('for Maximize the canary gains when its value is above stable', () => {
  const ledger = canaryLedger(spec({ direction: 'Maximize' }), 10, [measured('latency', 110, 100)]);
  assert.equal(ledger?.canary, 10);
  assert.equal(ledger?.ratio, 1);
});

test('no finite measurement of the named metric: the canary gain is unknown and said to be', () => {
  const ledger = canaryLedger(spec(), 20, [measured('latency', 90, 0), measured('error-rate', 1, 2)]);
  assert.equal(ledger?.canary, undefined);
  assert.equal(ledger?.ratio, undefined);
  assert.match(ledger?.message ?? '', /latency measurements had no finite value/);
});

test('only a positive prediction has a ratio of observed over predicted', () => {
  const canary = [measured('latency', 95, 100)]; // +5
  assert.equal(canaryLedger(spec(), 20, canary)?.ratio, 0.25);
  for (const predicted of [0, -10, undefined, Number.NaN]) {
    const ledger = canaryLedger(spec(), predicted, canary);
    assert.equal(ledger?.canary, 5, String(predicted));
    assert.equal(ledger?.ratio, undefined, String(predicted));
  }
  assert.equal(canaryLedger(spec(), Number.NaN, canary)?.predicted, undefined);
});

test("production's gain after promotion replaces the canary's in the ratio", () => {
  const ledger = canaryLedger(spec(), 20, [measured('latency', 80, 100)]);
  assert.equal(ledger?.ratio, 1);
  assert.ok(ledger);
  const checkedAt = new Date('2026-01-02T00:00:00Z');
  const after = withProductionGain(
    ledger,
    'Minimize',
    { before: 200, after: 190, description: 'p99 200 ms before, 190 ms after' },
    checkedAt,
  );
  assert.equal(after.production, 5);
  assert.equal(after.canary, 20, 'the canary figure stays');
  assert.equal(after.ratio, 0.25);
  assert.equal(after.productionCheckedAt, checkedAt.toISOString());
  assert.match(after.message, /After promotion: p99 200 ms before, 190 ms after\./);
  assert.equal(ledger.production, undefined, 'the input is not changed');
});

test('a window production cannot be compared with is checked, unmeasured, and keeps the canary ratio', () => {
  const ledger = canaryLedger(spec(), 20, [measured('latency', 90, 100)]);
  assert.ok(ledger);
  const checkedAt = new Date('2026-01-02T00:00:00Z');
  const empty = withProductionGain(
    ledger,
    'Minimize',
    { before: 0, after: 190, description: 'no traffic before the canary' },
    checkedAt,
  );
  assert.equal(empty.production, undefined);
  assert.equal(empty.productionCheckedAt, checkedAt.toISOString());
  assert.equal(empty.ratio, 0.5);
  assert.match(empty.message, /not measured \(no traffic before the canary; no gain can be computed/);

  const unmeasured = withProductionUnmeasured(ledger, 'Prometheus unreachable', checkedAt);
  assert.equal(unmeasured.productionCheckedAt, checkedAt.toISOString());
  assert.equal(unmeasured.production, undefined);
  assert.equal(unmeasured.ratio, 0.5);
  assert.match(unmeasured.message, /After promotion: not measured \(Prometheus unreachable\)\.$/);
});

test('two shortfalls in a row: the benchmark does not predict production, and the message names both', () => {
  const trust = benchmarkTrust([
    delivery('c1/a', '2026-01-01T01:00:00Z', { predicted: 20, canary: 2, ratio: 0.1 }),
    delivery('c0/a', '2026-01-01T00:00:00Z', { predicted: 10, canary: 8, ratio: 0.8 }),
    delivery('c2/b', '2026-01-01T02:00:00Z', { predicted: 30, canary: 5, production: -3, ratio: -0.1 }),
  ]);
  assert.ok(!trust.predictive, trust.message);
  assert.deepEqual(trust.shortfalls.map((entry) => entry.id).sort(), ['c1/a', 'c2/b']);
  assert.match(trust.message, /c1\/a predicted \+20%, showed \+2%/);
  assert.match(trust.message, /c2\/b predicted \+30%, showed -3%/, "production's figure, not the canary's");
  assert.match(trust.message, /2 deliveries in a row/);
});

test('a shortfall followed by a delivery that kept its promise leaves the benchmark trusted', () => {
  const trust = benchmarkTrust([
    delivery('c1/a', '2026-01-01T00:00:00Z', { predicted: 20, canary: 1, ratio: 0.05 }),
    delivery('c2/a', '2026-01-01T01:00:00Z', { predicted: 20, canary: 1, ratio: 0.05 }),
    delivery('c3/a', '2026-01-01T02:00:00Z', { predicted: 20, canary: 18, ratio: 0.9 }),
  ]);
  assert.ok(trust.predictive, trust.message);
  assert.equal(trust.measured, 2);
  const once = benchmarkTrust([
    delivery('c1/a', '2026-01-01T00:00:00Z', { predicted: 20, canary: 1, ratio: 0.05 }),
    delivery('c2/a', '2026-01-01T01:00:00Z', { predicted: 20, canary: 18, ratio: 0.9 }),
  ]);
  assert.ok(once.predictive, once.message);
});

test('shortfalls before a person trusted the benchmark again do not count', () => {
  const archive = [
    delivery('c1/a', '2026-01-01T00:00:00Z', { predicted: 20, canary: 1, ratio: 0.05 }),
    delivery('c2/a', '2026-01-01T01:00:00Z', { predicted: 20, canary: 1, ratio: 0.05 }),
    delivery('c3/a', '2026-01-01T03:00:00Z', { predicted: 20, canary: 1, ratio: 0.05 }),
  ];
  assert.equal(benchmarkTrust(archive).predictive, false);
  const trust = benchmarkTrust(archive, new Date('2026-01-01T02:00:00Z'));
  assert.ok(trust.predictive, trust.message);
  assert.equal(trust.measured, 1);
  // the next shortfall after the decision is the second in a row again
  const again = [...archive, delivery('c4/a', '2026-01-01T04:00:00Z', { predicted: 20, ratio: 0.1 })];
  assert.equal(benchmarkTrust(again, new Date('2026-01-01T02:00:00Z')).predictive, false);
});

test('with no measured delivery the benchmark is trusted with nothing measured', () => {
  const unmeasured: ArchiveEntry[] = [
    delivery('c1/a', '2026-01-01T00:00:00Z', { predicted: 20 }),
    {
      id: 'c1/b',
      cycle: 'c1',
      kind: 'config',
      summary: 'b',
      verdict: 'Failed',
      evaluatedAt: '2026-01-01T00:00:00Z',
    },
  ];
  for (const archive of [[], unmeasured]) {
    const trust = benchmarkTrust(archive);
    assert.ok(trust.predictive);
    assert.equal(trust.measured, 0);
    assert.match(trust.message, /No delivery has been measured/);
  }
});
