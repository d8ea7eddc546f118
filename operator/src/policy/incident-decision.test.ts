import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decideIncident,
  type HealingHistory,
  type HealingLimits,
  type RecentPromotion,
  type TriggerObservation,
} from './incident-decision.js';

const T0 = Date.parse('2026-12-06T12:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const LIMITS: HealingLimits = { revertWithinMs: 15 * 60_000, cooldownMs: 10 * 60_000, maxPerDay: 3 };
const QUIET: HealingHistory = { remediationStarts: [] };

function errors(firingSinceSeconds: number | undefined): TriggerObservation {
  return {
    name: 'error-ratio',
    firing: firingSinceSeconds !== undefined,
    ...(firingSinceSeconds !== undefined ? { firingSince: at(firingSinceSeconds) } : {}),
    forMs: 60_000,
    message: 'error ratio 0.08 > 0.005',
  };
}

const promoted = (secondsAgo: number, reverted = false): RecentPromotion => ({
  revision: 'quote-7-c1',
  previous: 'quote-5-c2',
  promotedAt: at(-secondsAgo),
  reverted,
});

test('nothing fires: nothing to do', () => {
  assert.equal(decideIncident([errors(undefined)], undefined, QUIET, LIMITS, at(0)).action, 'none');
});

test('a trigger that has not held for its duration is waited for, as long as it still has to hold', () => {
  assert.deepEqual(decideIncident([errors(-20)], undefined, QUIET, LIMITS, at(0)), {
    action: 'wait',
    reason: 'error-ratio fires but has not held for its duration yet.',
    afterMs: 40_000,
  });
});

test('an incident soon after a promotion reverts it first, once; a revert that did not help leads to remediation', () => {
  const first = decideIncident([errors(-61)], promoted(300), QUIET, LIMITS, at(0));
  assert.equal(first.action, 'revert');
  assert.deepEqual(
    [first.action === 'revert' && first.to, first.action === 'revert' && first.from],
    ['quote-5-c2', 'quote-7-c1'],
  );
  assert.match(first.reason, /error-ratio: error ratio 0\.08 > 0\.005\) 300s after quote-7-c1 was promoted/);
  const after = decideIncident([errors(-61)], promoted(330, true), QUIET, LIMITS, at(0));
  assert.equal(after.action, 'remediate');
});

test('an incident long after the last promotion starts a remediation cycle, saying what the incident is', () => {
  const decision = decideIncident([errors(-90)], promoted(3600), QUIET, LIMITS, at(0));
  assert.deepEqual(decision, {
    action: 'remediate',
    incident: 'error-ratio: error ratio 0.08 > 0.005',
    reason: 'Incident (error-ratio: error ratio 0.08 > 0.005): a remediation cycle starts.',
  });
});

test('limits hold a remediation back: one at a time, the cool-down, the daily cap; each says when it lifts', () => {
  const running = decideIncident(
    [errors(-90)],
    undefined,
    { remediationStarts: [at(-300)], activeRemediation: 'quote-9' },
    LIMITS,
    at(0),
  );
  assert.equal(running.action, 'held');
  assert.match(running.reason, /cycle quote-9 is still running: one cycle at a time/);
  // even a fresh promotion is not reverted under a running remediation: it is that cycle's to judge
  assert.equal(
    decideIncident(
      [errors(-90)],
      promoted(60),
      { remediationStarts: [], activeRemediation: 'q' },
      LIMITS,
      at(0),
    ).action,
    'held',
  );

  const cooling = decideIncident(
    [errors(-90)],
    undefined,
    { remediationStarts: [at(-900)], lastRemediationEnd: at(-240) },
    LIMITS,
    at(0),
  );
  assert.deepEqual([cooling.action, cooling.action === 'held' && cooling.afterMs], ['held', 360_000]);

  const capped = decideIncident(
    [errors(-90)],
    undefined,
    { remediationStarts: [at(-80_000), at(-50_000), at(-20_000)], lastRemediationEnd: at(-7200) },
    LIMITS,
    at(0),
  );
  assert.equal(capped.action, 'held');
  assert.match(capped.reason, /3 remediation cycles started in the last 24 h, the daily cap/);
  assert.equal(capped.action === 'held' && capped.afterMs, (86_400 - 80_000) * 1000);
});

test('property: followed decision by decision, remediations respect one at a time, the cool-down and the daily cap', () => {
  fc.assert(
    fc.property(
      // minutes at which a trigger starts firing, how long each remediation runs, the limits
      fc.array(fc.integer({ min: 0, max: 3 * 24 * 60 }), { minLength: 1, maxLength: 60 }),
      fc.integer({ min: 1, max: 120 }),
      fc.integer({ min: 0, max: 240 }),
      fc.integer({ min: 1, max: 6 }),
      (onsets, runMinutes, cooldownMinutes, maxPerDay) => {
        const limits: HealingLimits = { revertWithinMs: 0, cooldownMs: cooldownMinutes * 60_000, maxPerDay };
        const starts: number[] = [];
        const ends: number[] = [];
        const firingFrom = [...onsets].sort((a, b) => a - b);
        // visit every minute for three days; a trigger fires from its onset for two hours
        for (let minute = 0; minute <= 3 * 24 * 60; minute++) {
          const now = T0 + minute * 60_000;
          const onset = firingFrom.filter((m) => m <= minute && minute < m + 120).at(0);
          const active = starts.length > ends.length ? starts.at(-1) : undefined;
          if (active !== undefined && now - active >= runMinutes * 60_000) ends.push(now);
          const history: HealingHistory = {
            remediationStarts: starts.map((start) => new Date(start)),
            ...(starts.length > ends.length ? { activeRemediation: `r${starts.length}` } : {}),
            ...(ends.length > 0 ? { lastRemediationEnd: new Date(ends.at(-1)!) } : {}),
          };
          const trigger: TriggerObservation = {
            name: 't',
            firing: onset !== undefined,
            ...(onset !== undefined ? { firingSince: new Date(T0 + onset * 60_000) } : {}),
            forMs: 60_000,
            message: 'firing',
          };
          const decision = decideIncident([trigger], undefined, history, limits, new Date(now));
          if (decision.action === 'remediate') starts.push(now);
        }
        for (const [i, start] of starts.entries()) {
          if (i > 0) {
            assert.ok(
              ends[i - 1] !== undefined && start >= ends[i - 1]! + limits.cooldownMs,
              'one at a time, cooled',
            );
          }
          const within = starts.filter((other) => other > start - 86_400_000 && other <= start);
          assert.ok(within.length <= maxPerDay, `${within.length} starts within 24 h, cap ${maxPerDay}`);
        }
      },
    ),
    { numRuns: 60 },
  );
});
