import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { ArchiveEntry, ArchiveVerdict } from './archive-entry.js';
import { recordEntries } from './archive.js';
import { drawSeed, parentOdds, selectParent, type ParentOdds } from './parent-selection.js';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';

function entry(id: string, overrides: Partial<ArchiveEntry> = {}): ArchiveEntry {
  return {
    id,
    cycle: id.split('/')[0] ?? id,
    kind: 'config',
    summary: id,
    verdict: 'Passed',
    evaluatedAt: '2025-01-01T00:00:00Z',
    ...overrides,
  };
}

const oddsOf = (odds: readonly ParentOdds[], id: string | undefined) => {
  const found = odds.find((o) => o.id === id);
  assert.ok(found, `no odds for ${id}`);
  return found;
};

test('the baseline and every stepping stone are candidates; failures are not', () => {
  const archive = [
    entry('c1/a', { score: 3 }),
    entry('c1/b', { verdict: 'Failed', score: 9 }),
    entry('c2/a', { parent: 'c1/a', verdict: 'Promoted', score: 5 }),
    entry('c2/b', { parent: 'c1/a', verdict: 'RolledBack', score: 8 }),
  ];
  const { odds } = parentOdds({ archive });
  assert.deepEqual(
    odds.map((o) => o.id),
    [undefined, 'c1/a', 'c2/a'],
  );
  assert.equal(oddsOf(odds, undefined).children, 2);
  assert.equal(oddsOf(odds, 'c1/a').children, 2);
  assert.equal(oddsOf(odds, 'c2/a').children, 0);
});

test('weights follow sigmoid(λ·(normalised score − median)) / (1 + children)', () => {
  // Scores 0, 5, 10 normalise to 0, 0.5, 1; the median is 0.5 (score 5).
  const archive = [
    entry('a', { score: 0 }),
    entry('b', { score: 5 }),
    entry('c', { score: 10 }),
    entry('d', { parent: 'c' }),
  ];
  const { odds, midpoint } = parentOdds({ archive, lambda: 10 });
  assert.equal(midpoint, 5);
  const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
  assert.equal(oddsOf(odds, 'a').weight, sigmoid(-5));
  assert.equal(oddsOf(odds, 'b').weight, 0.5);
  assert.equal(oddsOf(odds, 'c').weight, sigmoid(5) / 2);
  // Neither the baseline nor the unscored stone 'd' has a score: both are neutral. The baseline
  // has three children (a, b and c started from it).
  assert.equal(oddsOf(odds, undefined).weight, 0.5 / 4);
  assert.equal(oddsOf(odds, 'd').weight, 0.5);
  const total = odds.reduce((sum, o) => sum + o.weight, 0);
  for (const o of odds) assert.equal(o.probability, o.weight / total);
});

test('a known baseline score takes part in the normalisation', () => {
  const { odds } = parentOdds({ archive: [entry('a', { score: 1 })], baselineScore: 3 });
  assert.ok(oddsOf(odds, undefined).probability > oddsOf(odds, 'a').probability);
});

test('equal scores, no scores, or an empty archive give equal performance', () => {
  assert.deepEqual(
    parentOdds({ archive: [] }).odds.map((o) => o.probability),
    [1],
  );
  const equal = parentOdds({
    archive: [entry('a', { score: 2 }), entry('b', { score: 2 })],
    baselineScore: 2,
  });
  assert.deepEqual(
    equal.odds.map((o) => o.performance),
    [0.5, 0.5, 0.5],
  );
});

test('a bad lambda is a programming error', () => {
  assert.throws(() => parentOdds({ archive: [], lambda: 0 }), RangeError);
  assert.throws(() => parentOdds({ archive: [], lambda: Number.NaN }), RangeError);
});

test('the choice is fixed by the seed and follows the probabilities', () => {
  const archive = [
    entry('low', { score: 0 }),
    entry('high', { score: 10 }),
    entry('busy', { score: 10 }),
    ...Array.from({ length: 3 }, (_, i) => entry(`child-${i}`, { parent: 'busy', verdict: 'Failed' })),
  ];
  const first = selectParent({ archive, rng: xoroshiro128plus(7) });
  const again = selectParent({ archive, rng: xoroshiro128plus(7) });
  assert.equal(first.parent?.id, again.parent?.id);

  const draws = 5000;
  const rng = xoroshiro128plus(1);
  const counts = new Map<string | undefined, number>();
  for (let i = 0; i < draws; i++) {
    const id = selectParent({ archive, rng }).parent?.id;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  for (const odds of first.odds) {
    const observed = (counts.get(odds.id) ?? 0) / draws;
    assert.ok(
      Math.abs(observed - odds.probability) < 0.025,
      `${odds.id}: ${observed} vs ${odds.probability}`,
    );
  }
  assert.equal(first.parent === undefined || first.odds.some((o) => o.id === first.parent?.id), true);
});

const verdictArb = fc.constantFrom<ArchiveVerdict>('Passed', 'Failed', 'Refused', 'Promoted', 'RolledBack');
const archiveArb = fc
  .array(
    fc.record({
      verdict: verdictArb,
      score: fc.option(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { nil: undefined }),
      parentIndex: fc.option(fc.nat(), { nil: undefined }),
    }),
    { maxLength: 40 },
  )
  .map((rows) =>
    rows.map((row, i) =>
      entry(`e${i}`, {
        verdict: row.verdict,
        score: row.score,
        parent: row.parentIndex === undefined || i === 0 ? undefined : `e${row.parentIndex % i}`,
      }),
    ),
  );

test('property: probabilities are positive for every candidate and sum to 1', () => {
  fc.assert(
    fc.property(
      archiveArb,
      fc.double({ min: 0.01, max: 1000, noNaN: true }),
      fc.option(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { nil: undefined }),
      (archive, lambda, baselineScore) => {
        const { odds } = parentOdds({ archive, lambda, baselineScore });
        const stones = archive.filter((e) => e.verdict === 'Passed' || e.verdict === 'Promoted');
        assert.equal(odds.length, stones.length + 1);
        for (const o of odds) assert.ok(o.probability > 0, `${o.id} has probability ${o.probability}`);
        const sum = odds.reduce((total, o) => total + o.probability, 0);
        assert.ok(Math.abs(sum - 1) < 1e-9, `probabilities sum to ${sum}`);
      },
    ),
    { numRuns: 300 },
  );
});

test('a variant rolled back after it passed is never drawn, however high its score', () => {
  // It passed the sandbox with the best score, and was a stepping stone until production rolled
  // it back; the later verdict reaches the archive through recordEntries, as the cycle's fold does.
  const passed = entry('c2/a', { score: 100 });
  let archive = [
    entry('c1/a', { score: 1 }),
    entry('c1/b', { verdict: 'Failed', score: 50 }),
    passed,
    entry('c2/b', { verdict: 'Refused' }),
  ];
  assert.ok(
    parentOdds({ archive }).odds.some((o) => o.id === 'c2/a'),
    'a stepping stone while it passed',
  );
  archive = recordEntries(archive, [
    { ...passed, verdict: 'RolledBack', reasons: ['p99-vs-stable: ratio 3.1 > max 1.25'] },
  ]);
  const rng = xoroshiro128plus(11);
  const drawn = new Set<string | undefined>();
  for (let i = 0; i < 2000; i++) drawn.add(selectParent({ archive, rng }).parent?.id);
  assert.deepEqual([...drawn].sort(), ['c1/a', undefined]);
});

test('property: the drawn parent is the baseline or a Passed or Promoted entry, never a failure', () => {
  fc.assert(
    fc.property(archiveArb, fc.integer(), (archive, seed) => {
      const { parent } = selectParent({ archive, rng: xoroshiro128plus(seed) });
      if (parent === undefined) return;
      assert.ok(
        parent.verdict === 'Passed' || parent.verdict === 'Promoted',
        `${parent.id}: ${parent.verdict}`,
      );
      assert.ok(archive.includes(parent));
    }),
    { numRuns: 500 },
  );
});

test('property: at equal children a higher score has higher odds; at equal score fewer children do', () => {
  fc.assert(
    fc.property(
      archiveArb,
      fc.double({ min: -100, max: 100, noNaN: true }),
      fc.double({ min: 0.01, max: 100, noNaN: true }),
      fc.nat({ max: 5 }),
      fc.nat({ max: 5 }),
      (archive, score, gap, children, extra) => {
        const scored = [
          ...archive,
          entry('better', { score: score + gap }),
          entry('worse', { score }),
          entry('fewer', { score }),
          entry('more', { score }),
          ...Array.from({ length: children }, (_, i) =>
            entry(`b${i}`, { parent: 'better', verdict: 'Failed' }),
          ),
          ...Array.from({ length: children }, (_, i) =>
            entry(`w${i}`, { parent: 'worse', verdict: 'Failed' }),
          ),
          ...Array.from({ length: children }, (_, i) =>
            entry(`f${i}`, { parent: 'fewer', verdict: 'Failed' }),
          ),
          ...Array.from({ length: children + extra + 1 }, (_, i) =>
            entry(`m${i}`, { parent: 'more', verdict: 'Failed' }),
          ),
        ];
        const { odds } = parentOdds({ archive: scored });
        assert.ok(oddsOf(odds, 'better').probability >= oddsOf(odds, 'worse').probability);
        assert.ok(oddsOf(odds, 'fewer').probability > oddsOf(odds, 'more').probability);
      },
    ),
    { numRuns: 300 },
  );
});

test('a higher score at equal children is strictly favoured at the default lambda', () => {
  const archive = [
    entry('a', { score: 1 }),
    entry('b', { score: 2 }),
    entry('c', { score: 2.001 }),
    entry('d', { score: 9 }),
  ];
  const { odds } = parentOdds({ archive });
  const probabilities = ['a', 'b', 'c', 'd'].map((id) => oddsOf(odds, id).probability);
  assert.deepEqual(
    probabilities,
    [...probabilities].sort((x, y) => x - y),
  );
  assert.equal(new Set(probabilities).size, 4);
});

test("successive cycles draw independently: the first value of each cycle's seed spreads over [0, 1)", () => {
  // seeded with the names' plain hash, every cycle drew about 0.058: always the first candidate
  const draws = Array.from({ length: 400 }, (_, i) =>
    uniformFloat64(xoroshiro128plus(drawSeed(1, `quote-latency-${29942800 + i}`))),
  );
  const deciles = Array.from({ length: 10 }, (_, d) => draws.filter((x) => Math.floor(x * 10) === d).length);
  for (const [decile, count] of deciles.entries()) {
    assert.ok(
      count >= 20 && count <= 60,
      `decile ${decile} holds ${count} of 400 draws: ${deciles.join(' ')}`,
    );
  }
  assert.equal(drawSeed(1, 'quote-latency-1'), drawSeed(1, 'quote-latency-1'), 'a rerun draws the same');
  assert.notEqual(drawSeed(1, 'quote-latency-1'), drawSeed(2, 'quote-latency-1'));
});
