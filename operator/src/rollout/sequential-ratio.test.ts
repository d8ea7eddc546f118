import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { judgeRatio, logEvidence, type RatioDecision } from './sequential-ratio.js';

const LIMIT = 0.05;

test('a canary failing half its requests is above a 5% limit after ten requests, not after six', () => {
  assert.equal(judgeRatio({ failures: 3, total: 6 }, LIMIT, 0.99).decision, 'Undecided');
  const judged = judgeRatio({ failures: 5, total: 10 }, LIMIT, 0.99);
  assert.equal(judged.decision, 'Above');
  assert.equal(judged.ratio, 0.5);
  assert.equal(judged.message, '5 failed of 10 requests (0.5): above the limit 0.05 at 99% confidence');
});

test('a clean canary is within a 5% limit at 99% after about 150 requests, not after 100', () => {
  assert.equal(judgeRatio({ failures: 0, total: 100 }, LIMIT, 0.99).decision, 'Undecided');
  const judged = judgeRatio({ failures: 0, total: 150 }, LIMIT, 0.99);
  assert.equal(judged.decision, 'Within');
  assert.equal(judged.message, '0 failed of 150 requests (0): within the limit 0.05 at 99% confidence');
});

test('a ratio at the limit stays undecided however many requests, and no traffic says so', () => {
  assert.equal(judgeRatio({ failures: 500, total: 10_000 }, LIMIT, 0.99).decision, 'Undecided');
  assert.equal(
    judgeRatio({ failures: 0, total: 0 }, LIMIT, 0.99).message,
    'no requests yet, so the limit 0.05 cannot be judged',
  );
});

test('counts, limits and confidences that cannot be judged are undecided, with the reason', () => {
  const cases: [Parameters<typeof judgeRatio>, RegExp][] = [
    [[{ failures: 3, total: 2 }, LIMIT, 0.99], /3 failed of 2 requests are not counts/],
    [[{ failures: -1, total: 2 }, LIMIT, 0.99], /not counts/],
    [[{ failures: Number.NaN, total: 2 }, LIMIT, 0.99], /not counts/],
    [[{ failures: 1, total: Number.POSITIVE_INFINITY }, LIMIT, 0.99], /not counts/],
    [[{ failures: 1, total: 2 }, 0, 0.99], /limit must lie between 0 and 1, not 0/],
    [[{ failures: 1, total: 2 }, 1, 0.99], /limit must lie between 0 and 1, not 1/],
    [[{ failures: 1, total: 2 }, LIMIT, 1], /confidence must lie between 0.5 and 1, not 1/],
  ];
  for (const [args, message] of cases) {
    const judged = judgeRatio(...args);
    assert.equal(judged.decision, 'Undecided');
    assert.match(judged.message, message);
  }
});

test('counts a rate() made fractional are judged like whole ones', () => {
  const whole = judgeRatio({ failures: 5, total: 10 }, LIMIT, 0.99);
  const fractional = judgeRatio({ failures: 5.2, total: 10.4 }, LIMIT, 0.99);
  assert.equal(fractional.decision, whole.decision);
  assert.match(fractional.message, /^5\.2 failed of 10\.4 requests/);
});

test('more failures among as many requests is never less evidence of a ratio above the limit', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5000 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0.001, max: 0.5, noNaN: true }),
      (total, share, limit) => {
        const failures = Math.floor(share * (total - 1));
        const fewer = logEvidence(failures, total, limit);
        const more = logEvidence(failures + 1, total, limit);
        assert.ok(more.above >= fewer.above - 1e-9, `above: ${fewer.above} → ${more.above}`);
        assert.ok(more.within <= fewer.within + 1e-9, `within: ${fewer.within} → ${more.within}`);
      },
    ),
  );
});

test('the same counts are never both above and within the limit', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 100_000 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0.001, max: 0.999, noNaN: true }),
      fc.double({ min: 0.51, max: 0.9999, noNaN: true }),
      (total, share, limit, confidence) => {
        const judged = judgeRatio({ failures: Math.round(share * total), total }, limit, confidence);
        assert.ok(Number.isFinite(judged.logEvidenceAbove) && Number.isFinite(judged.logEvidenceWithin));
        assert.ok(
          !(
            judged.logEvidenceAbove >= Math.log(1 / (1 - confidence)) &&
            judged.logEvidenceWithin >= Math.log(1 / (1 - confidence))
          ),
        );
      },
    ),
  );
});

/** A canary's requests one by one, each failing with probability `failing`, judged after each. */
function firstDecision(
  rng: RandomGenerator,
  failing: number,
  requests: number,
  confidence: number,
  every = 1,
): { decision: RatioDecision; at: number } {
  let failures = 0;
  for (let total = 1; total <= requests; total++) {
    if (uniformFloat64(rng) < failing) failures++;
    if (total % every !== 0) continue;
    const { decision } = judgeRatio({ failures, total }, LIMIT, confidence);
    if (decision !== 'Undecided') return { decision, at: total };
  }
  return { decision: 'Undecided', at: requests };
}

/** How many of `runs` ever reached `decision`, and the requests each took. */
function simulate(
  failing: number,
  confidence: number,
  runs: number,
  requests: number,
  every = 1,
): { share: (decision: RatioDecision) => number; delays: number[] } {
  // one stream for all runs: generators seeded with nearby numbers start alike
  const rng = xoroshiro128plus(20261207);
  const outcomes = Array.from({ length: runs }, () =>
    firstDecision(rng, failing, requests, confidence, every),
  );
  return {
    share: (decision) => outcomes.filter((o) => o.decision === decision).length / runs,
    delays: outcomes.map((o) => o.at).sort((a, b) => a - b),
  };
}

// The guarantees hold for every number of looks: these look after every single request, the most
// looks there can be. The allowance above α is three binomial standard errors of the simulation.
function allowance(alpha: number, runs: number): number {
  return alpha + 3 * Math.sqrt((alpha * (1 - alpha)) / runs);
}

test('false alarms: a canary failing exactly at the limit is called above it in at most 1 − confidence of runs', () => {
  for (const confidence of [0.9, 0.99]) {
    const runs = 400;
    const { share } = simulate(LIMIT, confidence, runs, 2000);
    const alpha = 1 - confidence;
    assert.ok(
      share('Above') <= allowance(alpha, runs),
      `confidence ${confidence}: ${share('Above')} of runs called above, promised at most ${alpha}`,
    );
  }
});

test('false alarms: a good canary (1% failing against a 5% limit) is never called above and is soon within', () => {
  const runs = 400;
  const { share, delays } = simulate(0.01, 0.99, runs, 2000);
  assert.ok(share('Above') <= allowance(0.01, runs), `${share('Above')} of good runs called above`);
  assert.ok(share('Within') >= 0.95, `only ${share('Within')} of good runs shown within in 2000 requests`);
  const median = delays[Math.floor(delays.length / 2)]!;
  assert.ok(median <= 400, `median ${median} requests to show a 1% canary within a 5% limit`);
});

test('false alarms the other way: a canary failing at the limit is called within in at most 1 − confidence of runs', () => {
  const runs = 400;
  const { share } = simulate(LIMIT, 0.9, runs, 2000);
  assert.ok(share('Within') <= allowance(0.1, runs), `${share('Within')} of runs called within`);
});

test('detection delay: a canary failing half its requests is called above within 20 requests in 95% of runs', () => {
  const runs = 400;
  const { share, delays } = simulate(0.5, 0.99, runs, 200);
  assert.equal(share('Above'), 1);
  const median = delays[Math.floor(runs / 2)]!;
  const p95 = delays[Math.floor(runs * 0.95)]!;
  assert.ok(median <= 12, `median ${median} requests`);
  assert.ok(p95 <= 20, `95th percentile ${p95} requests`);
});

test('detection delay: twice the limit (10% against 5%) is found within 1000 requests in most runs', () => {
  const runs = 200;
  const { share, delays } = simulate(0.1, 0.99, runs, 2000, 10);
  assert.ok(share('Above') >= 0.9, `${share('Above')} of runs found it`);
  const median = delays[Math.floor(runs / 2)]!;
  assert.ok(median <= 1000, `median ${median} requests`);
});
