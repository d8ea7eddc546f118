import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultedMinimalSpec } from '../../../test/support/agents.js';
import type { GainLedger, ImprovementCycleStatus } from '../api/schema.js';
import type { CycleContext } from '../cycle/ports.js';
import type { Measurement, MetricProvider } from './metric-provider.js';
import {
  PRODUCTION_GRACE_MS,
  awaitsProductionGain,
  measureProductionGain,
  windowAverage,
} from './production-gain.js';

const CANARY_START = Date.parse('2026-12-01T10:00:00Z');
const PROMOTED_AT = Date.parse('2026-12-01T10:05:00Z');
const WINDOW_MS = 60_000;
const LEDGER: GainLedger = { objective: 'p99', predicted: 40, canary: 30, ratio: 0.75, message: 'canary' };

/** A promoted cycle whose ledger awaits production, of an agent whose `latency` metric names p99. */
function cycle(metrics?: Record<string, unknown>[]): CycleContext {
  const agentSpec = defaultedMinimalSpec({
    target: { deployment: 'quote-service' },
    objectives: [{ name: 'p99', workload: 'p99_ms' }],
    rollout: {
      afterPromotion: { window: '1m' },
      analysis: {
        metrics: metrics ?? [
          {
            name: 'latency',
            query: 'histogram_quantile(0.99, rate(d_bucket{pod=~"{{canary}}-.*"}[30s]))',
            maxRatioToStable: 1.25,
            objective: 'p99',
          },
        ],
      },
    },
  });
  const status: ImprovementCycleStatus = {
    phase: 'Promoted',
    gain: LEDGER,
    canary: { startTime: new Date(CANARY_START).toISOString() } as ImprovementCycleStatus['canary'],
    promotion: { revision: 'r1', cycle: 'quote-1', promotedAt: new Date(PROMOTED_AT).toISOString() },
  };
  return {
    namespace: 'shop',
    name: 'quote-1',
    uid: 'u1',
    spec: { agent: 'quote', slot: new Date(CANARY_START).toISOString(), agentGeneration: 1, agentSpec },
    status,
  };
}

/** Answers queries in order, recording them. */
function provider(...answers: Measurement[]): MetricProvider & { queries: string[] } {
  const queries: string[] = [];
  return {
    queries,
    measure: async (query) => {
      queries.push(query);
      return answers.length > 1 ? answers.shift()! : answers[0]!;
    },
  };
}

const at = (ms: number) => new Date(ms);

test('a promoted cycle with a ledger and no production figure awaits it; once checked, or without a ledger, it does not', () => {
  assert.equal(awaitsProductionGain(cycle().status), true);
  assert.equal(
    awaitsProductionGain({
      ...cycle().status,
      gain: { ...LEDGER, productionCheckedAt: '2026-12-01T10:07:00Z' },
    }),
    false,
  );
  assert.equal(awaitsProductionGain({ ...cycle().status, gain: undefined }), false);
  assert.equal(awaitsProductionGain({ ...cycle().status, phase: 'RolledBack' }), false);
  assert.equal(awaitsProductionGain(undefined), false);
});

test('nothing is measured before the window after promotion has passed: come back when it has', async () => {
  const prometheus = provider({ kind: 'value', value: 1 });
  const outcome = await measureProductionGain(cycle(), prometheus, at(PROMOTED_AT + 20_000));
  assert.deepEqual(outcome, { state: 'waiting', retryAfterMs: WINDOW_MS - 20_000 });
  assert.deepEqual(prometheus.queries, []);
});

test('the stable Deployment is measured over the window before the canary and the window after promotion', async () => {
  const prometheus = provider({ kind: 'value', value: 0.05 }, { kind: 'value', value: 0.03 });
  const now = PROMOTED_AT + WINDOW_MS + 10_000;
  const outcome = await measureProductionGain(cycle(), prometheus, at(now));
  assert.equal(outcome.state, 'measured');
  const gain = (outcome as { gain: GainLedger }).gain;
  assert.equal(gain.production, 40, '0.05 → 0.03 is 40% better');
  assert.equal(gain.ratio, 1, 'production showed the predicted 40%');
  assert.equal(gain.productionCheckedAt, new Date(now).toISOString());
  assert.match(
    gain.message,
    /After promotion: latency on quote-service averaged over 60s, 0\.05 before the canary, 0\.03 after/,
  );
  // {{canary}} becomes the stable Deployment; the windows end at the canary's start and a window after promotion
  const rendered = 'histogram_quantile(0.99, rate(d_bucket{pod=~"quote-service-.*"}[30s]))';
  assert.deepEqual(prometheus.queries, [
    `avg_over_time((${rendered})[60s:5s] offset ${(now - CANARY_START) / 1000}s)`,
    `avg_over_time((${rendered})[60s:5s] offset 10s)`,
  ]);
});

test('no data is recorded as unmeasured at once, with the reason; the canary ratio stays', async () => {
  const now = PROMOTED_AT + WINDOW_MS;
  const outcome = await measureProductionGain(cycle(), provider({ kind: 'noData' }), at(now));
  assert.equal(outcome.state, 'measured');
  const gain = (outcome as { gain: GainLedger }).gain;
  assert.equal(gain.production, undefined);
  assert.equal(gain.ratio, 0.75);
  assert.equal(gain.productionCheckedAt, new Date(now).toISOString());
  assert.match(gain.message, /not measured \(Prometheus had no data before the canary\)/);
});

test('an unreachable Prometheus is retried within the grace period, then recorded as unmeasured', async () => {
  const down: Measurement = { kind: 'error', message: 'connection refused' };
  const soon = await measureProductionGain(cycle(), provider(down), at(PROMOTED_AT + WINDOW_MS + 1000));
  assert.deepEqual(soon, { state: 'waiting', retryAfterMs: 30_000 });
  const late = PROMOTED_AT + WINDOW_MS + PRODUCTION_GRACE_MS + 1000;
  const given = await measureProductionGain(cycle(), provider(down), at(late));
  assert.equal(given.state, 'measured');
  assert.match(
    (given as { gain: GainLedger }).gain.message,
    /query before the canary failed: connection refused/,
  );
});

test('without a metric naming the objective, or with a query that cannot be rendered, nothing is sent', async () => {
  const none = provider({ kind: 'value', value: 1 });
  const unnamed = await measureProductionGain(
    cycle([{ name: 'latency', query: 'x', maxRatioToStable: 2 }]),
    none,
    at(PROMOTED_AT + WINDOW_MS),
  );
  assert.match((unnamed as { gain: GainLedger }).gain.message, /no analysis metric names the objective/);
  const broken = await measureProductionGain(
    cycle([{ name: 'latency', query: 'rate(x{pod={{canary}}}[1m])', maxRatioToStable: 2, objective: 'p99' }]),
    none,
    at(PROMOTED_AT + WINDOW_MS),
  );
  assert.match((broken as { gain: GainLedger }).gain.message, /not measured \(cannot render the query/);
  assert.deepEqual(none.queries, []);
});

test('a window is averaged by a subquery, offset only when it ended in the past', () => {
  assert.equal(windowAverage('up', 600_000, 0), 'avg_over_time((up)[600s:50s])');
  assert.equal(windowAverage('up', 30_000, 90_400), 'avg_over_time((up)[30s:5s] offset 90s)');
});
