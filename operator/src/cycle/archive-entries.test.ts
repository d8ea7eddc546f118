import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultedMinimalSpec } from '../../../test/support/agents.js';
import type { ParameterSpec } from '../api/parameters.js';
import type { ImprovementCycle } from '../api/resources.js';
import type { Candidate, CyclePhase, GainLedger, ImprovementCycleStatus } from '../api/schema.js';
import { archiveEntriesOf } from './archive-entries.js';

const DECLARED: ParameterSpec[] = [
  { name: 'cache-size', env: 'CACHE_SIZE', type: 'integer', min: 1, max: 1024 },
  { name: 'eviction', env: 'EVICTION', type: 'choice', choices: ['lru', 'lfu'] },
  { name: 'refresh-ahead', env: 'REFRESH_AHEAD', type: 'boolean' },
];
const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);
const COMPLETED = '2026-01-01T01:30:00.000Z';
const GAIN: GainLedger = { objective: 'p99', predicted: 20, canary: 4, ratio: 0.2, message: 'median of 3' };

function config(id: string, verdict: Candidate['verdict'], parameters: Record<string, string>): Candidate {
  return { id, kind: 'config', summary: `config ${id}`, parameters, ...(verdict ? { verdict } : {}) };
}

function code(id: string, verdict: Candidate['verdict'], sha256: string): Candidate {
  return {
    id,
    kind: 'code',
    summary: `code ${id}`,
    patch: {
      configMap: 'quote-1-diffs',
      key: `${id}.diff`,
      sha256,
      files: 1,
      linesAdded: 3,
      linesRemoved: 1,
    },
    ...(verdict ? { verdict } : {}),
  };
}

/** A cycle named `quote-1` in `phase` that tried `candidates` from the starting values below. */
function cycle(phase: CyclePhase, candidates: Candidate[], status: ImprovementCycleStatus = {}) {
  const ended: ImprovementCycle = {
    metadata: { name: 'quote-1', namespace: 'shop' },
    spec: {
      agent: 'quote',
      slot: '2026-01-01T01:00:00.000Z',
      agentGeneration: 1,
      agentSpec: defaultedMinimalSpec(),
    },
    status: {
      phase,
      startTime: '2026-01-01T01:00:00.000Z',
      completionTime: COMPLETED,
      candidates,
      proposal: {
        proposer: 'tuner',
        // what the candidates started from; `retired` is no longer declared
        startingParameters: { 'cache-size': '64', eviction: 'lru', 'refresh-ahead': 'false', retired: '3' },
        promptTokens: 0,
        completionTokens: 0,
        costUSD: 0,
        attempts: [],
      },
      ...status,
    },
  };
  return ended;
}

/** The canary's decision to roll back, as the canary machine leaves it. */
function rolledBackCanary(message: string): ImprovementCycleStatus['canary'] {
  return {
    phase: 'RolledBack',
    reason: 'AnalysisFailed',
    message: 'rolled back',
    startTime: '2026-01-01T01:10:00.000Z',
    phaseStartTime: '2026-01-01T01:29:00.000Z',
    stepIndex: 1,
    weight: 0,
    counts: [],
    measurements: [],
    handledRequests: {},
    decision: { action: 'Rollback', reason: 'AnalysisFailed', message, time: '2026-01-01T01:29:00.000Z' },
  };
}

test('a cycle still running adds nothing to the archive', () => {
  for (const phase of ['Pending', 'Evaluating', 'Selecting', 'Canary'] as const) {
    const running = cycle(phase, [config('c1', 'Passed', { 'cache-size': '128' })], {
      selected: 'c1',
      completionTime: undefined,
    });
    assert.deepEqual(archiveEntriesOf(running, DECLARED), [], phase);
  }
  assert.deepEqual(archiveEntriesOf({ ...cycle('Promoted', []), status: undefined }, DECLARED), []);
});

test('a promoted cycle archives every judged candidate; the delivered one is Promoted with commit and gain', () => {
  const promoted = cycle(
    'Promoted',
    [
      { ...config('c1', 'Passed', { 'cache-size': '256' }), score: 12, parent: 'quote-0/c2' },
      { ...config('c2', 'Failed', { eviction: 'lfu' }), score: -3, reasons: ['GoalImproved: p99 worse'] },
      { ...code('c3', 'Refused', SHA_A), reasons: ['ProtectedPath: test/quote.test.ts'] },
      code('c4', 'Passed', SHA_B),
      config('c5', 'Pending', { 'cache-size': '512' }),
      config('c6', undefined, { 'cache-size': '8' }),
    ],
    { selected: 'c1', commit: 'abc123', gain: GAIN },
  );
  const entries = archiveEntriesOf(promoted, DECLARED);
  assert.deepEqual(
    entries.map((entry) => [entry.id, entry.verdict]),
    [
      ['quote-1/c1', 'Promoted'],
      ['quote-1/c2', 'Failed'],
      ['quote-1/c3', 'Refused'],
      ['quote-1/c4', 'Passed'],
    ],
    'a candidate never judged is left out',
  );
  const [c1, c2, c3, c4] = entries;
  assert.deepEqual(c1, {
    id: 'quote-1/c1',
    cycle: 'quote-1',
    kind: 'config',
    summary: 'config c1',
    parent: 'quote-0/c2',
    parameters: { 'cache-size': 256, eviction: 'lru', 'refresh-ahead': false },
    score: 12,
    verdict: 'Promoted',
    commit: 'abc123',
    gain: GAIN,
    evaluatedAt: COMPLETED,
  });
  assert.deepEqual(c2?.parameters, { 'cache-size': 64, eviction: 'lfu', 'refresh-ahead': false });
  assert.deepEqual(c2?.reasons, ['GoalImproved: p99 worse']);
  assert.equal(c2?.commit, undefined, 'only the delivered candidate has the commit');
  assert.equal(c2?.gain, undefined);
  assert.equal(c3?.diffSha256, SHA_A);
  assert.equal(c3?.parameters, undefined, 'a code candidate has no parameter values');
  assert.deepEqual(c3?.reasons, ['ProtectedPath: test/quote.test.ts']);
  assert.equal(c4?.diffSha256, SHA_B);
  assert.equal(c4?.commit, undefined);
});

test('a rolled-back cycle archives its delivered candidate as RolledBack, naming the decision first', () => {
  const decision = 'latency 0.41 s is 1.6 times stable, above max ratio 1.2';
  const rolledBack = cycle(
    'RolledBack',
    [
      { ...code('c1', 'Passed', SHA_A), score: 30, reasons: ['self-reported benchmark'] },
      config('c2', 'Failed', { 'refresh-ahead': 'true' }),
    ],
    { selected: 'c1', commit: 'def456', gain: GAIN, canary: rolledBackCanary(decision) },
  );
  const [c1, c2] = archiveEntriesOf(rolledBack, DECLARED);
  assert.equal(c1?.verdict, 'RolledBack');
  assert.equal(c1?.reasons?.[0], `Rolled back in production: ${decision}`);
  assert.equal(c1?.reasons?.[1], 'self-reported benchmark', "the sandbox's reasons follow");
  assert.equal(c1?.commit, 'def456');
  assert.deepEqual(c1?.gain, GAIN);
  assert.equal(c1?.diffSha256, SHA_A);
  assert.equal(c2?.verdict, 'Failed');
  assert.deepEqual(c2?.parameters, { 'cache-size': 64, eviction: 'lru', 'refresh-ahead': true });
});

test('a cycle that ended before delivery keeps its candidates as the sandbox judged them', () => {
  for (const phase of ['Failed', 'Rejected'] as const) {
    const ended = cycle(phase, [config('c1', 'Passed', { 'cache-size': '128' })], {
      selected: 'c1',
      commit: 'abc123',
      gain: GAIN,
    });
    const [c1] = archiveEntriesOf(ended, DECLARED);
    assert.equal(c1?.verdict, 'Passed', phase);
    assert.equal(c1?.commit, undefined, phase);
    assert.equal(c1?.gain, undefined, phase);
  }
});

test('a promotion the watch took back is archived as RolledBack with the regression, not Promoted', () => {
  const regression =
    'Reverted: the revision before runs again. Regression after promotion: latency 0.3 is 3x the revision before 0.1';
  const reverted = cycle('Promoted', [{ ...code('c1', 'Passed', SHA_A), score: 30 }], {
    selected: 'c1',
    commit: 'def456',
    watch: { phase: 'Reverted', message: regression, until: '2026-12-01T10:15:00Z', counts: [] },
  });
  const [c1] = archiveEntriesOf(reverted, DECLARED);
  assert.equal(c1?.verdict, 'RolledBack');
  assert.equal(c1?.reasons?.[0], `Reverted after promotion: ${regression}`);
  const passed = cycle('Promoted', [{ ...code('c1', 'Passed', SHA_A), score: 30 }], {
    selected: 'c1',
    watch: { phase: 'Passed', message: 'ok', until: '2026-12-01T10:15:00Z', counts: [] },
  });
  assert.equal(archiveEntriesOf(passed, DECLARED)[0]?.verdict, 'Promoted');
});
