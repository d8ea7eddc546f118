import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HyperAgent } from '../api/resources.js';
import type { ArchiveRecord, Condition } from '../api/schema.js';
import { describeTrust, formatGain, renderArchive } from './render-archive.js';

const agent = (
  status: HyperAgent['status'] = {},
  approval: HyperAgent['spec']['approval'] = 'Auto',
): HyperAgent =>
  ({ metadata: { name: 'quote', namespace: 'shop' }, spec: { approval }, status }) as unknown as HyperAgent;

const record = (fields: Partial<ArchiveRecord> & Pick<ArchiveRecord, 'id' | 'verdict'>): ArchiveRecord => ({
  cycle: fields.id.split('/')[0]!,
  kind: 'config',
  summary: 'cache-size=600',
  evaluatedAt: '2026-12-01T10:00:00Z',
  ...fields,
});

const distrusted: Condition = {
  type: 'BenchmarkPredictive',
  status: 'False',
  reason: 'GainNotObserved',
  message: 'production showed 0.1 of the predicted gain over the last 3 deliveries',
  lastTransitionTime: '2026-12-02T10:00:00Z',
} as Condition;

// Stored oldest first, as the operator appends.
const archive: ArchiveRecord[] = [
  record({ id: 'quote-1/c1', verdict: 'Failed', score: -3.5, reasons: ['p99 rose'] }),
  record({
    id: 'quote-1/c2',
    verdict: 'Promoted',
    score: 48,
    gain: { objective: 'p99', predicted: 48, canary: 40, production: 51.2, ratio: 1.07, message: 'measured' },
  }),
  record({
    id: 'quote-2/c1',
    kind: 'code',
    parent: 'quote-1/c2',
    verdict: 'RolledBack',
    score: 12,
    summary: 'refresh-ahead:\non a miss, fetch the whole price table in one call',
    reasons: ['error-rate failed once, more than failureLimit 0: error-rate 1 > max 0.01', 'second reason'],
    gain: { objective: 'p99', predicted: 12, canary: -210, message: 'canary only' },
  }),
];

test('the gain reads predicted → observed, production before canary, ? for what is unknown', () => {
  assert.equal(
    formatGain({ objective: 'p99', predicted: 48, canary: 40, production: 51.2, message: '' }),
    '+48% → +51% (prod)',
  );
  assert.equal(
    formatGain({ objective: 'p99', predicted: 12, canary: -210, message: '' }),
    '+12% → -210% (canary)',
  );
  assert.equal(formatGain({ objective: 'p99', predicted: 4.56, message: '' }), '+4.6% → ?');
  assert.equal(formatGain({ objective: 'p99', canary: -0.01, message: '' }), '? → 0% (canary)');
  assert.equal(formatGain(undefined), '-');
});

test('the archive lists candidates newest first with kind, verdict, score, parent and gain', () => {
  const lines = renderArchive(agent({ archive })).split('\n');
  assert.match(lines[0]!, /^ID\s+KIND\s+VERDICT\s+SCORE\s+PARENT\s+GAIN\s+SUMMARY$/);
  assert.match(
    lines[1]!,
    /^quote-2\/c1\s+code\s+RolledBack\s+12\s+quote-1\/c2\s+\+12% → -210% \(canary\)\s+refresh-ahead: on a miss/,
  );
  assert.match(
    lines[3]!,
    /^quote-1\/c2\s+config\s+Promoted\s+48\s+-\s+\+48% → \+51% \(prod\)\s+cache-size=600$/,
  );
  assert.match(lines[4]!, /^quote-1\/c1\s+config\s+Failed\s+-3\.5\s+-\s+-\s+cache-size=600$/);
});

test('a RolledBack row has its first reason below it; other rows do not', () => {
  const lines = renderArchive(agent({ archive })).split('\n');
  assert.equal(lines[2], '  ↳ error-rate failed once, more than failureLimit 0: error-rate 1 > max 0.01');
  assert.doesNotMatch(lines.join('\n'), /second reason|p99 rose/);
});

test('the summary is cut to fit the width, never below 20 characters', () => {
  const narrow = renderArchive(agent({ archive }), 100).split('\n');
  const row = narrow[1]!;
  assert.equal(row.length, 100);
  assert.match(row, /…$/);
  const tiny = renderArchive(agent({ archive }), 10).split('\n')[1]!;
  assert.match(tiny, / {2}refresh-ahead: on a…$/, 'cut at the 20-character floor');
  const wide = renderArchive(agent({ archive }), 300);
  assert.match(wide, /fetch the whole price table in one call\n/);
});

test('the footer counts verdicts and, when trust is lost, says why and how to trust again', () => {
  const trusted = renderArchive(agent({ archive }));
  assert.match(trusted, /\n3 candidates: 1 Promoted, 1 RolledBack, 1 Failed\n$/);
  assert.doesNotMatch(trusted, /Benchmark/);

  const lost = renderArchive(agent({ archive, conditions: [distrusted] }));
  assert.match(
    lost,
    /\nBenchmark not predictive \(GainNotObserved\): production showed 0\.1 of the predicted gain over the last 3 deliveries\n {2}code changes wait for a person; to trust the benchmark again: kubectl hyperagent trust quote\n$/,
  );
});

test('an empty archive says so, and still shows lost trust', () => {
  assert.equal(renderArchive(agent()), 'No archived candidates for quote yet.\n');
  assert.match(
    renderArchive(agent({ conditions: [distrusted] })),
    /^No archived candidates for quote yet\.\nBenchmark not predictive/,
  );
});

test('trust reports what changes for approvals under each policy', () => {
  const at = new Date('2026-12-03T09:00:00Z');
  const auto = describeTrust(agent({ conditions: [distrusted] }, 'Auto'), at);
  assert.match(auto, /^shop\/quote: benchmark trusted again as of 2026-12-03T09:00:00\.000Z;/);
  assert.match(auto, /Code changes are approved automatically again, as spec\.approval Auto says/);
  assert.match(
    describeTrust(agent({ conditions: [distrusted] }, 'AboveRisk'), at),
    /spec\.approval is AboveRisk: code changes still wait for a person/,
  );
  assert.match(
    describeTrust(agent({ conditions: [distrusted] }, 'Always'), at),
    /every candidate still waits/,
  );
  assert.match(
    describeTrust(agent({}, 'Auto'), at),
    /had not stopped trusting its benchmark \(BenchmarkPredictive is not set\): approvals are as before/,
  );
});
