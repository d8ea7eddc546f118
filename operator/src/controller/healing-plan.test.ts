import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultedMinimalSpec } from '../../../test/support/agents.js';
import type { CyclePhase, HealingStatus, PromotionWatch, TriggerState } from '../api/schema.js';
import { REVERT_ANNOTATION, type HyperAgent, type ImprovementCycle } from '../api/resources.js';
import {
  healingDue,
  isRemediation,
  planHealing,
  remediationStarted,
  trackTriggers,
  type HealingPlan,
  type TriggerReading,
} from './healing-plan.js';

// Times are seconds from t0; the trigger `errors` must hold 30s, the triggers are checked every
// 15s, a promotion younger than 30m is reverted first, 10m cool-down, at most 2 remediations a day.
const t0 = new Date('2026-01-01T10:00:00Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
const iso = (seconds: number) => at(seconds).toISOString();
const DAY = 24 * 3600;

const HEALING = {
  triggers: [{ name: 'errors', query: 'x', max: 0.01, for: '30s' }],
  interval: '15s',
  revertWithin: '30m',
  cooldown: '10m',
  maxPerDay: 2,
};

function agent(
  healing?: HealingStatus,
  history?: NonNullable<HyperAgent['status']>['history'],
  spec: Record<string, unknown> = { healing: HEALING },
): HyperAgent {
  const status = { ...(healing ? { healing } : {}), ...(history ? { history } : {}) };
  return {
    apiVersion: 'hyperagents.io/v1alpha1',
    kind: 'HyperAgent',
    metadata: { name: 'quote', namespace: 'shop', uid: 'u1', generation: 2, creationTimestamp: at(-DAY) },
    spec: defaultedMinimalSpec(spec),
    ...(Object.keys(status).length > 0 ? { status } : {}),
  };
}

function cycle(name: string, phase?: CyclePhase, completion?: number): ImprovementCycle {
  return {
    metadata: { name, namespace: 'shop' },
    spec: { agent: 'quote', slot: iso(-DAY), agentGeneration: 2, agentSpec: agent().spec },
    ...(phase
      ? { status: { phase, ...(completion !== undefined ? { completionTime: iso(completion) } : {}) } }
      : {}),
  };
}

/** A remediation cycle (it carries an incident), in `phase`, ended at `completion` when given. */
function remediation(name: string, phase: CyclePhase, completion?: number): ImprovementCycle {
  const c = cycle(name, phase, completion);
  c.spec.incident = {
    summary: 'errors: 0.05 > 0.01',
    since: iso(0),
    detectedAt: iso(30),
    triggers: ['errors'],
    series: [],
    events: [],
    logs: [],
  };
  return c;
}

/** A cycle that ended Promoted, having promoted `revision` at `second`. */
function promoted(name: string, revision: string, second: number): ImprovementCycle {
  const c = cycle(name, 'Promoted', second);
  c.status = {
    ...c.status,
    promotion: { revision, image: `quote:${revision}`, cycle: name, promotedAt: iso(second) },
  };
  return c;
}

/** The same promoted cycle with its watch as far as `phase` (reverted, rolled out, at `revertedAt`). */
function watching(
  c: ImprovementCycle,
  phase: PromotionWatch['phase'],
  revertedAt?: number,
): ImprovementCycle {
  return {
    ...c,
    status: {
      ...c.status!,
      watch: {
        phase,
        message: phase,
        until: iso(3600),
        counts: [],
        ...(revertedAt !== undefined ? { revertedTo: 'r1', revertedTime: iso(revertedAt) } : {}),
      },
    },
  };
}

const firing = (value = 0.05): TriggerReading => ({
  name: 'errors',
  state: 'firing',
  value,
  message: `${value} > 0.01`,
});
const ok: TriggerReading = { name: 'errors', state: 'ok', value: 0.001, message: '0.001 <= 0.01' };
const unknown: TriggerReading = { name: 'errors', state: 'unknown', message: 'Prometheus: ECONNREFUSED' };

/** The agent as the reconciler writes it back after `plan`. */
const after = (plan: HealingPlan | HealingStatus, history?: NonNullable<HyperAgent['status']>['history']) =>
  agent('status' in plan ? plan.status : plan, history);

const SUMMARY = 'errors: 0.05 > 0.01';

test('the spec fixture carries the healing settings; defaults fill what is left out', () => {
  assert.deepEqual(agent().spec.healing, HEALING);
  const defaulted = defaultedMinimalSpec({ healing: { triggers: [{ name: 'e', query: 'x', max: 1 }] } });
  assert.deepEqual(defaulted.healing, {
    triggers: [{ name: 'e', query: 'x', max: 1, for: '1m' }],
    interval: '15s',
    revertWithin: '30m',
    cooldown: '10m',
    maxPerDay: 4,
  });
});

test('debounce: a trigger firing for less than its duration is no incident; after it, one is detected and remediated', () => {
  const first = planHealing(agent(), [], [firing()], at(0));
  assert.deepEqual(first.action, { kind: 'none' });
  assert.deepEqual(first.events, []);
  assert.equal(first.status.incident, undefined);
  assert.equal(first.detected, undefined);
  assert.deepEqual(first.status, {
    checkedAt: iso(0),
    triggers: [{ name: 'errors', firing: true, since: iso(0), value: 0.05, message: '0.05 > 0.01' }],
  });
  assert.equal(first.requeueAfterMs, 15_000, '30s to go: the interval comes first');

  const second = planHealing(after(first), [], [firing(0.06)], at(20));
  assert.deepEqual(second.action, { kind: 'none' });
  assert.deepEqual(second.events, []);
  assert.equal(second.status.incident, undefined);
  assert.equal(second.status.triggers[0]?.since, iso(0), 'since is kept while the trigger keeps firing');
  assert.equal(second.status.triggers[0]?.value, 0.06);
  assert.equal(second.requeueAfterMs, 10_000, 'the next look is when the 30s are up, sooner than 15s');

  // a promotion older than revertWithin is no suspect: a remediation starts
  const old = promoted('quote-old', 'r1', -31 * 60);
  const third = planHealing(after(second), [old], [firing()], at(35));
  assert.deepEqual(
    third.events.map((e) => [e.type, e.reason, e.message]),
    [['Warning', 'IncidentDetected', `Incident: ${SUMMARY}.`]],
  );
  assert.deepEqual(third.detected, { detectSeconds: 35 });
  assert.deepEqual(third.action, {
    kind: 'remediate',
    summary: SUMMARY,
    since: at(0),
    detectedAt: at(35),
    triggers: ['errors'],
  });
  assert.deepEqual(third.status.incident, {
    summary: SUMMARY,
    since: iso(0),
    detectedAt: iso(35),
    action: 'Waiting',
    message: `Incident (${SUMMARY}): a remediation cycle starts.`,
  });
  assert.equal(third.requeueAfterMs, 15_000);
});

test('a trigger that stops firing during its debounce starts over when it fires again', () => {
  const first = planHealing(agent(), [], [firing()], at(0));
  const calm = planHealing(after(first), [], [ok], at(15));
  assert.deepEqual(calm.status.triggers, [
    { name: 'errors', firing: false, value: 0.001, message: '0.001 <= 0.01' },
  ]);
  const again = planHealing(after(calm), [], [firing()], at(30));
  assert.equal(again.status.triggers[0]?.since, iso(30));
  assert.equal(again.status.incident, undefined, 'fired at 0s and at 30s, but not for 30s on end');
  assert.deepEqual(again.action, { kind: 'none' });
  assert.deepEqual(again.events, []);
});

/** Debounced and detected at 35s (since 0s), with the remediation cycle quote-fix-1 started then. */
function remediating(): HyperAgent {
  const debouncing = planHealing(agent(), [], [firing()], at(0));
  const detected = planHealing(after(debouncing), [], [firing()], at(35));
  assert.equal(detected.action.kind, 'remediate');
  return after(remediationStarted(detected.status, 'quote-fix-1', at(35)));
}

test('exactly one remediation: none more while it runs, the cool-down after it, then a second, then the daily cap', () => {
  let a = remediating();
  assert.deepEqual(a.status?.healing?.remediations, [iso(35)]);
  const running = [remediation('quote-fix-1', 'Evaluating')];

  for (const second of [50, 65, 80]) {
    const plan = planHealing(a, running, [firing()], at(second));
    assert.deepEqual(plan.action, { kind: 'none' }, `at ${second}s`);
    assert.deepEqual(plan.events, [], `at ${second}s`);
    assert.equal(plan.detected, undefined);
    assert.deepEqual(plan.status.incident, {
      summary: SUMMARY,
      since: iso(0),
      detectedAt: iso(35),
      action: 'Remediating',
      message: 'Remediation cycle quote-fix-1 started.',
      cycle: 'quote-fix-1',
    });
    assert.deepEqual(plan.status.remediations, [iso(35)]);
    assert.equal(plan.requeueAfterMs, 15_000);
    a = after(plan);
  }

  // it ended at 300s without fixing anything: the cool-down holds the next one until 900s
  const ended = [remediation('quote-fix-1', 'RolledBack', 300)];
  const held = planHealing(a, ended, [firing()], at(310));
  assert.deepEqual(held.action, { kind: 'none' });
  const heldReason = `Incident (${SUMMARY}), but the last remediation ended 10s ago: the cool-down lasts 600s.`;
  assert.deepEqual(
    held.events.map((e) => [e.type, e.reason, e.message]),
    [['Normal', 'RemediationHeld', heldReason]],
  );
  assert.equal(held.status.incident?.action, 'Held');
  assert.equal(held.status.incident?.message, heldReason);
  assert.equal(held.status.incident?.cycle, 'quote-fix-1', 'the incident still names its remediation');
  assert.equal(held.requeueAfterMs, 15_000);

  const identical = planHealing(after(held), ended, [firing()], at(310));
  assert.deepEqual(identical.events, [], 'the same hold is not told twice');
  assert.deepEqual(identical.action, { kind: 'none' });
  assert.deepEqual(identical.status, held.status);

  const lastSeconds = planHealing(after(held), ended, [firing()], at(895));
  assert.deepEqual(lastSeconds.action, { kind: 'none' });
  assert.equal(lastSeconds.status.incident?.action, 'Held');
  assert.equal(lastSeconds.requeueAfterMs, 5_000, 'the next look is when the cool-down ends');

  const second = planHealing(after(lastSeconds), ended, [firing()], at(900));
  assert.deepEqual(second.action, {
    kind: 'remediate',
    summary: SUMMARY,
    since: at(0),
    detectedAt: at(35),
    triggers: ['errors'],
  });
  assert.deepEqual(second.events, [], 'the same incident: not detected again');
  assert.equal(second.detected, undefined);
  a = after(remediationStarted(second.status, 'quote-fix-2', at(900)));
  assert.deepEqual(a.status?.healing?.remediations, [iso(35), iso(900)]);
  assert.equal(a.status?.healing?.incident?.cycle, 'quote-fix-2');

  // the second one ended at 1000s too; after its cool-down the daily cap (2) holds the third
  const both = [remediation('quote-fix-1', 'RolledBack', 300), remediation('quote-fix-2', 'Failed', 1000)];
  const capped = planHealing(a, both, [firing()], at(1600));
  assert.deepEqual(capped.action, { kind: 'none' });
  const capReason = `Incident (${SUMMARY}), but 2 remediation cycles started in the last 24 h, the daily cap.`;
  assert.deepEqual(
    capped.events.map((e) => [e.reason, e.message]),
    [['RemediationHeld', capReason]],
  );
  assert.equal(capped.status.incident?.action, 'Held');
  assert.deepEqual(capped.status.remediations, [iso(35), iso(900)]);
  const cappedLater = planHealing(after(capped), both, [firing()], at(5000));
  assert.deepEqual(cappedLater.action, { kind: 'none' });
  assert.deepEqual(cappedLater.events, []);

  // a day after the first start, it no longer counts: a third one may start
  const nextDay = planHealing(after(cappedLater), both, [firing()], at(35 + DAY + 1));
  assert.equal(nextDay.action.kind, 'remediate');
  assert.deepEqual(nextDay.status.remediations, [iso(900)], 'starts older than 24 h are dropped');
});

test('a remediation still running from before holds a new incident back', () => {
  const debouncing = planHealing(agent(), [], [firing()], at(0));
  const plan = planHealing(after(debouncing), [remediation('quote-fix-0', 'Proposing')], [firing()], at(30));
  assert.deepEqual(plan.action, { kind: 'none' });
  assert.equal(plan.status.incident?.action, 'Held');
  assert.deepEqual(
    plan.events.map((e) => e.reason),
    ['IncidentDetected', 'RemediationHeld'],
  );
  assert.match(plan.events[1]?.message ?? '', /cycle quote-fix-0 is still running: one cycle at a time/);
});

test('the cool-down hold is told once, not again at every check while the cool-down runs', () => {
  const ended = [remediation('quote-fix-1', 'RolledBack', 300)];
  const held = planHealing(remediating(), ended, [firing()], at(310));
  assert.deepEqual(
    held.events.map((e) => e.reason),
    ['RemediationHeld'],
  );
  // same trigger reading, same cool-down, one check later
  const next = planHealing(after(held), ended, [firing()], at(325));
  assert.equal(next.status.incident?.action, 'Held');
  assert.deepEqual(next.events, []);
});

/** r2 was promoted by quote-r2 10 minutes before the trigger began; r1 ran before it. */
const history = [
  { revision: 'r2', image: 'quote:r2', cycle: 'quote-r2', promotedAt: iso(-600) },
  { revision: 'r1', image: 'quote:r1', cycle: 'quote-r1', promotedAt: iso(-7200) },
];
const REVERT_REASON = `Incident (${SUMMARY}) 635s after r2 was promoted: r1, the revision before it, goes back first.`;

/** Debounced from 0s, detected at 35s, r2 reverted then. */
function reverted(): { agent: HyperAgent; plan: HealingPlan } {
  const cycles = [promoted('quote-r1', 'r1', -7200), promoted('quote-r2', 'r2', -600)];
  const debouncing = planHealing(agent(undefined, history), cycles, [firing()], at(0));
  const plan = planHealing(after(debouncing, history), cycles, [firing()], at(35));
  return { agent: after(plan, history), plan };
}

test('a recent promotion is reverted first, once; remediation waits until the revert has settled', () => {
  const { agent: a, plan } = reverted();
  assert.deepEqual(plan.action, { kind: 'revert', cycle: 'quote-r2', reason: REVERT_REASON });
  assert.deepEqual(
    plan.events.map((e) => [e.type, e.reason, e.message]),
    [
      ['Warning', 'IncidentDetected', `Incident: ${SUMMARY}.`],
      ['Warning', 'IncidentRevert', REVERT_REASON],
    ],
  );
  assert.deepEqual(plan.detected, { detectSeconds: 35 });
  assert.deepEqual(plan.status.incident, {
    summary: SUMMARY,
    since: iso(0),
    detectedAt: iso(35),
    action: 'Reverted',
    message: REVERT_REASON,
    revertedCycle: 'quote-r2',
    mitigatedAt: iso(35),
  });
  assert.equal(plan.status.remediations, undefined);

  const r1 = promoted('quote-r1', 'r1', -7200);
  const r2 = promoted('quote-r2', 'r2', -600);
  const annotated = {
    ...r2,
    metadata: { ...r2.metadata, annotations: { [REVERT_ANNOTATION]: REVERT_REASON } },
  };
  const settling: [number, ImprovementCycle][] = [
    [50, annotated], // the revert is asked for; the watch has not seen it yet
    [65, watching(annotated, 'Reverting')],
    [80, watching(r2, 'Reverting')],
    [95, watching(r2, 'Reverted', 80)], // r1 rolled out at 80s: the trigger gets 30s + 2 × 15s
    [139, watching(r2, 'Reverted', 80)],
  ];
  let current = a;
  for (const [second, r2Now] of settling) {
    const visit = planHealing(current, [r1, r2Now], [firing()], at(second));
    assert.deepEqual(visit.action, { kind: 'none' }, `at ${second}s: no second revert, no remediation yet`);
    assert.deepEqual(visit.events, [], `at ${second}s`);
    assert.deepEqual(visit.status.incident, plan.status.incident, `at ${second}s`);
    assert.equal(visit.requeueAfterMs, 15_000);
    current = after(visit, history);
  }

  const settled = planHealing(current, [r1, watching(r2, 'Reverted', 80)], [firing()], at(140));
  assert.deepEqual(settled.action, {
    kind: 'remediate',
    summary: SUMMARY,
    since: at(0),
    detectedAt: at(35),
    triggers: ['errors'],
  });
  assert.deepEqual(settled.events, []);
  assert.equal(settled.status.incident?.mitigatedAt, iso(35));
});

test('a promotion older than revertWithin, or already reverted, is not reverted', () => {
  const debouncing = planHealing(agent(undefined, history), [], [firing()], at(0));
  const old = planHealing(
    after(debouncing, history),
    [promoted('quote-r2', 'r2', -1770)],
    [firing()],
    at(30),
  );
  assert.equal(old.action.kind, 'revert', '30m exactly is still within revertWithin');
  const older = planHealing(
    after(debouncing, history),
    [promoted('quote-r2', 'r2', -1771)],
    [firing()],
    at(30),
  );
  assert.equal(older.action.kind, 'remediate');
  const byWatch = watching(promoted('quote-r2', 'r2', -600), 'Reverted', -300);
  const already = planHealing(after(debouncing, history), [byWatch], [firing()], at(30));
  assert.equal(already.action.kind, 'remediate', 'a revert that did not help is not repeated');
});

test('the latest promotion is the one reverted, whatever the order of the cycles', () => {
  const debouncing = planHealing(agent(undefined, history), [], [firing()], at(0));
  const cycles = [promoted('quote-r2', 'r2', -600), promoted('quote-r1', 'r1', -900)];
  const plan = planHealing(after(debouncing, history), cycles, [firing()], at(30));
  assert.deepEqual(plan.action, {
    kind: 'revert',
    cycle: 'quote-r2',
    reason: `Incident (${SUMMARY}) 630s after r2 was promoted: r1, the revision before it, goes back first.`,
  });
});

test('a revert held back by a cool-down still settles before a remediation starts', () => {
  // an earlier remediation ended at -540s: its cool-down lasts until 60s; r2 was promoted at -300s
  const earlier = remediation('quote-fix-0', 'RolledBack', -540);
  const r2 = promoted('quote-r2', 'r2', -300);
  const start = agent({ checkedAt: iso(-15), triggers: [], remediations: [iso(-1200)] }, history);
  const debouncing = planHealing(start, [earlier, r2], [firing()], at(0));
  const detected = planHealing(after(debouncing, history), [earlier, r2], [firing()], at(30));
  assert.deepEqual(detected.action.kind, 'revert', 'the revert comes before the cool-down');
  const reverting = watching(r2, 'Reverting');
  const held = planHealing(after(detected, history), [earlier, reverting], [firing()], at(45));
  assert.deepEqual(held.action, { kind: 'none' });
  assert.equal(held.status.incident?.revertedCycle, 'quote-r2');
  // the cool-down ended at 60s, but r1 is not back yet
  const plan = planHealing(after(held, history), [earlier, reverting], [firing()], at(60));
  assert.deepEqual(plan.action, { kind: 'none' });
});

test('healing: once no trigger fires, the incident becomes lastIncident with healedAt and the figures', () => {
  const { agent: a } = reverted();
  const plan = planHealing(a, [watching(promoted('quote-r2', 'r2', -600), 'Reverted', 80)], [ok], at(200));
  assert.deepEqual(plan.action, { kind: 'none' });
  assert.equal(plan.status.incident, undefined);
  assert.deepEqual(plan.status.lastIncident, {
    summary: SUMMARY,
    since: iso(0),
    detectedAt: iso(35),
    mitigatedAt: iso(35),
    healedAt: iso(200),
  });
  assert.deepEqual(
    plan.events.map((e) => [e.type, e.reason, e.message]),
    [
      [
        'Normal',
        'IncidentHealed',
        `No trigger fires any more: the incident (${SUMMARY}) healed 165s after it was detected.`,
      ],
    ],
  );
  assert.deepEqual(plan.healed, { healSeconds: 165, mitigateSeconds: 0 });
  assert.equal(plan.detected, undefined);
  assert.equal(plan.requeueAfterMs, 15_000);

  const quiet = planHealing(after(plan, history), [], [ok], at(215));
  assert.deepEqual(quiet.events, [], 'healed once');
  assert.equal(quiet.healed, undefined);
  assert.deepEqual(quiet.status.lastIncident, plan.status.lastIncident);
});

test('healing after a remediation: healSeconds from detection; mitigateSeconds from a later revert; remediations kept', () => {
  const a = remediating();
  const plan = planHealing(a, [remediation('quote-fix-1', 'Promoted', 500)], [ok], at(635));
  assert.deepEqual(plan.healed, { healSeconds: 600 }, 'no revert: no mitigateSeconds');
  assert.deepEqual(plan.status.lastIncident, {
    summary: SUMMARY,
    since: iso(0),
    detectedAt: iso(35),
    healedAt: iso(635),
  });
  assert.deepEqual(plan.status.remediations, [iso(35)], 'the cap still counts it');

  const mitigatedLater = agent({
    checkedAt: iso(95),
    triggers: [{ name: 'errors', firing: true, since: iso(0), value: 0.05, message: '0.05 > 0.01' }],
    incident: {
      summary: SUMMARY,
      since: iso(0),
      detectedAt: iso(35),
      action: 'Reverted',
      message: 'reverted',
      revertedCycle: 'quote-r2',
      mitigatedAt: iso(95),
    },
  });
  const healed = planHealing(mitigatedLater, [], [ok], at(110));
  assert.deepEqual(healed.healed, { healSeconds: 75, mitigateSeconds: 60 });
});

test('unknown readings keep the firing state and since, and never heal an incident', () => {
  const previous = [
    { name: 'errors', firing: true, since: iso(0), value: 0.05, message: '0.05 > 0.01' },
    { name: 'latency', firing: false, value: 0.2, message: '0.2 <= 0.5' },
  ];
  assert.deepEqual(
    trackTriggers(previous, [unknown, { ...unknown, name: 'latency' }, { ...unknown, name: 'new' }], at(60)),
    [
      {
        name: 'errors',
        firing: true,
        since: iso(0),
        value: 0.05,
        message: 'Prometheus: ECONNREFUSED (last known: 0.05 > 0.01)',
      },
      {
        name: 'latency',
        firing: false,
        value: 0.2,
        message: 'Prometheus: ECONNREFUSED (last known: 0.2 <= 0.5)',
      },
      { name: 'new', firing: false, message: 'Prometheus: ECONNREFUSED' },
    ],
  );

  // a debounce goes on through an unknown reading: since stays 0s
  const debouncing = planHealing(agent(), [], [firing()], at(0));
  const blind = planHealing(after(debouncing), [], [unknown], at(15));
  assert.equal(blind.status.triggers[0]?.since, iso(0));
  assert.equal(blind.status.incident, undefined);
  const detected = planHealing(after(blind), [], [firing()], at(30));
  assert.deepEqual(detected.detected, { detectSeconds: 30 });

  // an incident with a remediation running: Prometheus down for a while does not end it
  let a = remediating();
  const running = [remediation('quote-fix-1', 'Evaluating')];
  for (const second of [50, 65, 80, 95]) {
    const plan = planHealing(a, running, [unknown], at(second));
    assert.deepEqual(plan.events, [], `at ${second}s`);
    assert.equal(plan.healed, undefined);
    assert.equal(plan.status.lastIncident, undefined);
    assert.equal(plan.status.incident?.action, 'Remediating');
    assert.equal(plan.status.triggers[0]?.firing, true);
    assert.equal(plan.status.triggers[0]?.since, iso(0));
    a = after(plan);
  }
  // an unknown reading of a trigger that was ok detects nothing
  const calm = planHealing(agent(), [], [ok], at(0));
  const stillCalm = planHealing(after(calm), [], [unknown], at(100));
  assert.equal(stillCalm.status.incident, undefined);
  assert.deepEqual(stillCalm.events, []);
});

test('repeated unknown readings keep the last known figure in the message', () => {
  let triggers: TriggerState[] = [
    { name: 'errors', firing: true, since: iso(0), value: 0.05, message: '0.05 > 0.01' },
  ];
  for (let visit = 1; visit <= 40; visit += 1) triggers = trackTriggers(triggers, [unknown], at(visit * 15));
  assert.equal(triggers[0]?.message, 'Prometheus: ECONNREFUSED (last known: 0.05 > 0.01)');
});

test('healingDue: due when never checked or an interval ago; otherwise after the rest of it', () => {
  assert.deepEqual(healingDue(agent(), at(0)), { due: true, afterMs: 15_000 });
  const checked = agent({ checkedAt: iso(0), triggers: [] });
  assert.deepEqual(healingDue(checked, at(10)), { due: false, afterMs: 5_000 });
  assert.deepEqual(healingDue(checked, at(15)), { due: true, afterMs: 15_000 });
  assert.deepEqual(healingDue(checked, at(100)), { due: true, afterMs: 15_000 });
  const slower = agent({ checkedAt: iso(0), triggers: [] }, undefined, {
    healing: { ...HEALING, interval: '1m' },
  });
  assert.deepEqual(healingDue(slower, at(45)), { due: false, afterMs: 15_000 });
  assert.deepEqual(healingDue(agent(undefined, undefined, {}), at(0)), { due: false, afterMs: 0 });
  const withoutSpec = agent({ checkedAt: iso(0), triggers: [] }, undefined, {});
  assert.deepEqual(healingDue(withoutSpec, at(100)), { due: false, afterMs: 0 });
});

test('remediationStarted appends the start (the last 48 kept) and names the cycle', () => {
  const starts = Array.from({ length: 48 }, (_, i) => iso(i * 60));
  const status: HealingStatus = {
    checkedAt: iso(3000),
    triggers: [],
    remediations: starts,
    incident: {
      summary: SUMMARY,
      since: iso(0),
      detectedAt: iso(35),
      action: 'Waiting',
      message: 'starting',
    },
  };
  const next = remediationStarted(status, 'quote-fix-9', at(3000));
  assert.equal(next.remediations?.length, 48);
  assert.deepEqual(next.remediations, [...starts.slice(1), iso(3000)]);
  assert.deepEqual(next.incident, {
    summary: SUMMARY,
    since: iso(0),
    detectedAt: iso(35),
    action: 'Remediating',
    message: 'Remediation cycle quote-fix-9 started.',
    cycle: 'quote-fix-9',
  });
  assert.equal(status.remediations?.length, 48, 'the status given is not changed');
  assert.equal(status.incident?.action, 'Waiting');

  const bare = remediationStarted({ checkedAt: iso(0), triggers: [] }, 'quote-fix-1', at(10));
  assert.deepEqual(bare, { checkedAt: iso(0), triggers: [], remediations: [iso(10)] });
});

test('isRemediation: a cycle with an incident is a remediation', () => {
  assert.equal(isRemediation(remediation('quote-fix-1', 'Evaluating')), true);
  assert.equal(isRemediation(cycle('quote-1', 'Evaluating')), false);
});

test('one cycle at a time: a scheduled cycle still running holds the remediation back, told once', () => {
  const first = planHealing(agent(), [], [firing()], at(0));
  const scheduled = [cycle('quote-scheduled', 'Evaluating')];
  const held = planHealing(after(first), scheduled, [firing()], at(30));
  assert.deepEqual(held.action, { kind: 'none' });
  assert.equal(held.status.incident?.action, 'Held');
  assert.equal(held.status.incident?.heldBy, 'OneAtATime');
  assert.match(
    held.status.incident?.message ?? '',
    /cycle quote-scheduled is still running: one cycle at a time/,
  );
  assert.deepEqual(
    held.events.map((e) => e.reason),
    ['IncidentDetected', 'RemediationHeld'],
  );
  const again = planHealing(after(held), scheduled, [firing(0.07)], at(45));
  assert.deepEqual(again.events, [], 'the same limit is not told again, whatever the figures');
  const freed = planHealing(after(again), [cycle('quote-scheduled', 'Failed', 50)], [firing()], at(60));
  assert.equal(freed.action.kind, 'remediate');
});

test('unknown readings alone never detect an incident: detection needs a reading that fires now', () => {
  const seen = planHealing(agent(), [], [firing()], at(0));
  const blind = planHealing(after(seen), [], [unknown], at(40));
  assert.equal(blind.status.incident, undefined, 'held for 40s only by memory');
  assert.deepEqual(blind.action, { kind: 'none' });
  const confirmed = planHealing(after(blind), [], [firing()], at(45));
  assert.equal(confirmed.action.kind, 'remediate');
});

test('a remediation just started but not listed yet (a cache behind) is not started twice', () => {
  const detected = planHealing(agent(), [], [firing()], at(0));
  const started = planHealing(after(detected), [], [firing()], at(30));
  assert.equal(started.action.kind, 'remediate');
  const recorded = remediationStarted(started.status, 'quote-fix-1', at(30));
  const behind = planHealing(after(recorded), [], [firing()], at(45));
  assert.deepEqual(behind.action, { kind: 'none' }, 'the cycle made 15s ago counts as running');
  assert.equal(behind.status.incident?.action, 'Remediating');
});

test('a remedy promoted mitigates the incident: time to mitigate runs to its promotion', () => {
  const detected = planHealing(agent(), [], [firing()], at(0));
  const started = planHealing(after(detected), [], [firing()], at(30));
  const recorded = remediationStarted(started.status, 'quote-fix-1', at(30));
  const fix = remediation('quote-fix-1', 'Promoted', 200);
  fix.status = {
    ...fix.status,
    promotion: { revision: 'quote-fix-1-c1', cycle: 'quote-fix-1', promotedAt: iso(190) },
  };
  const stillFiring = planHealing(after(recorded), [fix], [firing()], at(200));
  assert.equal(stillFiring.status.incident?.mitigatedAt, iso(190));
  assert.deepEqual(
    stillFiring.action,
    { kind: 'none' },
    'a promotion after the trouble began is never the suspect',
  );
  const healed = planHealing(after(stillFiring), [fix], [ok], at(230));
  assert.deepEqual(healed.healed, { healSeconds: 200, mitigateSeconds: 160 });
});

test('an incident that heals while its remedy is still promoting is mitigated since the decision to promote', () => {
  const detected = planHealing(agent(), [], [firing()], at(0));
  const started = planHealing(after(detected), [], [firing()], at(30));
  const recorded = remediationStarted(started.status, 'quote-fix-1', at(30));
  // the stable Deployment runs the remedy; the canary is still being taken away
  const fix = remediation('quote-fix-1', 'Canary');
  fix.status = {
    ...fix.status,
    canary: {
      phase: 'Promoting',
      stepIndex: 1,
      weight: 50,
      measurements: [],
      message: 'promoting',
      decision: { action: 'Promote', reason: 'AnalysisPassed', message: 'every step passed', time: iso(180) },
    } as never,
  };
  const healed = planHealing(after(recorded), [fix], [ok], at(200));
  assert.deepEqual(healed.healed, { healSeconds: 170, mitigateSeconds: 150 });
  // a remedy still under analysis has not reached production
  const judging = remediation('quote-fix-1', 'Canary');
  judging.status = { ...judging.status, canary: { phase: 'Progressing', stepIndex: 0, weight: 25 } as never };
  const early = planHealing(after(recorded), [judging], [ok], at(200));
  assert.deepEqual(early.healed, { healSeconds: 170 });
});
