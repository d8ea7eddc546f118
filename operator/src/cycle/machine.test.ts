import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Candidate, ImprovementCycleSpec, ImprovementCycleStatus } from '../api/schema.js';
import { defaultedMinimalSpec } from '../../../test/support/agents.js';
import {
  APPROVAL_TIMEOUT_MS,
  chooseCandidate,
  needsApproval,
  step,
  type CycleObservations,
  PHASE_WORK,
} from './machine.js';
import type { WorkOutcome } from './ports.js';

function cycleSpec(overrides: Record<string, unknown> = {}): ImprovementCycleSpec {
  return {
    agent: 'quote',
    slot: '2026-01-01T00:00:00Z',
    agentGeneration: 1,
    agentSpec: defaultedMinimalSpec(overrides),
  };
}

const T0 = new Date('2026-01-01T00:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const none: CycleObservations = { missing: [] };
const passed = (id: string, score: number, kind: Candidate['kind'] = 'config'): Candidate => ({
  id,
  kind,
  summary: `candidate ${id}`,
  score,
  verdict: 'Passed',
});

test('defaults fill nested blocks exactly as the CRD does', () => {
  const spec = cycleSpec().agentSpec;
  assert.equal(spec.improvement.proposer.type, 'tuner');
  assert.equal(spec.rollout.analysis.onNoData, 'Rollback');
  assert.equal(spec.sandbox.quota.pods, 4);
  assert.equal(spec.approval, 'AboveRisk');
});

test('a cycle whose capabilities are missing fails at once and names them', () => {
  const result = step(
    cycleSpec(),
    {},
    { missing: ["Proposer 'tuner'", 'Sandbox (candidate evaluation)'] },
    T0,
  );
  assert.equal(result.status.phase, 'Failed');
  assert.equal(result.status.reason, 'CapabilityMissing');
  assert.match(result.status.message ?? '', /no Proposer 'tuner', no Sandbox/);
  assert.equal(result.status.completionTime, T0.toISOString());
  assert.deepEqual(
    result.events.map((e) => [e.type, e.reason]),
    [['Warning', 'CapabilityMissing']],
  );
  assert.equal(result.requeueAfterMs, undefined);
});

test('a pending cycle with every capability starts representing', () => {
  const result = step(cycleSpec(), {}, none, T0);
  assert.equal(result.status.phase, 'Representing');
  assert.equal(result.status.startTime, T0.toISOString());
  assert.equal(result.requeueAfterMs, 0);
});

test('work phases wait while work runs and fail with the work reason', () => {
  const status: ImprovementCycleStatus = { phase: 'Evaluating', startTime: T0.toISOString() };
  const running = step(
    cycleSpec(),
    status,
    { missing: [], work: { state: 'running', retryAfterMs: 2000 } },
    at(5),
  );
  assert.equal(running.status.phase, 'Evaluating');
  assert.equal(running.requeueAfterMs, 2000);
  assert.deepEqual(running.events, []);
  const failed = step(
    cycleSpec(),
    status,
    {
      missing: [],
      work: { state: 'failed', reason: 'SandboxIsolationBroken', message: 'reached the API server' },
    },
    at(5),
  );
  assert.equal(failed.status.phase, 'Failed');
  assert.equal(failed.status.reason, 'SandboxIsolationBroken');
});

test('a cycle past its budget fails, except while a human decides or a canary runs', () => {
  const spec = cycleSpec({ improvement: { interval: '1h', budget: { maxDuration: '10m' } } });
  const late = step(spec, { phase: 'Building', startTime: T0.toISOString() }, none, at(601));
  assert.equal(late.status.reason, 'CycleDeadlineExceeded');
  const waiting = step(
    spec,
    { phase: 'AwaitingApproval', startTime: T0.toISOString(), phaseStartTime: at(30).toISOString() },
    none,
    at(601),
  );
  assert.equal(waiting.status.phase, 'AwaitingApproval');
  const canary = step(
    spec,
    { phase: 'Canary', startTime: T0.toISOString() },
    { ...none, work: { state: 'running' } },
    at(601),
  );
  assert.equal(canary.status.phase, 'Canary');
});

test('a running phase keeps the status its work reports (the canary state lives there)', () => {
  const spec = cycleSpec({});
  const canary = { phase: 'Progressing', weight: 25 } as unknown as NonNullable<
    ImprovementCycleStatus['canary']
  >;
  const result = step(
    spec,
    { phase: 'Canary', startTime: T0.toISOString(), message: 'old' },
    {
      ...none,
      work: { state: 'running', message: 'Step 1 of 2 at 25%', status: { canary }, retryAfterMs: 500 },
    },
    at(5),
  );
  assert.equal(result.status.phase, 'Canary');
  assert.equal(result.status.canary, canary);
  assert.equal(result.status.message, 'Step 1 of 2 at 25%');
  assert.equal(result.requeueAfterMs, 500);
});

test('selection picks the passing candidate with the best score', () => {
  const best = chooseCandidate([
    passed('a', 1),
    { id: 'b', kind: 'config', summary: 'b', score: 9, verdict: 'Failed' },
    passed('c', 3),
  ]);
  assert.equal(best?.id, 'c');
  assert.equal(chooseCandidate([{ id: 'x', kind: 'code', summary: 'x', verdict: 'Refused' }]), undefined);
});

test('no passing candidate ends the cycle Rejected', () => {
  const result = step(
    cycleSpec(),
    {
      phase: 'Selecting',
      startTime: T0.toISOString(),
      candidates: [{ id: 'a', kind: 'code', summary: 'a', verdict: 'Failed' }],
    },
    none,
    at(1),
  );
  assert.equal(result.status.phase, 'Rejected');
  assert.equal(result.status.reason, 'NoCandidatePassed');
});

test('approval policy: Auto never waits, Always always, AboveRisk for code', () => {
  const table: [string, Candidate['kind'], string][] = [
    ['Auto', 'code', 'Committing'],
    ['Always', 'config', 'AwaitingApproval'],
    ['AboveRisk', 'config', 'Committing'],
    ['AboveRisk', 'code', 'AwaitingApproval'],
  ];
  for (const [approval, kind, expected] of table) {
    const result = step(
      cycleSpec({ approval }),
      { phase: 'Selecting', startTime: T0.toISOString(), candidates: [passed('a', 1, kind)] },
      none,
      at(1),
    );
    assert.equal(result.status.phase, expected, `${approval}/${kind}`);
    assert.equal(result.status.selected, 'a');
  }
});

test('approval: approved proceeds, rejected ends, silence times out after 24h', () => {
  const waiting: ImprovementCycleStatus = {
    phase: 'AwaitingApproval',
    startTime: T0.toISOString(),
    phaseStartTime: T0.toISOString(),
    selected: 'a',
  };
  assert.equal(
    step(cycleSpec(), waiting, { missing: [], approval: 'Approved' }, at(60)).status.phase,
    'Committing',
  );
  const rejected = step(cycleSpec(), waiting, { missing: [], approval: 'Rejected' }, at(60));
  assert.deepEqual([rejected.status.phase, rejected.status.reason], ['Rejected', 'RejectedByUser']);
  const pending = step(cycleSpec(), waiting, none, at(60));
  assert.equal(pending.requeueAfterMs, APPROVAL_TIMEOUT_MS - 60_000);
  const timedOut = step(cycleSpec(), waiting, none, new Date(T0.getTime() + APPROVAL_TIMEOUT_MS));
  assert.equal(timedOut.status.reason, 'ApprovalTimedOut');
});

test('terminal cycles never change', () => {
  for (const phase of ['Promoted', 'RolledBack', 'Rejected', 'Failed'] as const) {
    const status: ImprovementCycleStatus = { phase, reason: 'x' };
    const result = step(cycleSpec(), status, { missing: ['anything'] }, at(1));
    assert.equal(result.status, status);
    assert.deepEqual(result.events, []);
    assert.equal(result.requeueAfterMs, undefined);
  }
});

/** Runs step() repeatedly, answering each phase's work from `answers`, and returns the phases seen. */
function walk(
  spec: ImprovementCycleSpec,
  answers: Partial<Record<string, WorkOutcome>>,
  approval?: 'Approved',
) {
  let status: ImprovementCycleStatus = {};
  const phases: string[] = [];
  for (let i = 0; i < 20; i++) {
    const phase = status.phase ?? 'Pending';
    const kind = PHASE_WORK[phase];
    const result = step(
      spec,
      status,
      { missing: [], work: kind ? answers[kind] : undefined, approval },
      at(i),
    );
    status = result.status;
    phases.push(status.phase ?? 'Pending');
    if (result.requeueAfterMs === undefined) break;
  }
  return { status, phases };
}

test('scenario: a good candidate goes all the way to Promoted', () => {
  const { status, phases } = walk(cycleSpec({ approval: 'Auto' }), {
    represent: { state: 'succeeded' },
    propose: {
      state: 'succeeded',
      status: { candidates: [{ id: 'a', kind: 'config', summary: 'cache 512' }] },
    },
    evaluate: { state: 'succeeded', status: { candidates: [passed('a', 0.3)] } },
    commit: { state: 'succeeded', status: { commit: 'abc123' } },
    build: { state: 'succeeded', status: { image: 'registry.local/quote:abc123' } },
    canary: { state: 'succeeded', result: 'Promoted' },
  });
  assert.deepEqual(phases, [
    'Representing',
    'Proposing',
    'Evaluating',
    'Selecting',
    'Committing',
    'Building',
    'Canary',
    'Promoted',
  ]);
  assert.equal(status.commit, 'abc123');
  assert.equal(status.image, 'registry.local/quote:abc123');
  assert.equal(status.selected, 'a');
});

test('scenario: a canary that fails analysis ends RolledBack', () => {
  const { status } = walk(
    cycleSpec({ approval: 'Always' }),
    {
      represent: { state: 'succeeded' },
      propose: { state: 'succeeded', status: { candidates: [{ id: 'a', kind: 'code', summary: 'batch' }] } },
      evaluate: { state: 'succeeded', status: { candidates: [passed('a', 0.2, 'code')] } },
      commit: { state: 'succeeded', status: { commit: 'c' } },
      build: { state: 'succeeded', status: { image: 'i' } },
      canary: { state: 'succeeded', result: 'RolledBack', message: 'error-rate 0.2 above max 0.01' },
    },
    'Approved',
  );
  assert.equal(status.phase, 'RolledBack');
  assert.equal(status.message, 'error-rate 0.2 above max 0.01');
});

test('scenario: a proposer with nothing to offer ends Rejected, not Failed', () => {
  const { status } = walk(cycleSpec(), {
    represent: { state: 'succeeded' },
    propose: { state: 'succeeded', status: { candidates: [] } },
  });
  assert.deepEqual([status.phase, status.reason], ['Rejected', 'NoCandidates']);
});

test('a code candidate whose goal rests on self-reported figures waits for a human, whatever the policy', () => {
  const code = { id: 'c1', kind: 'code', summary: 'x' } as const;
  const judged = {
    ...code,
    goal: { key: 'p99_ms', baseline: 50, candidate: 25, measuredBy: 'Judge' },
  } as const;
  const selfReported = { ...judged, goal: { ...judged.goal, measuredBy: 'SelfReported' } } as const;
  assert.equal(needsApproval('Auto', judged), false);
  assert.equal(needsApproval('Auto', selfReported), true);
  assert.equal(
    needsApproval('Auto', { ...selfReported, kind: 'config' }),
    false,
    'a config change ships no code',
  );
  assert.equal(needsApproval('AboveRisk', judged), true);
  assert.equal(needsApproval('Always', { id: 'c2', kind: 'config', summary: 'y' }), true);
});
