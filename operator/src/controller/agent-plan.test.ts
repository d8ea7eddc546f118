import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultedMinimalSpec } from '../../../test/support/agents.js';
import type { CyclePhase, GainLedger } from '../api/schema.js';
import {
  BENCHMARK_CONDITION,
  TRUST_ANNOTATION,
  type HyperAgent,
  type ImprovementCycle,
} from '../api/resources.js';
import { DEFAULT_RETENTION } from '../policy/archive.js';
import { toArchiveRecord } from '../policy/archive-record.js';
import { findCondition } from './conditions.js';
import { planAgent, withArchive, withPromotions } from './agent-plan.js';

const created = new Date('2026-01-01T10:00:00Z');
const at = (minutes: number) => new Date(created.getTime() + minutes * 60_000);

function agent(spec: Record<string, unknown> = {}, status: HyperAgent['status'] = undefined): HyperAgent {
  return {
    apiVersion: 'hyperagents.io/v1alpha1',
    kind: 'HyperAgent',
    metadata: { name: 'quote', namespace: 'shop', uid: 'u1', generation: 2, creationTimestamp: created },
    spec: defaultedMinimalSpec(spec),
    ...(status ? { status } : {}),
  };
}

function cycle(slot: Date, phase?: CyclePhase, reason?: string): ImprovementCycle {
  const a = agent();
  return {
    metadata: { name: `quote-${slot.getTime() / 60_000}`, namespace: 'shop' },
    spec: { agent: 'quote', slot: slot.toISOString(), agentGeneration: 1, agentSpec: a.spec },
    ...(phase
      ? {
          status: {
            phase,
            ...(reason ? { reason, message: 'why' } : {}),
            completionTime: slot.toISOString(),
          },
        }
      : {}),
  };
}

test('a new agent gets its first cycle at once, named after the slot', () => {
  const plan = planAgent(agent(), [], at(0.5));
  assert.deepEqual(plan.createCycle, { name: `quote-${created.getTime() / 60_000}`, slot: created });
  assert.equal(plan.status.phase, 'Pending');
  assert.equal(plan.status.activeCycle, plan.createCycle?.name);
  assert.equal(plan.status.observedGeneration, 2);
  assert.equal(findCondition(plan.status.conditions, 'Progressing')?.status, 'True');
  assert.equal(findCondition(plan.status.conditions, 'Ready')?.reason, 'Scheduled');
  assert.deepEqual(
    plan.events.map((e) => e.reason),
    ['CycleCreated'],
  );
  assert.ok(plan.requeueAfterMs && plan.requeueAfterMs > 59 * 60_000);
});

test('never two cycles at once: a due slot waits while a cycle runs', () => {
  const plan = planAgent(agent(), [cycle(created, 'Evaluating')], at(61));
  assert.equal(plan.createCycle, undefined);
  assert.equal(plan.status.phase, 'Evaluating');
  assert.equal(plan.status.activeCycle, `quote-${created.getTime() / 60_000}`);
});

test('a finished slot is not run again, even when the status lost lastScheduleTime', () => {
  const plan = planAgent(agent(), [cycle(created, 'Failed', 'CapabilityMissing')], at(30));
  assert.equal(plan.createCycle, undefined);
  assert.equal(plan.status.phase, 'Idle');
  assert.equal(plan.status.lastScheduleTime, created.toISOString());
  const degraded = findCondition(plan.status.conditions, 'Degraded');
  assert.deepEqual([degraded?.status, degraded?.reason], ['True', 'CapabilityMissing']);
  assert.equal(plan.status.lastCycle?.phase, 'Failed');
});

test('the next slot starts a cycle once the previous one ended; a rollback is not Degraded', () => {
  const plan = planAgent(agent(), [cycle(created, 'RolledBack', 'RolledBack')], at(60));
  assert.equal(plan.createCycle?.slot.toISOString(), at(60).toISOString());
  assert.equal(findCondition(plan.status.conditions, 'Degraded')?.status, 'False');
});

test('the running canary shows on the agent (revision, step, weight) and goes when it ends', () => {
  const slot = at(0);
  const running = cycle(slot, 'Canary');
  running.status = {
    ...running.status,
    selected: 'c2',
    canary: { phase: 'Progressing', stepIndex: 1, weight: 50 } as NonNullable<
      ImprovementCycle['status']
    >['canary'],
  };
  const plan = planAgent(agent({}, { canary: { revision: 'stale', step: 0, weight: 10 } }), [running], at(1));
  assert.deepEqual(plan.status.canary, { revision: `${running.metadata.name}-c2`, step: 1, weight: 50 });
  const done = planAgent(agent({}, plan.status), [cycle(slot, 'Promoted')], at(2));
  assert.equal(done.status.canary, undefined);
});

test('suspend stops new cycles but lets a running one show', () => {
  const idle = planAgent(agent({ suspend: true }), [], at(5));
  assert.equal(idle.createCycle, undefined);
  assert.equal(idle.status.phase, 'Suspended');
  assert.equal(idle.requeueAfterMs, undefined);
  assert.equal(findCondition(idle.status.conditions, 'Ready')?.reason, 'Suspended');
  const busy = planAgent(agent({ suspend: true }), [cycle(created, 'Canary')], at(5));
  assert.equal(busy.status.phase, 'Canary');
});

test('an unparsable cron schedule makes the agent not Ready, with the reason', () => {
  const plan = planAgent(agent({ improvement: { schedule: '99 * * * *' } }), [], at(5));
  assert.equal(plan.createCycle, undefined);
  const ready = findCondition(plan.status.conditions, 'Ready');
  assert.deepEqual([ready?.status, ready?.reason], ['False', 'InvalidSchedule']);
});

function requested(minutes: number, status?: HyperAgent['status']): HyperAgent {
  const a = agent({}, status);
  a.metadata.annotations = { 'hyperagents.io/run': at(minutes).toISOString() };
  return a;
}

test('a run request starts a cycle outside the schedule, once', () => {
  const plan = planAgent(requested(10), [cycle(created, 'Promoted')], at(10.5));
  assert.deepEqual(plan.createCycle, { name: `quote-${at(10).getTime() / 60_000}`, slot: at(10) });
  assert.deepEqual(
    plan.events.map((e) => e.reason),
    ['RunRequested', 'CycleCreated'],
  );
  // the cycle it started answers it: no second one, and the schedule goes on from creation
  const after = planAgent(requested(10), [cycle(created, 'Promoted'), cycle(at(10), 'Promoted')], at(20));
  assert.equal(after.createCycle, undefined);
  assert.equal(after.status.nextScheduleTime, at(60).toISOString());
  // a newer request asks again
  assert.ok(
    planAgent(requested(21), [cycle(created, 'Promoted'), cycle(at(10), 'Promoted')], at(21)).createCycle,
  );
});

test('a run request waits for the running cycle, and for a minute of its own', () => {
  assert.equal(planAgent(requested(10), [cycle(created, 'Canary')], at(10.5)).createCycle, undefined);
  // requested in the minute the last cycle started in: its name would collide, so it waits
  const plan = planAgent(requested(0.2), [cycle(created, 'Failed', 'Boom')], at(0.5));
  assert.equal(plan.createCycle, undefined);
  assert.ok(
    plan.requeueAfterMs !== undefined && plan.requeueAfterMs <= 30_000 + 50,
    String(plan.requeueAfterMs),
  );
  assert.deepEqual(planAgent(requested(0.2), [cycle(created, 'Failed', 'Boom')], at(1)).createCycle, {
    name: `quote-${at(1).getTime() / 60_000}`,
    slot: at(1),
  });
});

test('a suspended agent keeps the request for later; an unreadable one is reported', () => {
  const suspended = requested(10);
  suspended.spec.suspend = true;
  assert.equal(planAgent(suspended, [cycle(created, 'Promoted')], at(11)).createCycle, undefined);
  const bad = agent();
  bad.metadata.annotations = { 'hyperagents.io/run': 'now' };
  const plan = planAgent(bad, [cycle(created, 'Promoted')], at(11));
  assert.equal(plan.createCycle, undefined);
  assert.match(plan.events[0]?.message ?? '', /"now" is not an RFC 3339 time/);
});

/** A cycle that ended Promoted, carrying the history entry of `revision` promoted at `minute`. */
function promoted(minute: number, revision: string): ImprovementCycle {
  const ended = cycle(at(minute), 'Promoted');
  ended.status = {
    ...ended.status,
    promotion: {
      revision,
      image: `quote:${revision}`,
      cycle: ended.metadata.name,
      promotedAt: at(minute).toISOString(),
    },
  };
  return ended;
}

test('the agent reconciler records what promoted cycles delivered: newest first, each revision once', () => {
  const first = planAgent(agent(), [promoted(60, 'r1')], at(61)).status;
  assert.equal(first.stableRevision, 'r1');
  assert.deepEqual(
    first.history?.map((entry) => entry.revision),
    ['r1'],
  );
  const both = planAgent(agent({}, first), [promoted(60, 'r1'), promoted(120, 'r2')], at(121)).status;
  assert.equal(both.stableRevision, 'r2');
  assert.deepEqual(
    both.history?.map((entry) => entry.revision),
    ['r2', 'r1'],
  );
  // a replay of the same cycles adds nothing
  const again = planAgent(agent({}, both), [promoted(60, 'r1'), promoted(120, 'r2')], at(122)).status;
  assert.deepEqual(again.history, both.history);
});

test('a manual rollback stands, and a promotion trimmed from the history does not come back', () => {
  const rolledBack = withPromotions(
    {
      stableRevision: 'r1',
      history: [promoted(120, 'r2').status!.promotion!, promoted(60, 'r1').status!.promotion!],
    },
    [promoted(60, 'r1'), promoted(120, 'r2')],
    10,
  );
  assert.equal(rolledBack.stableRevision, 'r1', 'the rolled-back-to revision stays stable');
  const trimmed = withPromotions(
    { stableRevision: 'r2', history: [promoted(120, 'r2').status!.promotion!] },
    [promoted(60, 'r1'), promoted(120, 'r2')],
    1,
  );
  assert.deepEqual(
    trimmed.history?.map((entry) => entry.revision),
    ['r2'],
  );
  const kept = withPromotions({}, [promoted(60, 'r1'), promoted(120, 'r2'), promoted(180, 'r3')], 2);
  assert.deepEqual(
    kept.history?.map((entry) => entry.revision),
    ['r3', 'r2'],
  );
  assert.equal(kept.stableRevision, 'r3');
  // a cycle that rolled back delivers nothing
  const rolled = cycle(at(240), 'RolledBack');
  assert.deepEqual(withPromotions(kept, [rolled], 2), kept);
});

test('only a cycle that ended Promoted delivers: a promotion entry on any other cycle is not recorded', () => {
  const forged = (phase: CyclePhase): ImprovementCycle => {
    const ended = promoted(300, `forged-${phase}`);
    ended.status = { ...ended.status, phase };
    return ended;
  };
  const before = withPromotions({}, [promoted(60, 'r1')], 10);
  for (const phase of ['RolledBack', 'Failed', 'Rejected', 'Canary'] as const) {
    assert.deepEqual(withPromotions(before, [forged(phase)], 10), before, `${phase} delivers nothing`);
  }
});

// The archive: ended cycles fold into status.archive, and what production showed of the
// delivered candidates decides whether the agent trusts its benchmark.

const PARAMETERS = [{ name: 'cache-size', env: 'CACHE_SIZE', type: 'integer', min: 1, max: 1024 }];

/** An agent that declares the cache-size parameter. */
function tunable(status: HyperAgent['status'] = undefined): HyperAgent {
  return agent({ improvement: { interval: '1h', parameters: PARAMETERS } }, status);
}

/**
 * A cycle ended in `phase` at `minute`, whose candidates c1… tried cache sizes `sizes`, judged
 * `verdict`; c1 is the one it delivered when the phase says so.
 */
function tried(
  minute: number,
  phase: CyclePhase,
  sizes: number[],
  verdict: 'Passed' | 'Failed' = 'Passed',
  gain?: GainLedger,
): ImprovementCycle {
  const ended = cycle(at(minute), phase);
  ended.status = {
    ...ended.status,
    candidates: sizes.map((size, index) => ({
      id: `c${index + 1}`,
      kind: 'config',
      summary: `cache-size ${size}`,
      parameters: { 'cache-size': String(size) },
      score: size / 100,
      verdict,
      ...(verdict === 'Failed' ? { reasons: [`GoalImproved: cache-size ${size} did not help`] } : {}),
    })),
    selected: 'c1',
    ...(phase === 'Promoted' || phase === 'RolledBack' ? { commit: `commit-${minute}` } : {}),
    ...(gain ? { gain } : {}),
  };
  return ended;
}

const declared = tunable().spec.improvement.parameters;

test('folding the same ended cycles again changes nothing', () => {
  const cycles = [
    tried(60, 'Promoted', [128, 256], 'Passed', { objective: 'p99', predicted: 10, message: 'm' }),
    tried(120, 'Failed', [8, 16], 'Failed'),
    tried(180, 'RolledBack', [512], 'Passed'),
  ];
  const once = withArchive([], cycles, declared);
  assert.equal(once.length, 5);
  const twice = withArchive(once.map(toArchiveRecord), cycles, declared);
  assert.deepEqual(twice, once);
  // and a visit that sees only some of the cycles keeps what the others added
  assert.deepEqual(withArchive(once.map(toArchiveRecord), cycles.slice(1), declared), once);
});

test('an old cycle read again after retention dropped its failures does not evict newer ones', () => {
  // cycles of 8 failures each, an hour apart, one cycle more than retention keeps failures of
  const hours = Array.from({ length: Math.ceil(DEFAULT_RETENTION.maxFailures / 8) + 1 }, (_, i) => i + 1);
  const cycles = hours.map((hour) =>
    tried(
      hour * 60,
      'Failed',
      [1, 2, 3, 4, 5, 6, 7, 8].map((n) => hour * 10 + n),
      'Failed',
    ),
  );
  let records: NonNullable<HyperAgent['status']>['archive'] = [];
  for (let seen = 1; seen <= cycles.length; seen += 1) {
    records = withArchive(records, cycles.slice(0, seen), declared).map(toArchiveRecord);
  }
  const newest = cycles
    .flatMap((c) => c.status?.candidates?.map((d) => `${c.metadata.name}/${d.id}`))
    .slice(-DEFAULT_RETENTION.maxFailures);
  assert.ok(!newest.includes(`${cycles[0]?.metadata.name}/c1`), 'the oldest cycle was dropped');
  assert.deepEqual(
    records.map((record) => record.id),
    newest,
  );
  // every visit lists all the agent's cycles, the oldest included: it comes back and goes again
  const again = withArchive(records, cycles, declared).map(toArchiveRecord);
  assert.deepEqual(
    again.map((record) => record.id),
    newest,
  );
});

test("the agent's status holds the archive of its ended cycles, parameters as strings", () => {
  const status = planAgent(
    tunable(),
    [tried(60, 'Promoted', [128, 256]), tried(120, 'Evaluating', [512])],
    at(121),
  ).status;
  assert.deepEqual(
    status.archive?.map((record) => [record.id, record.verdict, record.parameters?.['cache-size']]),
    [
      [`${cycle(at(60)).metadata.name}/c1`, 'Promoted', '128'],
      [`${cycle(at(60)).metadata.name}/c2`, 'Passed', '256'],
    ],
  );
  assert.equal(status.archive?.[0]?.commit, 'commit-60');
  assert.equal(planAgent(tunable(), [], at(1)).status.archive, undefined, 'no cycle ended: no archive');
});

test('two deliveries far below their prediction make the benchmark not predictive, until a person trusts it', () => {
  const short: GainLedger = {
    objective: 'p99',
    predicted: 20,
    canary: 4,
    ratio: 0.2,
    message: 'median of 3',
  };
  const first = tried(60, 'RolledBack', [128], 'Passed', short);
  const second = tried(120, 'RolledBack', [256], 'Passed', short);
  const reasons = (plan: ReturnType<typeof planAgent>) => plan.events.map((event) => event.reason);
  const benchmark = (plan: ReturnType<typeof planAgent>) =>
    findCondition(plan.status.conditions, BENCHMARK_CONDITION);

  const fresh = planAgent(tunable(), [], at(1));
  assert.equal(benchmark(fresh)?.status, 'Unknown');
  const one = planAgent(tunable(fresh.status), [first], at(61));
  assert.notEqual(benchmark(one)?.status, 'False', 'one shortfall is not enough');
  assert.ok(!reasons(one).includes('BenchmarkNotPredictive'));

  const two = planAgent(tunable(one.status), [first, second], at(121));
  assert.deepEqual([benchmark(two)?.status, benchmark(two)?.reason], ['False', 'ProductionDisagrees']);
  const warning = two.events.find((event) => event.reason === 'BenchmarkNotPredictive');
  assert.equal(warning?.type, 'Warning');
  assert.match(warning?.message ?? '', /2 deliveries in a row/);

  const later = planAgent(tunable(two.status), [first, second], at(122));
  assert.equal(benchmark(later)?.status, 'False');
  assert.ok(!reasons(later).includes('BenchmarkNotPredictive'), 'the Warning is not repeated');

  const trusting = tunable(later.status);
  trusting.metadata.annotations = { [TRUST_ANNOTATION]: at(123).toISOString() };
  const trusted = planAgent(trusting, [first, second], at(124));
  assert.notEqual(benchmark(trusted)?.status, 'False');
  const normal = trusted.events.find((event) => event.reason === 'BenchmarkTrusted');
  assert.equal(normal?.type, 'Normal');
  trusting.status = trusted.status;
  assert.ok(!reasons(planAgent(trusting, [first, second], at(125))).includes('BenchmarkTrusted'));

  // the same two deliveries showing more than half the predicted gain keep the benchmark trusted
  const fair: GainLedger = { ...short, canary: 12, ratio: 0.6 };
  const kept = planAgent(
    tunable(one.status),
    [tried(60, 'RolledBack', [128], 'Passed', fair), tried(120, 'RolledBack', [256], 'Passed', fair)],
    at(121),
  );
  assert.deepEqual([benchmark(kept)?.status, benchmark(kept)?.reason], ['True', 'ProductionAgrees']);
});

/** A promoted cycle of an agent that watches its promotions, with the watch as far as `phase`. */
function watched(
  minute: number,
  revision: string,
  phase: 'Watching' | 'Reverted' | 'Passed',
  revertedTo?: string,
): ImprovementCycle {
  const ended = promoted(minute, revision);
  ended.spec.agentSpec = agent({ rollout: { afterPromotion: { window: '15m', watch: true } } }).spec;
  ended.status = {
    ...ended.status,
    watch: {
      phase,
      message:
        phase === 'Reverted'
          ? 'Reverted: the revision before runs again. Regression after promotion: latency'
          : phase,
      until: at(minute + 15).toISOString(),
      counts: [],
      ...(revertedTo ? { revertedTo } : {}),
    },
  };
  return ended;
}

test('no cycle starts while a promotion is watched; the next one starts once the watch is over', () => {
  const during = planAgent(agent(), [watched(0, 'r1', 'Watching')], at(61));
  assert.equal(during.createCycle, undefined, 'a due slot waits for the watch');
  const afterwards = planAgent(agent(), [watched(0, 'r1', 'Passed')], at(61));
  assert.equal(afterwards.createCycle?.slot.toISOString(), at(60).toISOString());
});

test('a promotion the watch reverted gives the stable revision back to the one before; the archive says RolledBack', () => {
  const first = planAgent(agent(), [promoted(0, 'r1')], at(1)).status;
  const reverted = planAgent(
    agent({}, first),
    [promoted(0, 'r1'), watched(60, 'r2', 'Reverted', 'r1')],
    at(80),
  ).status;
  assert.equal(reverted.stableRevision, 'r1');
  assert.deepEqual(
    reverted.history?.map((entry) => entry.revision),
    ['r2', 'r1'],
    'the history keeps what was promoted, for a manual rollback',
  );
  const unnamed = planAgent(agent(), [watched(60, 'r2', 'Reverted')], at(80)).status;
  assert.equal(unnamed.stableRevision, undefined, 'the revision before the first promotion has no name');
});
