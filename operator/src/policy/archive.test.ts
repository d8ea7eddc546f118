import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ArchiveEntry, ArchiveVerdict } from './archive-entry.js';
import {
  countChildren,
  childrenOf,
  DEFAULT_RETENTION,
  isSteppingStone,
  mergeRecoveredArchive,
  recordEntries,
  retainArchive,
  steppingStones,
  truncateEntry,
  truncateText,
  updateVerdict,
  type RetentionLimits,
} from './archive.js';

let clock = 0;
function entry(id: string, overrides: Partial<ArchiveEntry> = {}): ArchiveEntry {
  clock += 1;
  return {
    id,
    cycle: id.split('/')[0] ?? id,
    kind: 'config',
    summary: `candidate ${id}`,
    verdict: 'Passed',
    evaluatedAt: new Date(Date.UTC(2025, 0, 1, 0, 0, clock)).toISOString(),
    ...overrides,
  };
}

test('recording appends new entries oldest first and updates known ids in place', () => {
  const a = entry('c1/a', { score: 1, parameters: { cache: 64 } });
  const b = entry('c1/b', { verdict: 'Failed', reasons: ['tests failed'] });
  const archive = recordEntries([], [a, b]);
  assert.deepEqual(
    archive.map((e) => e.id),
    ['c1/a', 'c1/b'],
  );

  const promoted = recordEntries(archive, [
    { ...a, verdict: 'Promoted', commit: 'abc123', score: undefined, parameters: undefined },
    entry('c2/a'),
  ]);
  assert.deepEqual(
    promoted.map((e) => e.id),
    ['c1/a', 'c1/b', 'c2/a'],
  );
  const updated = promoted[0];
  assert.equal(updated?.verdict, 'Promoted');
  assert.equal(updated?.commit, 'abc123');
  assert.equal(updated?.score, 1, 'an update without a score keeps the recorded one');
  assert.deepEqual(updated?.parameters, { cache: 64 });
  assert.equal(archive[0]?.verdict, 'Passed', 'the input is not mutated');
});

test('a later verdict updates one entry; an unknown id changes nothing', () => {
  const archive = [entry('c1/a', { score: 2 }), entry('c1/b')];
  const rolledBack = updateVerdict(archive, 'c1/a', 'RolledBack', {
    reasons: ['p99 latency above threshold'],
  });
  assert.equal(rolledBack[0]?.verdict, 'RolledBack');
  assert.deepEqual(rolledBack[0]?.reasons, ['p99 latency above threshold']);
  assert.equal(rolledBack[0]?.score, 2);
  assert.equal(rolledBack[1], archive[1]);
  assert.deepEqual(updateVerdict(archive, 'gone', 'Promoted'), archive);
});

test('children are counted per parent, the baseline under undefined, failures included', () => {
  const archive = [
    entry('c1/a'),
    entry('c1/b', { verdict: 'Failed' }),
    entry('c2/a', { parent: 'c1/a' }),
    entry('c2/b', { parent: 'c1/a', verdict: 'Refused' }),
    entry('c3/a', { parent: 'c2/a' }),
  ];
  const counts = countChildren(archive);
  assert.equal(childrenOf(counts, undefined), 2);
  assert.equal(childrenOf(counts, 'c1/a'), 2);
  assert.equal(childrenOf(counts, 'c2/a'), 1);
  assert.equal(childrenOf(counts, 'c3/a'), 0);
});

test('stepping stones are the passed and promoted entries', () => {
  const verdicts: ArchiveVerdict[] = ['Passed', 'Failed', 'Refused', 'Promoted', 'RolledBack'];
  const archive = verdicts.map((verdict, i) => entry(`c${i}/x`, { verdict }));
  assert.deepEqual(
    steppingStones(archive).map((e) => e.verdict),
    ['Passed', 'Promoted'],
  );
  assert.equal(isSteppingStone({ verdict: 'RolledBack' }), false);
});

test('retention keeps stones up to the cap and the newest failures, in archive order', () => {
  const limits: RetentionLimits = { ...DEFAULT_RETENTION, maxSteppingStones: 3, maxFailures: 2 };
  const archive = [
    entry('c1/promoted', { verdict: 'Promoted', score: 0 }),
    entry('c1/f1', { verdict: 'Failed' }),
    entry('c2/low', { score: 1 }),
    entry('c2/f2', { verdict: 'Refused' }),
    entry('c3/high', { score: 9 }),
    entry('c3/f3', { verdict: 'RolledBack', score: 5 }),
    entry('c4/mid', { score: 5 }),
    entry('c4/unscored'),
  ];
  assert.deepEqual(
    retainArchive(archive, limits).map((e) => e.id),
    ['c1/promoted', 'c2/f2', 'c3/high', 'c3/f3', 'c4/mid'],
  );
});

test('retention cuts summaries and reasons to their limits', () => {
  const long = 'x'.repeat(2000);
  const reasons = Array.from({ length: 20 }, (_, i) => `${i}: ${long}`);
  const [kept] = retainArchive([entry('c1/a', { verdict: 'Failed', summary: long, reasons })]);
  assert.equal(kept?.summary.length, DEFAULT_RETENTION.maxSummaryLength);
  assert.ok(kept?.summary.endsWith('…'));
  assert.equal(kept?.reasons?.length, 8);
  assert.ok(kept?.reasons?.every((reason) => reason.length <= 512));
  assert.equal(kept?.reasons?.[7], '… and 13 more');

  const short = entry('c1/b', { reasons: ['fine'] });
  assert.equal(truncateEntry(short), short, 'an entry within limits is returned as is');
});

test('truncation counts code points and never splits a surrogate pair', () => {
  assert.equal(truncateText('🙂🙂🙂🙂', 3), '🙂🙂…');
  assert.equal(truncateText('abc', 3), 'abc');
  assert.equal(truncateText('abc', 0), '');
});

test('the worst-case retained archive stays within 1 MiB (etcd refuses objects over 1.5 MiB)', () => {
  const parameters = Object.fromEntries(
    Array.from({ length: 32 }, (_, i) => [`param-${i}`, 'v'.repeat(253)]),
  );
  const archive = Array.from({ length: 500 }, (_, i) =>
    entry(`cycle-${'c'.repeat(60)}-${i}/candidate-${i}`, {
      verdict: i % 2 === 0 ? 'Passed' : 'Failed',
      score: i,
      summary: 's'.repeat(5000),
      reasons: Array.from({ length: 50 }, () => 'r'.repeat(5000)),
      parameters,
      commit: 'f'.repeat(40),
    }),
  );
  const retained = retainArchive(archive);
  const bytes = Buffer.byteLength(JSON.stringify(retained));
  assert.ok(bytes <= (DEFAULT_RETENTION.maxBytes as number), `retained archive takes ${bytes} bytes`);
  assert.ok(bytes < 1024 * 1024, `retained archive takes ${bytes} bytes`);
  // what the byte bound let go is the oldest failures, never the newest
  assert.ok(retained.some((kept) => kept.id === archive[499]?.id));
  assert.ok(retained.length <= 256, 'the schema holds at most 256 entries');
});

test('a typical archive keeps 192 failures, the older ones with their first reason only', () => {
  const archive = Array.from({ length: 400 }, (_, i) =>
    entry(`cycle-${i}/c1`, {
      verdict: i % 8 === 0 ? 'Passed' : 'Failed',
      score: i,
      parameters: { 'cache-size': i * 10, 'batch-window': i % 20, retries: i % 4 },
      reasons: ['GoalImproved: p99 51 ms is not below the baseline 50 ms', 'TestsPass: 2 of 14 failed'],
    }),
  );
  const retained = retainArchive(archive);
  const failures = retained.filter((kept) => kept.verdict === 'Failed');
  assert.equal(failures.length, DEFAULT_RETENTION.maxFailures);
  assert.equal(
    retained.filter((kept) => kept.verdict === 'Passed').length,
    DEFAULT_RETENTION.maxSteppingStones,
  );
  const detailed = DEFAULT_RETENTION.maxDetailedFailures as number;
  assert.deepEqual(
    failures.map((kept) => kept.reasons?.length),
    failures.map((_, i) => (i >= failures.length - detailed ? 2 : 1)),
  );
  assert.equal(failures[failures.length - 1]?.id, 'cycle-399/c1');
});

test('recovered stepping stones fill in what status lost; status wins on conflicts', () => {
  const status = [
    entry('c2/a', { evaluatedAt: '2025-01-02T00:00:00Z', verdict: 'RolledBack' }),
    entry('c4/a', { evaluatedAt: '2025-01-04T00:00:00Z' }),
  ];
  const recovered = [
    entry('c3/a', { evaluatedAt: '2025-01-03T00:00:00Z', verdict: 'Promoted' }),
    entry('c1/a', { evaluatedAt: '2025-01-01T00:00:00Z' }),
    entry('c2/a', { evaluatedAt: '2025-01-02T00:00:00Z', verdict: 'Promoted' }),
    entry('c5/a', { evaluatedAt: '2025-01-05T00:00:00Z' }),
    entry('c6/a', { evaluatedAt: '2025-01-06T00:00:00Z', verdict: 'Failed' }),
  ];
  const merged = mergeRecoveredArchive(status, recovered);
  assert.deepEqual(
    merged.map((e) => `${e.id}:${e.verdict}`),
    ['c1/a:Passed', 'c2/a:RolledBack', 'c3/a:Promoted', 'c4/a:Passed', 'c5/a:Passed'],
  );
  assert.deepEqual(mergeRecoveredArchive(status, []), status);
});

const verdictArb = fc.constantFrom<ArchiveVerdict>('Passed', 'Failed', 'Refused', 'Promoted', 'RolledBack');
const archiveArb = fc
  .array(
    fc.record({
      verdict: verdictArb,
      score: fc.option(fc.double({ min: -100, max: 100, noNaN: true }), { nil: undefined }),
      reasons: fc.option(fc.array(fc.string({ maxLength: 700 }), { maxLength: 12 }), { nil: undefined }),
      summary: fc.string({ maxLength: 400 }),
    }),
    { maxLength: 80 },
  )
  .map((rows) => rows.map((row, i) => ({ ...entry(`c${i}/x`), ...row })));
const limitsArb = fc.record({
  maxSteppingStones: fc.integer({ min: 0, max: 40 }),
  maxFailures: fc.integer({ min: 0, max: 40 }),
  maxReasons: fc.integer({ min: 0, max: 10 }),
  maxReasonLength: fc.integer({ min: 0, max: 600 }),
  maxSummaryLength: fc.integer({ min: 0, max: 300 }),
});

test('property: retention keeps min(stones, cap) stones, min(failures, cap) failures, within size limits', () => {
  fc.assert(
    fc.property(archiveArb, limitsArb, (archive, limits) => {
      const retained = retainArchive(archive, limits);
      const stones = archive.filter(isSteppingStone).length;
      assert.equal(retained.filter(isSteppingStone).length, Math.min(stones, limits.maxSteppingStones));
      assert.equal(
        retained.filter((e) => !isSteppingStone(e)).length,
        Math.min(archive.length - stones, limits.maxFailures),
      );
      const order = archive.map((e) => e.id);
      const positions = retained.map((e) => order.indexOf(e.id));
      assert.deepEqual(
        positions,
        [...positions].sort((a, b) => a - b),
        'archive order is kept',
      );
      for (const kept of retained) {
        assert.ok(Array.from(kept.summary).length <= limits.maxSummaryLength);
        assert.ok((kept.reasons?.length ?? 0) <= limits.maxReasons);
        assert.ok((kept.reasons ?? []).every((r) => Array.from(r).length <= limits.maxReasonLength));
      }
      const newestPromoted = archive.filter((e) => e.verdict === 'Promoted').at(-1);
      if (newestPromoted && limits.maxSteppingStones > 0) {
        assert.ok(
          retained.some((e) => e.id === newestPromoted.id),
          'the newest promoted variant is kept',
        );
      }
    }),
    { numRuns: 300 },
  );
});
