import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { V1Deployment } from '@kubernetes/client-node';
import { DEFAULT_REPLICA_LIMITS, planReplicas, readTraffic, sharePercent } from './replica-ratio-router.js';
import { REVISION_ANNOTATION, WEIGHT_ANNOTATION } from './canary-deployment.js';

test('a weight becomes the canary replica count whose share is nearest, at least one pod', () => {
  const cases: [stable: number, weight: number, canary: number, percent: number][] = [
    [9, 10, 1, 10],
    [3, 25, 1, 25],
    [3, 50, 3, 50],
    [4, 10, 1, 20], // twice the weight: the most the router accepts
    [10, 25, 3, 23.1], // 3 (23.1%) is nearer 25 than 4 (28.6%)
    [2, 25, 1, 33.3],
    [1, 50, 1, 50],
    [4, 30, 2, 33.3], // ideal 1.71: 2 pods (33.3%) beats 1 (20%)
    [5, 0, 0, 0],
  ];
  for (const [stable, weight, canaryReplicas, percent] of cases) {
    assert.deepEqual(
      planReplicas(stable, weight),
      { canaryReplicas, percent },
      `${weight}% beside ${stable}`,
    );
  }
});

test('a tie goes to fewer canary pods', () => {
  // beside 2 stable pods 2 canary pods are 50% and 3 are 60%: 55% is as near either
  assert.deepEqual(planReplicas(2, 55), { canaryReplicas: 2, percent: 50 });
});

test('the granularity limit is refused with the stable replicas the step needs', () => {
  const one = planReplicas(1, 10);
  assert.ok('unreachable' in one);
  assert.match(
    one.unreachable,
    /with 1 stable replica one canary pod takes 50% of traffic, more than 2x the 10% asked; this step needs at least 4 stable replicas/,
  );
  const three = planReplicas(3, 10);
  assert.ok('unreachable' in three && /takes 25%/.test(three.unreachable));
  const hundred = planReplicas(5, 100);
  assert.ok('unreachable' in hundred && /100%/.test(hundred.unreachable));
  const none = planReplicas(0, 10);
  assert.ok('unreachable' in none && /no replicas/.test(none.unreachable));
  const many = planReplicas(3, 90);
  assert.ok(
    'unreachable' in many && /needs 27 canary pods, more than the limit of 20/.test(many.unreachable),
  );
  assert.deepEqual(planReplicas(3, 90, { ...DEFAULT_REPLICA_LIMITS, maxCanaryReplicas: 30 }), {
    canaryReplicas: 27,
    percent: 90,
  });
});

test('every plan is the nearest share, refused exactly when that share or its pod count is out of bounds', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 99 }), (stable, weight) => {
      // the oracle: try every count, keep the nearest share (fewer pods on a tie)
      let best = 1;
      for (let c = 2; c <= 2000; c++) {
        if (Math.abs(sharePercent(stable, c) - weight) < Math.abs(sharePercent(stable, best) - weight))
          best = c;
      }
      const refused =
        sharePercent(stable, best) > 2 * weight || best > DEFAULT_REPLICA_LIMITS.maxCanaryReplicas;
      const plan = planReplicas(stable, weight);
      assert.equal('unreachable' in plan, refused, `${weight}% beside ${stable}: nearest is ${best} pods`);
      if (!('unreachable' in plan)) assert.equal(plan.canaryReplicas, best);
    }),
  );
});

function deployment(
  spec: { replicas: number; generation?: number; annotations?: Record<string, string> },
  status: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
  },
): V1Deployment {
  return {
    metadata: {
      generation: spec.generation ?? 1,
      ...(spec.annotations ? { annotations: spec.annotations } : {}),
    },
    spec: { replicas: spec.replicas, selector: {}, template: {} },
    status: { observedGeneration: 1, ...status },
  };
}

const STABLE = deployment({ replicas: 3 }, { readyReplicas: 3, replicas: 3 });
const asked = (weight: number, revision = 'web-1-c1') => ({
  [WEIGHT_ANNOTATION]: String(weight),
  [REVISION_ANNOTATION]: revision,
});

test('the weight is in place only when every canary pod of the revision is ready at the planned count', () => {
  const ready = deployment(
    { replicas: 1, annotations: asked(25) },
    { replicas: 1, updatedReplicas: 1, readyReplicas: 1 },
  );
  assert.deepEqual(readTraffic(STABLE, ready, 'web-1-c1'), {
    canaryPresent: true,
    actualPercent: 25,
    weight: 25,
    detail: '1 canary pod beside 3 ready stable: 25% of ready pods for 25% asked',
  });
  const starting = deployment({ replicas: 1, annotations: asked(25) }, { replicas: 1, updatedReplicas: 1 });
  assert.equal(readTraffic(STABLE, starting, 'web-1-c1').weight, undefined);
  assert.equal(readTraffic(STABLE, starting, 'web-1-c1').actualPercent, 0);
  const unobserved = deployment(
    { replicas: 1, generation: 2, annotations: asked(25) },
    { replicas: 1, updatedReplicas: 1, readyReplicas: 1 },
  );
  assert.equal(readTraffic(STABLE, unobserved, 'web-1-c1').weight, undefined);
  const otherRevision = readTraffic(STABLE, ready, 'web-2-c1');
  assert.equal(otherRevision.weight, undefined);
  assert.match(otherRevision.detail, /another revision/);
  // the stable Deployment was scaled: 25% now needs 2 canary pods
  const scaled = deployment({ replicas: 6 }, { readyReplicas: 6, replicas: 6 });
  assert.match(readTraffic(scaled, ready, 'web-1-c1').detail, /now needs 2 canary pods/);
  // an old pod still running beside the new one
  const surplus = deployment(
    { replicas: 1, annotations: asked(25) },
    { replicas: 2, updatedReplicas: 1, readyReplicas: 2 },
  );
  assert.equal(readTraffic(STABLE, surplus, 'web-1-c1').weight, undefined);
});

test('weight 0 is in place once no canary pod is left, or no canary exists', () => {
  assert.deepEqual(readTraffic(STABLE, undefined, 'web-1-c1'), {
    weight: 0,
    canaryPresent: false,
    actualPercent: 0,
    detail: 'no canary Deployment',
  });
  const stopping = deployment({ replicas: 0, annotations: asked(0) }, { replicas: 1 });
  assert.equal(readTraffic(STABLE, stopping, 'web-1-c1').weight, undefined);
  const stopped = deployment({ replicas: 0, annotations: asked(0, 'other') }, { replicas: 0 });
  assert.equal(readTraffic(STABLE, stopped, 'web-1-c1').weight, 0);
});
