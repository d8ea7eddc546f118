// The demo's report arithmetic, pass marks and live progress lines (scripts/demo/).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImprovementCycle } from '../../operator/src/api/resources.js';
import { progressLines } from '../../scripts/demo/progress.js';
import {
  errorWindow,
  reductionPct,
  rollbackSeconds,
  sandboxP99,
  shortfalls,
  summarizeCycle,
  type DemoReport,
} from '../../scripts/demo/report.js';

function cycle(status: ImprovementCycle['status']): ImprovementCycle {
  return {
    metadata: { name: 'quote-latency-1' },
    spec: { agent: 'quote-latency', slot: '2026-01-01T00:00:00Z', agentGeneration: 1 },
    status,
  } as unknown as ImprovementCycle;
}

const canary = {
  phase: 'Progressing',
  reason: 'Step',
  message: 'step 1 of 2',
  startTime: '2026-01-01T00:05:00Z',
  phaseStartTime: '2026-01-01T00:05:00Z',
  stepIndex: 0,
  weight: 25,
  counts: [],
  measurements: [],
  handledRequests: {},
};

test('the reduction is measured against the before figure, to one decimal', () => {
  assert.equal(reductionPct(48.2, 24.1), 50);
  assert.equal(reductionPct(40, 30.8), 23);
  assert.ok(Number.isNaN(reductionPct(0, 10)));
});

test('rollback time runs from the Rollback decision to the RolledBack cycle, and only then', () => {
  const decision = {
    action: 'Rollback',
    reason: 'AnalysisFailed',
    message: 'error-rate 0.2 > max 0.01',
    time: '2026-01-01T00:06:00Z',
  };
  const rolledBack = cycle({
    phase: 'RolledBack',
    completionTime: '2026-01-01T00:06:07.500Z',
    canary: { ...canary, phase: 'RolledBack', decision },
  } as unknown as ImprovementCycle['status']);
  assert.equal(rollbackSeconds(rolledBack), 7.5);
  const promoted = cycle({
    phase: 'Promoted',
    completionTime: '2026-01-01T00:06:07Z',
    canary,
  } as unknown as ImprovementCycle['status']);
  assert.equal(rollbackSeconds(promoted), null);
});

/** A report that meets every pass mark: the fields shortfalls() reads. */
function passingReport(): DemoReport {
  return {
    p99_ms_before: 50,
    p99_ms_after: 25,
    p99_reduction_pct: 50,
    promoted_revision: 'quote-latency-1-c2',
    rollback_seconds: 6,
    failed_requests_during_rollouts: 0,
    bad_canary: { cycle: 'quote-latency-2', outcome: 'RolledBack' },
    cycles: [],
    archive: { entries: 5, by_verdict: { Promoted: 1, RolledBack: 1, Passed: 2, Failed: 1 } },
    gains: [
      {
        candidate: 'c-1/c2',
        outcome: 'Promoted',
        predicted_pct: 52,
        canary_pct: 48,
        production_pct: 50,
        ratio: 0.96,
      },
      {
        candidate: 'c-2/c1',
        outcome: 'RolledBack',
        predicted_pct: 20,
        canary_pct: -300,
        production_pct: null,
        ratio: -15,
      },
    ],
    healing: {
      fault_rate: 0.04,
      retries_before: 0,
      fault_at: '2026-12-06T10:00:00Z',
      incident: 'error-ratio 0.026 > max 0.01',
      remediation_cycle: 'quote-latency-3',
      remediation_outcome: 'Promoted',
      remedy: { retries: '3' },
      time_to_detect_s: 32,
      time_to_mitigate_s: 210,
      time_to_heal_s: 245,
      client_errors: {
        before: errorWindow(0, 800),
        during: errorWindow(180, 9000),
        after: errorWindow(0, 1200),
      },
    },
    duration_seconds: 840,
  } as unknown as DemoReport;
}

test('the third act pass marks: detected within 60 s, remedy promoted, healed below 0.5%, demo under 15 min', () => {
  const report = passingReport();
  const missed = shortfalls({
    ...report,
    healing: {
      ...report.healing,
      remediation_outcome: 'RolledBack',
      time_to_detect_s: 75,
      time_to_heal_s: null,
      client_errors: { ...report.healing.client_errors, after: errorWindow(12, 1200) },
    },
    duration_seconds: 960,
  });
  assert.deepEqual(missed, [
    'the remediation cycle ended RolledBack, not Promoted',
    'the incident was detected 75 s after the fault; at most 60 s',
    'the incident did not heal',
    'the error ratio after healing is 1%; below 0.5% is required',
    'the demo took 960 s; less than 900 s is required',
  ]);
  assert.deepEqual(errorWindow(1, 3), { failed: 1, total: 3, ratio_pct: 33.333 });
  assert.deepEqual(errorWindow(0, 0), { failed: 0, total: 0, ratio_pct: null });
});

test('the pass marks: 23% less p99, a promotion, a rollback, no failed request for the good version', () => {
  const report = passingReport();
  assert.deepEqual(shortfalls(report), []);
  const missed = shortfalls({
    ...report,
    p99_ms_after: 40,
    p99_reduction_pct: 20,
    promoted_revision: null,
    rollback_seconds: null,
    failed_requests_during_rollouts: 3,
    bad_canary: { ...report.bad_canary, outcome: 'Promoted' },
  });
  assert.equal(missed.length, 4);
  assert.match(missed[0]!, /p99 fell 20% \(50 ms → 40 ms\); at least 23% is required/);
  assert.match(missed[2]!, /not rolled back \(cycle ended Promoted\)/);
});

test('a bad candidate that never reached its canary: the shortfall says how its cycle ended and why', () => {
  const report = passingReport();
  const ended = summarizeCycle({
    metadata: { name: 'quote-latency-2', creationTimestamp: '2026-12-06T10:00:00Z' },
    status: {
      phase: 'Rejected',
      reason: 'NoCandidatePassed',
      message: 'None of 1 candidates passed verification.',
      completionTime: '2026-12-06T10:04:10Z',
      candidates: [
        {
          id: 'c1',
          summary: 'refresh-ahead',
          verdict: 'Failed',
          checks: [
            { name: 'TestsPass', status: 'Passed', message: '15 tests passed' },
            { name: 'Evaluation', status: 'Failed', message: 'test timed out after 35s' },
          ],
        },
      ],
    },
  } as unknown as ImprovementCycle);
  const missed = shortfalls({
    ...report,
    rollback_seconds: null,
    bad_canary: { ...report.bad_canary, outcome: 'Rejected' },
    cycles: [ended],
  });
  assert.deepEqual(missed, [
    "the bad candidate's canary was not rolled back (cycle ended Rejected (NoCandidatePassed) after 250 s: None of 1 candidates passed verification; c1 failed Evaluation: test timed out after 35s)",
  ]);
});

test('the archive pass marks: a Promoted and a RolledBack entry, each delivery with its ledger', () => {
  const report: DemoReport = {
    ...passingReport(),
    archive: { entries: 3, by_verdict: { Promoted: 1, Failed: 2 } },
    gains: [
      {
        candidate: 'c-1/c2',
        outcome: 'Promoted',
        predicted_pct: 52,
        canary_pct: 48,
        production_pct: null,
        ratio: 0.92,
      },
    ],
  };
  assert.deepEqual(shortfalls(report), [
    "the agent's archive holds no RolledBack entry",
    'c-1/c2 has no gain measured in production after its promotion',
    'only 1 delivered candidates have a gain ledger',
  ]);
});

test('progress tells phase changes, verdicts, canary steps and each new measurement once', () => {
  const first = cycle({
    phase: 'Evaluating',
    candidates: [
      {
        id: 'c1',
        kind: 'config',
        summary: 'cache',
        parameters: { 'cache-size': '1200' },
        verdict: 'Pending',
      },
    ],
  } as unknown as ImprovementCycle['status']);
  assert.deepEqual(progressLines(undefined, first), [
    'phase Evaluating',
    'candidate c1 proposed (cache-size=1200): cache',
  ]);
  const judged = cycle({
    ...first.status,
    candidates: [{ ...first.status!.candidates![0]!, verdict: 'Passed', score: 48.26 }],
  } as unknown as ImprovementCycle['status']);
  assert.deepEqual(progressLines(first, judged), ['candidate c1 Passed score 48.3%']);
  const measuring = cycle({
    phase: 'Canary',
    canary: {
      ...canary,
      measurements: [
        {
          metric: 'error-rate',
          time: '2026-01-01T00:05:10Z',
          step: 0,
          weight: 25,
          result: 'Successful',
          threshold: 'max 0.01',
          message: 'error-rate 0 <= max 0.01',
        },
      ],
    },
  } as unknown as ImprovementCycle['status']);
  const lines = progressLines(judged, measuring);
  assert.deepEqual(lines.slice(0, 2), ['phase Canary', 'canary Progressing: step 1 of 2']);
  assert.match(lines[2]!, /analysis Successful\s+step 1 at 25%: error-rate 0 <= max 0.01/);
  assert.deepEqual(progressLines(measuring, measuring), []);
});

test('examples/quote-agent.yaml is the agent the demo applies, but for the repository address', async () => {
  const { readFile } = await import('node:fs/promises');
  const yaml = await import('js-yaml');
  const { quoteAgent } = await import('../../scripts/demo/agent.js');
  const example = yaml.load(await readFile('examples/quote-agent.yaml', 'utf8')) as {
    spec: { source: { repo: string } };
  };
  const demo = quoteAgent('demo', {
    repo: example.spec.source.repo,
    prometheus: 'http://prometheus.monitoring:9090',
  });
  assert.deepEqual(example.spec, JSON.parse(JSON.stringify(demo.spec)));
});

test("the report carries the judge's sandbox p99 of the unchanged service and of the winner", () => {
  const cycle = {
    name: 'quote-latency-1',
    phase: 'Promoted',
    seconds: 200,
    selected: 'c1',
    candidates: [
      {
        id: 'c1',
        verdict: 'Passed',
        summary: 'cache',
        goal: { key: 'p99_ms', baseline: 54.7, candidate: 25.1, measuredBy: 'Judge' },
      },
      { id: 'c2', verdict: 'Failed', summary: 'batch' },
    ],
  };
  assert.deepEqual(sandboxP99(cycle), { baseline: 54.7, winner: 25.1, measured_by: 'Judge' });
  assert.equal(sandboxP99({ ...cycle, selected: 'c2' }), null, 'a winner without sandbox figures');
});
