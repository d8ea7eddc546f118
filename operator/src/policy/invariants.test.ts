import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { INVARIANTS } from '../api/schema.js';
import { PROTOCOL_VERSION, type CommandReport, type SandboxResult } from '../api/sandbox-protocol.js';
import {
  CHECK_ORDER,
  judgeBaseline,
  judgeCandidate,
  judgeCycle,
  noiseOf,
  pooledNoise,
  type CandidateVerdict,
  type CheckName,
  type CheckStatus,
  type JudgedSpec,
  type SandboxOutcome,
} from './invariants.js';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);

function command(name: CommandReport['name'], over: Partial<CommandReport> = {}): CommandReport {
  return { name, exitCode: 0, timedOut: false, durationMs: 1000, ...over };
}

function unchangedInterface(): NonNullable<SandboxResult['interface']> {
  const side = { sha256: SHA_A, items: 3 };
  return { source: 'exports', files: 1, before: side, after: side, removed: [], added: [], more: 0 };
}

/** The quote function lost its second parameter. */
const CHANGED_INTERFACE: NonNullable<SandboxResult['interface']> = {
  source: 'exports',
  files: 1,
  before: { sha256: SHA_A, items: 3 },
  after: { sha256: SHA_B, items: 3 },
  removed: ['src/quote.ts:quote:function:2(id,options?)'],
  added: ['src/quote.ts:quote:function:1(id)'],
  more: 0,
};

function result(over: Partial<SandboxResult> = {}): SandboxResult {
  return {
    version: PROTOCOL_VERSION,
    nonce: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
    candidate: 'baseline',
    outcome: 'evaluated',
    breached: [],
    commands: [command('typecheck'), command('test'), command('benchmark')],
    tests: { format: 'tap', passed: 14, failed: 0, skipped: 0 },
    benchmark: { p99_ms: [41.0, 40.8, 41.2, 41.1, 40.9], rps: [1000, 1005, 995, 1002, 998] },
    interface: unchangedInterface(),
    peakMemoryBytes: 200 * MIB,
    commandMs: 12_000,
    isolationMs: 800,
    ...over,
  };
}

const BASELINE = result();
/** 26.3% better on p99_ms, throughput unchanged. */
const GOOD = result({
  candidate: 'c1',
  benchmark: { p99_ms: [30.2, 30.0, 30.4, 30.1, 30.3], rps: [1000, 1005, 995, 1002, 998] },
  // The judge sent 200 requests to both services and got the same answers.
  workload: { requests: 200, behaviour: { compared: 200, differing: 0 } },
});

const SPEC: JudgedSpec = {
  verification: { invariants: [...INVARIANTS] },
  objectives: [
    { name: 'latency', benchmark: 'p99_ms', direction: 'Minimize', maxRegressionPercent: 0 },
    { name: 'throughput', benchmark: 'rps', direction: 'Maximize', maxRegressionPercent: 5 },
    { name: 'errors', query: 'sum(rate(errors[5m]))', direction: 'Minimize', maxRegressionPercent: 0 },
  ],
};

function withInvariants(invariants: JudgedSpec['verification']['invariants']): JudgedSpec {
  return { ...SPEC, verification: { invariants } };
}

interface Case {
  spec?: JudgedSpec;
  baseline?: SandboxOutcome;
  candidate?: SandboxOutcome;
  memoryLimitBytes?: number;
}

function judge(c: Case): CandidateVerdict {
  return judgeCandidate({
    spec: c.spec ?? SPEC,
    baseline: c.baseline ?? BASELINE,
    candidate: c.candidate ?? GOOD,
    memoryLimitBytes: c.memoryLimitBytes ?? GIB,
  });
}

function checkOf(verdict: CandidateVerdict, name: CheckName): { status: CheckStatus; message: string } {
  const found = verdict.checks.find((check) => check.name === name);
  assert.ok(found, `no ${name} check`);
  return found;
}

function statuses(verdict: CandidateVerdict): string[] {
  return verdict.checks.map((check) => `${check.name}=${check.status}`);
}

/** Expectation: the check's status, and a fragment (or the whole) of its message. */
type Expect = [name: CheckName, status: CheckStatus, message: string | RegExp];

function assertCase(label: string, c: Case, expectations: Expect[]): CandidateVerdict {
  const verdict = judge(c);
  for (const [name, status, message] of expectations) {
    const check = checkOf(verdict, name);
    assert.equal(check.status, status, `${label}: ${name} was ${check.status}: ${check.message}`);
    if (typeof message === 'string') assert.ok(check.message.includes(message), `${label}: ${check.message}`);
    else assert.match(check.message, message, label);
  }
  return verdict;
}

test('a candidate that keeps every invariant and improves the goal passes, with its figures', () => {
  const verdict = judge({});
  assert.deepEqual(
    verdict.checks.map((check) => check.name),
    CHECK_ORDER,
  );
  assert.deepEqual(
    statuses(verdict),
    CHECK_ORDER.map((name) => `${name}=Passed`),
  );
  assert.equal(verdict.passed, true);
  assert.deepEqual(verdict.reasons, []);
  assert.equal(verdict.score, 26.34);
  assert.equal(
    checkOf(verdict, 'GoalImproved').message,
    'p99_ms 41.0 → 30.2 median of 5 runs, self-reported by the benchmark: 26.3% better, noise ±1.0% (floor); ' +
      '1 other objective within their regression bounds',
  );
  assert.equal(checkOf(verdict, 'TestsPass').message, '14 tests passed; typecheck passed');
  assert.equal(checkOf(verdict, 'TestCountStable').message, '14 tests passed, baseline 14');
});

test('a result the runner did not evaluate fails closed and nothing else is judged', () => {
  const table: Array<[string, SandboxOutcome, CheckName, string, string]> = [
    [
      'breach reported',
      result({ outcome: 'isolation-breached', breached: ['api-server', 'outside'], commands: [] }),
      'Isolation',
      'the sandbox could reach api-server, outside: evaluation refused (fail closed)',
      'not judged: the sandbox was not isolated',
    ],
    [
      'breach listed on an evaluated result',
      result({ breached: ['pod'] }),
      'Isolation',
      'the sandbox could reach pod: evaluation refused (fail closed)',
      'not judged: the sandbox was not isolated',
    ],
    [
      'patch did not apply',
      result({ outcome: 'patch-failed', message: 'hunk 2 of src/quote.ts failed', commands: [] }),
      'Evaluation',
      'patch-failed: hunk 2 of src/quote.ts failed',
      'not judged: the evaluation did not complete',
    ],
    [
      'manifest refused',
      result({ outcome: 'invalid-manifest', message: '/commands/0/run: too long', commands: [] }),
      'Evaluation',
      'invalid-manifest: /commands/0/run: too long',
      'not judged: the evaluation did not complete',
    ],
    [
      'runner error without message',
      result({ outcome: 'error', commands: [] }),
      'Evaluation',
      'error: the runner gave no message',
      'not judged: the evaluation did not complete',
    ],
    [
      'pod died',
      { failure: 'the pod was OOMKilled at its 1Gi limit' },
      'Evaluation',
      'the pod was OOMKilled at its 1Gi limit',
      'not judged: the evaluation did not complete',
    ],
  ];
  for (const [label, candidate, name, message, skipMessage] of table) {
    const verdict = judge({ candidate });
    assert.equal(verdict.passed, false, label);
    assert.equal(verdict.score, undefined, label);
    assert.deepEqual(verdict.reasons, [`${name}: ${message}`], label);
    for (const check of verdict.checks) {
      if (check.name === name) continue;
      assert.equal(check.status, 'Skipped', `${label}: ${check.name}`);
      if (INVARIANTS.includes(check.name as never)) assert.equal(check.message, skipMessage, label);
    }
  }
});

test('commands that did not complete fail Evaluation, with what happened', () => {
  const table: Array<[string, CommandReport[], string]> = [
    [
      'test timed out',
      [command('test', { timedOut: true, exitCode: null, signal: 'SIGKILL', durationMs: 300_000 })],
      'test timed out after 300s',
    ],
    [
      'benchmark timed out',
      [command('test'), command('benchmark', { timedOut: true, exitCode: null, durationMs: 61_400 })],
      'benchmark timed out after 61s',
    ],
    ['killed', [command('test', { exitCode: null, signal: 'SIGKILL' })], 'test was killed by SIGKILL'],
    [
      'no exit code',
      [command('typecheck', { exitCode: null }), command('test')],
      'typecheck ended without an exit code',
    ],
    ['benchmark failed', [command('test'), command('benchmark', { exitCode: 3 })], 'benchmark exited with 3'],
    [
      'a detached process outlived the test',
      [command('test', { lingering: 2 })],
      'test left 2 process(es) running after it ended (the executor killed them)',
    ],
    [
      'a fork bomb stopped at the process limit',
      [command('test', { exitCode: null, signal: 'SIGKILL', processLimit: 512 })],
      'test ran more than 512 processes at once (a fork bomb?): the executor killed them all',
    ],
    [
      'two problems',
      [
        command('test', { timedOut: true, exitCode: null, durationMs: 2500 }),
        command('benchmark', { exitCode: 1 }),
      ],
      'test timed out after 2.5s; benchmark exited with 1',
    ],
  ];
  for (const [label, commands, message] of table) {
    const verdict = assertCase(label, { candidate: result({ ...GOOD, commands }) }, [
      ['Isolation', 'Passed', 'no probe got through'],
      ['Evaluation', 'Failed', message],
      ['TestsPass', 'Skipped', 'not judged: a command did not complete'],
    ]);
    assert.equal(checkOf(verdict, 'Evaluation').message, message, label);
    assert.equal(verdict.passed, false, label);
  }
});

test('TestsPass fails on failing tests, a failing typecheck or no test command, whatever the invariants list', () => {
  const table: Array<[string, Partial<SandboxResult>, CheckStatus, string]> = [
    [
      'counted failures',
      {
        commands: [command('test', { exitCode: 1 })],
        tests: { format: 'tap', passed: 12, failed: 2, skipped: 0 },
      },
      'Failed',
      '2 of 14 tests failed',
    ],
    [
      'failures counted although the command exited 0',
      { tests: { format: 'junit', passed: 13, failed: 1, skipped: 3 } },
      'Failed',
      '1 of 14 tests failed, 3 skipped',
    ],
    [
      'non-zero exit with nothing counted failed',
      { commands: [command('test', { exitCode: 1 })] },
      'Failed',
      'the test command failed (exit 1) (14 passed, none counted failed)',
    ],
    [
      'non-zero exit, counts unreadable',
      { commands: [command('test', { exitCode: 2 })], tests: undefined },
      'Failed',
      'the test command failed (exit 2)',
    ],
    ['no test command', { commands: [command('typecheck')] }, 'Failed', 'no test command ran'],
    [
      'typecheck failed',
      { commands: [command('typecheck', { exitCode: 2 }), command('test')] },
      'Failed',
      'typecheck failed (exit 2)',
    ],
    [
      'passing without counts',
      { commands: [command('test')], tests: undefined },
      'Passed',
      'the test command exited with 0 (no test counts read)',
    ],
    [
      'passing with skips, no typecheck',
      { commands: [command('test')], tests: { format: 'node-spec', passed: 14, failed: 0, skipped: 2 } },
      'Passed',
      '14 tests passed, 2 skipped',
    ],
  ];
  const specs: Array<[string, JudgedSpec]> = [
    ['all invariants', SPEC],
    ['TestsPass only', withInvariants(['TestsPass'])],
    ['nothing listed', withInvariants([])],
  ];
  for (const [specLabel, spec] of specs) {
    for (const [label, over, status, message] of table) {
      const verdict = judge({ spec, candidate: result({ ...GOOD, ...over }) });
      const check = checkOf(verdict, 'TestsPass');
      assert.equal(check.status, status, `${specLabel}, ${label}: ${check.message}`);
      assert.equal(check.message, message, `${specLabel}, ${label}`);
    }
  }
});

test('TestCountStable compares passed tests and fails when counts cannot be read', () => {
  const tap = (passed: number, skipped = 0) => ({ format: 'tap' as const, passed, failed: 0, skipped });
  const table: Array<[string, Case, CheckStatus, string]> = [
    ['same count', {}, 'Passed', '14 tests passed, baseline 14'],
    [
      'more tests',
      { candidate: result({ ...GOOD, tests: tap(16) }) },
      'Passed',
      '16 tests passed, baseline 14',
    ],
    [
      'a test turned into a skip',
      { candidate: result({ ...GOOD, tests: tap(13, 1) }) },
      'Failed',
      '13 tests passed, baseline 14: 1 fewer',
    ],
    [
      'no counts from the candidate',
      { candidate: result({ ...GOOD, tests: undefined }) },
      'Failed',
      'test counts unreadable on the candidate: use a TAP, JUnit or node test reporter',
    ],
    [
      'format none on the baseline',
      { baseline: result({ tests: { format: 'none', passed: 0, failed: 0, skipped: 0 } }) },
      'Failed',
      'test counts unreadable on the baseline: use a TAP, JUnit or node test reporter',
    ],
    [
      'no counts anywhere',
      { baseline: result({ tests: undefined }), candidate: result({ ...GOOD, tests: undefined }) },
      'Failed',
      'test counts unreadable on both sides: use a TAP, JUnit or node test reporter',
    ],
    [
      'not listed',
      { spec: withInvariants(['TestsPass']), candidate: result({ ...GOOD, tests: tap(3) }) },
      'Skipped',
      'not required by the agent',
    ],
  ];
  for (const [label, c, status, message] of table) {
    const check = checkOf(judge(c), 'TestCountStable');
    assert.equal(check.status, status, `${label}: ${check.message}`);
    assert.equal(check.message, message, label);
  }
});

test('InterfaceStable reads the candidate’s own before/after comparison and fails without one', () => {
  const openapi = {
    ...unchangedInterface(),
    source: 'openapi' as const,
    files: 2,
    before: { sha256: SHA_B, items: 7 },
    after: { sha256: SHA_B, items: 7 },
  };
  const table: Array<[string, Case, CheckStatus, string]> = [
    ['unchanged', {}, 'Passed', '3 exported declarations in 1 changed file(s) unchanged'],
    [
      'no script touched',
      {
        candidate: result({
          ...GOOD,
          interface: {
            ...unchangedInterface(),
            files: 0,
            before: { sha256: SHA_A, items: 0 },
            after: { sha256: SHA_A, items: 0 },
          },
        }),
      },
      'Passed',
      'no script file changed, so no export did',
    ],
    [
      'OpenAPI unchanged',
      { candidate: result({ ...GOOD, interface: openapi }) },
      'Passed',
      '7 OpenAPI operations in 2 interface file(s) unchanged',
    ],
    [
      'changed',
      { candidate: result({ ...GOOD, interface: CHANGED_INTERFACE }) },
      'Failed',
      'exported declarations changed (3 → 3): removed src/quote.ts:quote:function:2(id,options?); added src/quote.ts:quote:function:1(id)',
    ],
    [
      'changed, with more than listed',
      {
        candidate: result({
          ...GOOD,
          interface: {
            ...CHANGED_INTERFACE,
            source: 'openapi',
            added: [],
            after: { sha256: SHA_B, items: 1 },
            more: 4,
          },
        }),
      },
      'Failed',
      'OpenAPI operations changed (3 → 1): removed src/quote.ts:quote:function:2(id,options?); 4 more',
    ],
    [
      'no comparison from the candidate',
      { candidate: result({ ...GOOD, interface: undefined }) },
      'Failed',
      'no interface comparison from the candidate',
    ],
    [
      'the baseline needs none',
      { baseline: result({ interface: undefined }) },
      'Passed',
      '3 exported declarations in 1 changed file(s) unchanged',
    ],
    [
      'not listed, though changed',
      {
        spec: withInvariants(['TestsPass', 'GoalImproved']),
        candidate: result({ ...GOOD, interface: CHANGED_INTERFACE }),
      },
      'Skipped',
      'not required by the agent: it allows interface changes',
    ],
  ];
  for (const [label, c, status, message] of table) {
    const check = checkOf(judge(c), 'InterfaceStable');
    assert.equal(check.status, status, `${label}: ${check.message}`);
    assert.equal(check.message, message, label);
  }
});

test('GoalImproved needs the primary objective to beat twice the noise and the others to stay in bounds', () => {
  const bench = (benchmark: Record<string, number[]>) => result({ ...GOOD, benchmark });
  const rps = [1000, 1005, 995, 1002, 998];
  const improved = [30.2, 30.0, 30.4, 30.1, 30.3];
  const maximize: JudgedSpec = {
    ...SPEC,
    objectives: [{ name: 'throughput', benchmark: 'rps', direction: 'Maximize', maxRegressionPercent: 0 }],
  };
  const table: Array<[string, Case, CheckStatus, string, number | undefined]> = [
    [
      'identical to the baseline',
      { candidate: result({ ...BASELINE, candidate: 'c1' }) },
      'Failed',
      'p99_ms 41.0 → 41.0 median of 5 runs, self-reported by the benchmark: no change, noise ±1.0% (floor): needs more than 2.0% better',
      0,
    ],
    [
      'better, but within twice the floor',
      { candidate: bench({ p99_ms: [40.3, 40.2, 40.4, 40.1, 40.2], rps }) },
      'Failed',
      'p99_ms 41.0 → 40.2 median of 5 runs, self-reported by the benchmark: 2.0% better, noise ±1.0% (floor): needs more than 2.0% better',
      1.95,
    ],
    [
      'better, but within twice its own noise',
      {
        baseline: result({ benchmark: { p99_ms: [50, 40, 44, 36, 41], rps } }),
        candidate: bench({ p99_ms: [30, 37, 41, 31, 36], rps }),
      },
      'Failed',
      'p99_ms 41.0 → 36.0 median of 5 runs, self-reported by the benchmark: 12.2% better, noise ±14.9%: needs more than 29.8% better',
      12.2,
    ],
    [
      'few runs: the floor, said so',
      {
        baseline: result({ benchmark: { p99_ms: [41, 41], rps } }),
        candidate: bench({ p99_ms: [30.2], rps }),
      },
      'Passed',
      'p99_ms 41.0 → 30.2 medians of 2 and 1 run, self-reported by the benchmark: 26.3% better, noise ±1.0% (floor: fewer than 3 runs on both sides)',
      26.34,
    ],
    [
      'a secondary objective regresses beyond its allowance',
      { candidate: bench({ p99_ms: improved, rps: [900, 905, 895, 902, 898] }) },
      'Failed',
      'rps 1000 → 900 median of 5 runs, self-reported by the benchmark: 10.0% worse, noise ±1.0% (floor): more than the allowed 5.0% + 2 × noise',
      26.34,
    ],
    [
      'a secondary objective regresses within its allowance and the noise',
      { candidate: bench({ p99_ms: improved, rps: [940, 945, 935, 942, 938] }) },
      'Passed',
      '1 other objective within their regression bounds',
      26.34,
    ],
    [
      'figures missing on the candidate',
      { candidate: bench({ rps }) },
      'Failed',
      'no figures for p99_ms from the candidate',
      undefined,
    ],
    [
      'non-finite figures count as missing',
      { candidate: bench({ p99_ms: [30, Number.NaN, 31], rps }) },
      'Failed',
      'no figures for p99_ms from the candidate',
      undefined,
    ],
    [
      'secondary figures missing',
      { candidate: bench({ p99_ms: improved }) },
      'Failed',
      'no figures for rps from the candidate',
      26.34,
    ],
    [
      'a baseline median of 0',
      {
        spec: maximize,
        baseline: result({ benchmark: { rps: [0, 0, 0] } }),
        candidate: bench({ rps: [5, 5, 5] }),
      },
      'Failed',
      'a relative improvement cannot be measured from a baseline median of 0',
      undefined,
    ],
    [
      'maximize',
      { spec: maximize, candidate: bench({ rps: [1100, 1105, 1095, 1102, 1098] }) },
      'Passed',
      'rps 1000 → 1100 median of 5 runs, self-reported by the benchmark: 10.0% better, noise ±1.0% (floor)',
      10,
    ],
    [
      'maximize, got worse',
      { spec: maximize, candidate: bench({ rps: [900, 905, 895, 902, 898] }) },
      'Failed',
      'rps 1000 → 900 median of 5 runs, self-reported by the benchmark: 10.0% worse',
      -10,
    ],
    [
      'no benchmark objective',
      {
        spec: {
          ...SPEC,
          objectives: [{ name: 'errors', query: 'x', direction: 'Minimize', maxRegressionPercent: 0 }],
        },
      },
      'Skipped',
      'no benchmark or workload objective: the canary judges the goal',
      undefined,
    ],
    [
      'not listed: skipped, still scored',
      { spec: withInvariants(['TestsPass']), candidate: result({ ...BASELINE, candidate: 'c1' }) },
      'Skipped',
      'not required by the agent (p99_ms 41.0 → 41.0 median of 5 runs, self-reported by the benchmark: no change, noise ±1.0% (floor))',
      0,
    ],
  ];
  for (const [label, c, status, message, score] of table) {
    const verdict = judge(c);
    const check = checkOf(verdict, 'GoalImproved');
    assert.equal(check.status, status, `${label}: ${check.message}`);
    assert.ok(check.message.includes(message), `${label}: ${check.message}`);
    assert.equal(verdict.score, score, label);
  }
});

test('a secondary objective that worsens from a baseline of 0 fails', () => {
  const spec: JudgedSpec = {
    ...SPEC,
    objectives: [
      SPEC.objectives[0]!,
      { name: 'errors', benchmark: 'errors', direction: 'Minimize', maxRegressionPercent: 50 },
    ],
  };
  const baseline = result({ benchmark: { p99_ms: [41, 41, 41], errors: [0, 0, 0] } });
  const worse = result({ ...GOOD, benchmark: { p99_ms: [30, 30, 30], errors: [0, 1, 1] } });
  const same = result({ ...GOOD, benchmark: { p99_ms: [30, 30, 30], errors: [0, 0, 0] } });
  assert.match(
    checkOf(judge({ spec, baseline, candidate: worse }), 'GoalImproved').message,
    /errors 0\.00 → 1\.00 median of 3 runs, self-reported by the benchmark: worse from a baseline of 0, noise ±1\.0% \(floor\): more than the allowed 50\.0%/,
  );
  assert.equal(checkOf(judge({ spec, baseline, candidate: worse }), 'GoalImproved').status, 'Failed');
  assert.equal(checkOf(judge({ spec, baseline, candidate: same }), 'GoalImproved').status, 'Passed');
});

test('ResourcesWithinBounds holds peak memory under 90% of the limit and near the baseline', () => {
  const peak = (candidateMiB: number | undefined, baselineMiB?: number): Case => ({
    baseline: result({ peakMemoryBytes: baselineMiB === undefined ? undefined : baselineMiB * MIB }),
    candidate: result({
      ...GOOD,
      peakMemoryBytes: candidateMiB === undefined ? undefined : candidateMiB * MIB,
    }),
  });
  const table: Array<[string, Case, CheckStatus, string]> = [
    [
      'within both',
      peak(250, 200),
      'Passed',
      "peak 250.0 MiB; within 90% of the 1024.0 MiB limit is 921.6 MiB; within what the baseline's 200.0 MiB allows 300.0 MiB",
    ],
    [
      'above 90% of the limit',
      peak(950, 800),
      'Failed',
      'peak 950.0 MiB: above 90% of the 1024.0 MiB limit is 921.6 MiB',
    ],
    [
      'grew more than 1.5×',
      peak(301, 200),
      'Failed',
      "peak 301.0 MiB: above what the baseline's 200.0 MiB allows 300.0 MiB",
    ],
    [
      'a small baseline gets 64 MiB of slack',
      peak(164, 100),
      'Passed',
      "the baseline's 100.0 MiB allows 164.0 MiB",
    ],
    ['beyond the slack', peak(165, 100), 'Failed', "above what the baseline's 100.0 MiB allows 164.0 MiB"],
    ['baseline peak unknown', peak(900), 'Passed', "the baseline's peak is unknown"],
    [
      'candidate peak unknown',
      peak(undefined, 200),
      'Skipped',
      'peak memory unknown: the cgroup was unreadable',
    ],
    [
      'limit unknown',
      { ...peak(100, 100), memoryLimitBytes: 0 },
      'Failed',
      "peak 100.0 MiB, but the pod's memory limit is unknown",
    ],
    [
      'not listed',
      { ...peak(5000, 100), spec: withInvariants(['TestsPass', 'GoalImproved']) },
      'Skipped',
      'not required by the agent',
    ],
  ];
  for (const [label, c, status, message] of table) {
    const check = checkOf(judge(c), 'ResourcesWithinBounds');
    assert.equal(check.status, status, `${label}: ${check.message}`);
    assert.ok(check.message.includes(message), `${label}: ${check.message}`);
  }
});

test('reasons carry one line per failed check, and the score survives other failures', () => {
  const verdict = judge({
    candidate: result({
      ...GOOD,
      tests: { format: 'tap', passed: 12, failed: 2, skipped: 0 },
      interface: undefined,
    }),
  });
  assert.equal(verdict.passed, false);
  assert.equal(verdict.score, 26.34);
  assert.deepEqual(verdict.reasons, [
    'TestsPass: 2 of 14 tests failed',
    'TestCountStable: 12 tests passed, baseline 14: 2 fewer',
    'InterfaceStable: no interface comparison from the candidate',
  ]);
});

test('a baseline is usable only when evaluated, complete, passing and measured', () => {
  const prefix = 'the unmodified source could not be measured: ';
  const table: Array<[string, SandboxOutcome, string | undefined]> = [
    ['good', BASELINE, undefined],
    ['pod died', { failure: 'deadline of 900s exceeded' }, 'deadline of 900s exceeded'],
    [
      'breach',
      result({ outcome: 'isolation-breached', breached: ['cluster-dns'] }),
      'the sandbox could reach cluster-dns: evaluation refused (fail closed)',
    ],
    ['runner error', result({ outcome: 'error', message: 'disk full' }), 'error: disk full'],
    [
      'timed out',
      result({ commands: [command('test', { timedOut: true, exitCode: null, durationMs: 600_000 })] }),
      'test timed out after 600s',
    ],
    [
      'tests failing',
      result({ tests: { format: 'tap', passed: 12, failed: 2, skipped: 0 } }),
      'its tests do not pass: 2 of 14 tests failed',
    ],
    [
      'typecheck failing',
      result({ commands: [command('typecheck', { exitCode: 1 }), command('test')] }),
      'its tests do not pass: typecheck failed (exit 1)',
    ],
    ['no tests', result({ commands: [] }), 'its tests do not pass: no test command ran'],
    ['figures missing', result({ benchmark: { p99_ms: [41] } }), 'no benchmark figures for rps'],
    ['no figures at all', result({ benchmark: undefined }), 'no benchmark figures for p99_ms, rps'],
  ];
  for (const [label, baseline, reason] of table) {
    const verdict = judgeBaseline(baseline, SPEC);
    assert.deepEqual(
      verdict,
      reason === undefined ? { usable: true } : { usable: false, reason: prefix + reason },
      label,
    );
  }
  assert.deepEqual(judgeBaseline(result({ benchmark: undefined }), { objectives: [] }), { usable: true });
});

test('an unusable baseline fails every evaluated candidate with its reason', () => {
  const verdict = judge({
    baseline: result({ tests: { format: 'tap', passed: 13, failed: 1, skipped: 0 } }),
  });
  assert.equal(verdict.passed, false);
  assert.equal(verdict.score, undefined);
  assert.deepEqual(verdict.reasons, [
    'Evaluation: the unmodified source could not be measured: its tests do not pass: 1 of 14 tests failed',
  ]);
  assert.equal(checkOf(verdict, 'Isolation').status, 'Passed');
  assert.equal(checkOf(verdict, 'GoalImproved').message, 'not judged: no usable baseline');
});

test('judgeCycle judges each candidate against one baseline and turns pod failures into Evaluation', () => {
  const candidates = new Map<string, SandboxOutcome>([
    ['c1', GOOD],
    ['c2', { failure: 'the pod hit its fork limit' }],
    ['c3', result({ outcome: 'isolation-breached', breached: ['outside'] })],
  ]);
  const verdicts = judgeCycle({ spec: SPEC, baseline: BASELINE, candidates, memoryLimitBytes: GIB });
  assert.deepEqual([...verdicts.keys()], ['c1', 'c2', 'c3']);
  assert.equal(verdicts.get('c1')?.passed, true);
  assert.deepEqual(verdicts.get('c2')?.reasons, ['Evaluation: the pod hit its fork limit']);
  assert.deepEqual(verdicts.get('c3')?.reasons, [
    'Isolation: the sandbox could reach outside: evaluation refused (fail closed)',
  ]);

  const withoutBaseline = judgeCycle({ spec: SPEC, candidates, memoryLimitBytes: GIB });
  assert.deepEqual(withoutBaseline.get('c1')?.reasons, [
    'Evaluation: the unmodified source could not be measured: no result for it',
  ]);
  // A candidate's own failure is its first finding, whatever became of the baseline.
  assert.deepEqual(withoutBaseline.get('c2')?.reasons, ['Evaluation: the pod hit its fork limit']);

  const oomBaseline = judgeCycle({
    spec: SPEC,
    baseline: { failure: 'OOMKilled' },
    candidates: new Map([['c1', GOOD]]),
    memoryLimitBytes: GIB,
  });
  assert.deepEqual(oomBaseline.get('c1')?.reasons, [
    'Evaluation: the unmodified source could not be measured: OOMKilled',
  ]);
});

test('noiseOf is the scaled MAD over the median, in percent, and absent for fewer than 3 runs', () => {
  const table: Array<[number[], number]> = [
    [[], Number.NaN],
    [[10, 11], Number.NaN],
    [[10, Number.NaN, 11], Number.NaN],
    [[5, 5, 5], 0],
    [[9, 10, 11], 14.826],
    // Median 10.5, deviations 0.5, 1.5, 0.5, 89.5: the outlier does not move the MAD of 1.
    [[11, 9, 10, 100], 148.26 / 10.5],
    [[-9, -10, -11], 14.826],
    [[-1, 0, 1], Number.POSITIVE_INFINITY],
    [[0, 0, 0], 0],
  ];
  for (const [runs, expected] of table) {
    const noise = noiseOf(runs);
    if (Number.isNaN(expected) || !Number.isFinite(expected)) assert.equal(noise, expected, `${runs}`);
    else assert.ok(Math.abs(noise - expected) < 1e-9, `${runs}: ${noise}`);
  }
});

test('pooledNoise is the RMS of both sides, floored at 1%, and says when the floor was used', () => {
  assert.deepEqual(pooledNoise([9, 10, 11], [9, 10, 11]), { percent: 14.826 });
  const rms = pooledNoise([9, 10, 11], [10, 10, 10]).percent;
  assert.ok(Math.abs(rms - 14.826 / Math.SQRT2) < 1e-9);
  assert.deepEqual(pooledNoise([10, 10, 10], [10, 10, 10]), { percent: 1, floor: 'floor' });
  assert.deepEqual(pooledNoise([9, 10], [9, 10, 11]), {
    percent: 1,
    floor: 'floor: fewer than 3 runs on the baseline',
  });
  assert.deepEqual(pooledNoise([9, 10, 11], [1]), {
    percent: 1,
    floor: 'floor: fewer than 3 runs on the candidate',
  });
});

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

const runs = fc.array(fc.double({ min: 0.01, max: 1e6, noNaN: true, noDefaultInfinity: true }), {
  minLength: 1,
  maxLength: 8,
});
const figureSets = fc.record({ p99_ms: runs, rps: runs });
const powerOfTwo = fc.integer({ min: -20, max: 20 }).map((exponent) => 2 ** exponent);

function scaled(figures: Record<string, number[]>, factor: number): Record<string, number[]> {
  return Object.fromEntries(
    Object.entries(figures).map(([key, values]) => [key, values.map((v) => v * factor)]),
  );
}

test('property: a candidate identical to the baseline never passes GoalImproved', () => {
  fc.assert(
    fc.property(figureSets, fc.boolean(), (figures, maximize) => {
      const spec: JudgedSpec = maximize
        ? {
            ...SPEC,
            objectives: [{ name: 'rps', benchmark: 'rps', direction: 'Maximize', maxRegressionPercent: 0 }],
          }
        : SPEC;
      const baseline = result({ benchmark: figures });
      const verdict = judge({ spec, baseline, candidate: result({ ...baseline, candidate: 'c1' }) });
      assert.equal(checkOf(verdict, 'GoalImproved').status, 'Failed');
      assert.equal(verdict.passed, false);
      assert.equal(verdict.score, 0);
    }),
    { numRuns: 500 },
  );
});

test('property: scaling every run of both sides by one factor changes no verdict', () => {
  fc.assert(
    fc.property(figureSets, figureSets, powerOfTwo, (before, after, factor) => {
      const plain = judge({
        baseline: result({ benchmark: before }),
        candidate: result({ ...GOOD, benchmark: after }),
      });
      const rescaled = judge({
        baseline: result({ benchmark: scaled(before, factor) }),
        candidate: result({ ...GOOD, benchmark: scaled(after, factor) }),
      });
      assert.deepEqual(statuses(rescaled), statuses(plain));
      assert.equal(rescaled.passed, plain.passed);
      assert.equal(rescaled.score, plain.score);
    }),
    { numRuns: 1000 },
  );
});

test('property: the order of the runs does not matter', () => {
  fc.assert(
    fc.property(figureSets, figureSets, (before, after) => {
      const reorder = (figures: Record<string, number[]>) =>
        Object.fromEntries(Object.entries(figures).map(([key, values]) => [key, [...values].reverse()]));
      const plain = judge({
        baseline: result({ benchmark: before }),
        candidate: result({ ...GOOD, benchmark: after }),
      });
      const reordered = judge({
        baseline: result({ benchmark: reorder(before) }),
        candidate: result({ ...GOOD, benchmark: reorder(after) }),
      });
      assert.deepEqual(reordered, plain);
    }),
    { numRuns: 500 },
  );
});

test('property: a candidate that passes GoalImproved still passes when it gets better still', () => {
  fc.assert(
    fc.property(
      figureSets,
      runs,
      fc.double({ min: 0.01, max: 0.99, noNaN: true }),
      (before, after, shrink) => {
        const baseline = result({ benchmark: before });
        const first = judge({
          baseline,
          candidate: result({ ...GOOD, benchmark: { ...before, p99_ms: after } }),
        });
        fc.pre(checkOf(first, 'GoalImproved').status === 'Passed');
        // Lower latency on every run, same relative spread: better by a larger margin, same noise.
        const better = judge({
          baseline,
          candidate: result({ ...GOOD, benchmark: { ...before, p99_ms: after.map((v) => v * shrink) } }),
        });
        assert.equal(checkOf(better, 'GoalImproved').status, 'Passed');
        assert.ok((better.score ?? -Infinity) >= (first.score ?? Infinity));
      },
    ),
    { numRuns: 300 },
  );
});

test('property: noiseOf ignores the scale and the order of the runs and is never negative', () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: 0.01, max: 1e6, noNaN: true }), { minLength: 3, maxLength: 12 }),
      powerOfTwo,
      (values, factor) => {
        const noise = noiseOf(values);
        assert.ok(noise >= 0);
        assert.equal(noiseOf(values.map((v) => v * factor)), noise);
        assert.equal(noiseOf([...values].sort((a, b) => a - b)), noise);
      },
    ),
    { numRuns: 1000 },
  );
});

const anyCommand = fc.record({
  name: fc.constantFrom('typecheck' as const, 'test' as const, 'benchmark' as const),
  exitCode: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 3 }), fc.constant(null)),
  timedOut: fc.boolean(),
  durationMs: fc.nat(100_000),
});
const anyResult: fc.Arbitrary<SandboxOutcome> = fc.oneof(
  fc.record({ failure: fc.string() }),
  fc
    .record({
      outcome: fc.constantFrom(
        'evaluated' as const,
        'evaluated' as const,
        'evaluated' as const,
        'isolation-breached' as const,
        'patch-failed' as const,
        'invalid-manifest' as const,
        'error' as const,
      ),
      breached: fc.subarray(['api-server', 'outside']),
      commands: fc.array(anyCommand, { maxLength: 3 }),
      tests: fc.option(
        fc.record({
          format: fc.constantFrom('tap' as const, 'junit' as const, 'none' as const),
          passed: fc.nat(20),
          failed: fc.nat(2),
          skipped: fc.nat(2),
        }),
        { nil: undefined },
      ),
      benchmark: fc.option(fc.record({ p99_ms: runs, rps: runs }, { requiredKeys: [] }), { nil: undefined }),
      interface: fc.option(fc.constantFrom(unchangedInterface(), CHANGED_INTERFACE), { nil: undefined }),
      peakMemoryBytes: fc.option(fc.nat(2 * GIB), { nil: undefined }),
    })
    .map((over) => result(over)),
);

test('property: a candidate passes only when every required fact was read and holds (fail closed)', () => {
  fc.assert(
    fc.property(anyResult, anyResult, (baseline, candidate) => {
      const verdict = judge({ baseline, candidate });
      assert.equal(verdict.passed, !verdict.checks.some((check) => check.status === 'Failed'));
      assert.equal(
        verdict.reasons.length,
        verdict.checks.filter((check) => check.status === 'Failed').length,
      );
      if (!verdict.passed) return;
      assert.ok(!('failure' in candidate) && !('failure' in baseline));
      for (const side of [baseline, candidate]) {
        assert.equal(side.outcome, 'evaluated');
        assert.deepEqual(side.breached, []);
        assert.ok(side.commands.every((c) => !c.timedOut && c.exitCode === 0));
        assert.ok(side.commands.some((c) => c.name === 'test'));
        assert.ok(side.tests && side.tests.format !== 'none' && side.tests.failed === 0);
      }
      assert.ok(candidate.tests!.passed >= baseline.tests!.passed);
      assert.ok(candidate.interface !== undefined);
      assert.equal(candidate.interface.after.sha256, candidate.interface.before.sha256);
      assert.ok(verdict.score !== undefined && verdict.score >= 2);
      if (candidate.peakMemoryBytes !== undefined) assert.ok(candidate.peakMemoryBytes <= 0.9 * GIB);
    }),
    { numRuns: 3000 },
  );
});

test('workload objectives are judged on the figures the judge measured on both sides in the same pod', () => {
  const spec: JudgedSpec = {
    verification: { invariants: [...INVARIANTS] },
    objectives: [{ name: 'latency', workload: 'p99_ms', direction: 'Minimize', maxRegressionPercent: 0 }],
  };
  const measured = (baseline: number[], candidate: number[]) =>
    result({
      candidate: 'c1',
      // The candidate's own benchmark claims a miracle; only the judge's figures count.
      benchmark: { p99_ms: [0.01, 0.01, 0.01] },
      workload: {
        requests: 1500,
        baseline: { p99_ms: baseline },
        candidate: { p99_ms: candidate },
        behaviour: { compared: 200, differing: 0 },
      },
    });
  const better = judgeCandidate({
    spec,
    baseline: BASELINE,
    candidate: measured([49.8, 50.1, 49.9], [25.0, 25.2, 24.9]),
    memoryLimitBytes: 1024 * MIB,
  });
  assert.equal(better.passed, true, better.reasons.join('; '));
  assert.equal(
    checkOf(better, 'GoalImproved').message,
    'p99_ms 49.9 → 25.0 median of 3 runs, measured by the judge: 49.9% better, noise ±1.0% (floor)',
  );
  assert.deepEqual(better.goal, { key: 'p99_ms', baseline: 49.9, candidate: 25, measuredBy: 'Judge' });
  const forged = judgeCandidate({
    spec,
    baseline: BASELINE,
    candidate: measured([49.8, 50.1, 49.9], [50.2, 49.9, 50.0]),
    memoryLimitBytes: 1024 * MIB,
  });
  assert.equal(forged.passed, false, 'its self-reported 0.01 ms does not count');
  const unmeasured = judgeCandidate({
    spec,
    baseline: BASELINE,
    candidate: result({
      candidate: 'c1',
      workload: {
        requests: 1500,
        problem: 'the candidate service did not answer /healthz on port 8080 within 30s',
      },
    }),
    memoryLimitBytes: 1024 * MIB,
  });
  assert.match(
    checkOf(unmeasured, 'GoalImproved').message,
    /no judge-measured figures for p99_ms from either side: the candidate service did not answer/,
  );
  assert.equal(checkOf(unmeasured, 'BehaviourPreserved').status, 'Failed');
});

test("a workload goal fails when the candidate fails more of the judge's requests than the unchanged service", () => {
  const spec: JudgedSpec = {
    verification: { invariants: [...INVARIANTS] },
    objectives: [{ name: 'latency', workload: 'p99_ms', direction: 'Minimize', maxRegressionPercent: 0 }],
  };
  const judged = (errorRates: number[]) =>
    judgeCandidate({
      spec,
      baseline: BASELINE,
      candidate: result({
        candidate: 'c1',
        workload: {
          requests: 300,
          baseline: { p99_ms: [49.8, 50.1, 49.9], error_rate: [0, 0, 0] },
          candidate: { p99_ms: [25.0, 25.2, 24.9], error_rate: errorRates },
          behaviour: { compared: 200, differing: 0 },
        },
      }),
      memoryLimitBytes: 1024 * MIB,
    });
  const shedding = judged([0.31, 0.3, 0.29]);
  assert.equal(shedding.passed, false);
  assert.match(
    checkOf(shedding, 'GoalImproved').message,
    /the candidate failed 30\.0% of the judge's requests \(median of 3 runs\), the unchanged service 0\.0%/,
  );
  // one request lost in one run of three moves no median
  assert.equal(judged([0, 0.0033, 0]).passed, true);
});

test('BehaviourPreserved fails on the first differing answer and names it', () => {
  const verdict = judgeCandidate({
    spec: SPEC,
    baseline: BASELINE,
    candidate: result({
      ...GOOD,
      workload: {
        requests: 200,
        behaviour: {
          compared: 200,
          differing: 3,
          first: {
            request: 'GET /quote?symbol=ACME&currency=EUR',
            baseline: '200 {"price":525.53}',
            candidate: '200 {"price":1}',
          },
        },
      },
    }),
    memoryLimitBytes: 1024 * MIB,
  });
  assert.equal(verdict.passed, false);
  assert.equal(
    checkOf(verdict, 'BehaviourPreserved').message,
    '3 of 200 requests answered differently; first GET /quote?symbol=ACME&currency=EUR: unchanged service 200 {"price":525.53}, candidate 200 {"price":1}',
  );
});

test('GoalImproved: runs that separate completely pass even when one slow run widens the spread', () => {
  const spec: JudgedSpec = {
    verification: { invariants: [...INVARIANTS] },
    objectives: [{ name: 'latency', workload: 'p99_ms', direction: 'Minimize', maxRegressionPercent: 0 }],
  };
  const judged = (baseline: number[], candidate: number[]) =>
    judgeCandidate({
      spec,
      baseline: BASELINE,
      candidate: result({
        candidate: 'c1',
        workload: {
          requests: 600,
          baseline: { p99_ms: baseline },
          candidate: { p99_ms: candidate },
          behaviour: { compared: 200, differing: 0 },
        },
      }),
      memoryLimitBytes: 1024 * MIB,
    });
  const apart = judged([105.7, 22.9, 28.1, 25.0, 24.2], [20.0, 3.0, 12.0, 18.0, 6.0]);
  assert.equal(apart.passed, true, apart.reasons.join('; '));
  assert.match(checkOf(apart, 'GoalImproved').message, /every candidate run beat every baseline run$/);
  const overlapping = judged([30.0, 25.0, 28.0], [24.0, 29.0, 20.0]);
  assert.equal(overlapping.passed, false, 'a candidate run slower than two baseline runs: not apart');
  const tiny = judged([50.0, 50.1, 50.2], [49.8, 49.7, 49.9]);
  assert.equal(tiny.passed, false, 'apart but under twice the noise floor');
});

test('a remediation candidate need not be faster, only no slower: the canary judges the remedy', () => {
  const same = result({
    candidate: 'c1',
    benchmark: { p99_ms: [41.1, 40.9, 41.0, 41.2, 40.8], rps: [1000, 1005, 995, 1002, 998] },
  });
  const slower = result({
    candidate: 'c2',
    benchmark: { p99_ms: [52.0, 51.8, 52.3, 52.1, 51.9], rps: [1000, 1005, 995, 1002, 998] },
  });
  const remedy = (candidate: SandboxOutcome) =>
    judgeCandidate({ spec: SPEC, baseline: BASELINE, candidate, memoryLimitBytes: GIB, remedy: true });
  assert.equal(
    checkOf(judge({ candidate: same }), 'GoalImproved').status,
    'Failed',
    'an ordinary cycle needs a gain',
  );
  const kept = checkOf(remedy(same), 'GoalImproved');
  assert.equal(kept.status, 'Passed', kept.message);
  assert.match(kept.message, /a remedy: no worse than the unchanged service, the canary judges the incident/);
  const worse = checkOf(remedy(slower), 'GoalImproved');
  assert.equal(worse.status, 'Failed');
  assert.match(worse.message, /a remedy may not be worse by more than 0\.0% \+ \d+ × noise/);
});
