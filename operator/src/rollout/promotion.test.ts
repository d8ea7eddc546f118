import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Deployment, V1EnvVar } from '@kubernetes/client-node';
import { ROLE_LABEL } from '../api/resources.js';
import type { HistoryEntry } from '../api/schema.js';
import { REVISION_ANNOTATION } from './canary-deployment.js';
import {
  historyEntry,
  recordPromotion,
  revisionName,
  rolledOut,
  runsRevision,
  stablePatch,
} from './promotion.js';
import type { Revision } from './traffic-router.js';

const REVISION: Revision = { name: 'web-2941-c2', image: 'registry/web:2', env: { CACHE_SIZE: '256' } };

function stable(container: { image: string; env?: V1EnvVar[] }): V1Deployment {
  return {
    metadata: { name: 'web', generation: 4 },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            { name: 'web', ...container },
            { name: 'proxy', image: 'registry/proxy:1' },
          ],
        },
      },
    },
  };
}

test('a revision is named after its cycle and candidate', () => {
  assert.equal(revisionName('web-29412345', 'c2'), 'web-29412345-c2');
  assert.equal(revisionName('web-29412345', undefined), 'web-29412345');
});

test('the stable patch sets the image and the variables by value, and labels the pods stable', () => {
  const before = stable({
    image: 'registry/web:1',
    env: [{ name: 'CACHE_SIZE', valueFrom: { configMapKeyRef: { name: 'web', key: 'cache' } } }],
  });
  assert.ok(!runsRevision(before, 'web', REVISION));
  assert.deepEqual(stablePatch(before, 'web', REVISION), {
    metadata: { annotations: { [REVISION_ANNOTATION]: 'web-2941-c2' } },
    spec: {
      template: {
        metadata: { labels: { [ROLE_LABEL]: 'stable' } },
        spec: {
          containers: [
            {
              name: 'web',
              image: 'registry/web:2',
              env: [{ name: 'CACHE_SIZE', value: '256', valueFrom: null }],
            },
          ],
        },
      },
    },
  });
});

test('a stable that runs the revision already is only annotated: no pod restarts for a label', () => {
  const already = stable({ image: 'registry/web:2', env: [{ name: 'CACHE_SIZE', value: '256' }] });
  assert.ok(runsRevision(already, 'web', REVISION));
  assert.ok(runsRevision(already, undefined, REVISION), 'the first container is the target by default');
  assert.deepEqual(stablePatch(already, 'web', REVISION), {
    metadata: { annotations: { [REVISION_ANNOTATION]: 'web-2941-c2' } },
  });
  assert.ok(!runsRevision(already, 'proxy', REVISION));
  assert.throws(() => stablePatch(already, 'nope', REVISION), /no container nope/);
});

test('rolled out means observed, every replica updated and available, no old pod left', () => {
  const at = (status: V1Deployment['status']) => ({ ...stable({ image: 'x' }), status });
  assert.deepEqual(rolledOut(at({ observedGeneration: 3 })), {
    done: false,
    detail: 'the Deployment controller has not observed the change yet',
  });
  assert.equal(
    rolledOut(at({ observedGeneration: 4, updatedReplicas: 2, replicas: 4 })).detail,
    '2 of 3 replicas updated',
  );
  assert.equal(
    rolledOut(at({ observedGeneration: 4, updatedReplicas: 3, replicas: 4, availableReplicas: 3 })).detail,
    '1 old replicas still running',
  );
  assert.equal(
    rolledOut(at({ observedGeneration: 4, updatedReplicas: 3, replicas: 3, availableReplicas: 2 })).detail,
    '2 of 3 updated replicas available',
  );
  assert.deepEqual(
    rolledOut(at({ observedGeneration: 4, updatedReplicas: 3, replicas: 3, availableReplicas: 3 })),
    {
      done: true,
      detail: '3 replicas updated and available',
    },
  );
});

const entry = (revision: string): HistoryEntry => ({
  revision,
  cycle: revision,
  promotedAt: '2026-01-01T00:00:00.000Z',
});

test('a history entry carries the revision, what it runs and the metrics that passed', () => {
  assert.deepEqual(
    historyEntry({
      revision: REVISION,
      cycle: 'web-2941',
      commit: 'abc1234',
      parameters: { 'cache-size': '256' },
      metrics: { 'error-rate': 0 },
      promotedAt: new Date('2026-01-01T00:00:00Z'),
    }),
    {
      revision: 'web-2941-c2',
      image: 'registry/web:2',
      commit: 'abc1234',
      cycle: 'web-2941',
      promotedAt: '2026-01-01T00:00:00.000Z',
      metrics: { 'error-rate': 0 },
      parameters: { 'cache-size': '256' },
    },
  );
  const bare = historyEntry({
    revision: REVISION,
    cycle: 'c',
    parameters: {},
    metrics: {},
    promotedAt: new Date(0),
  });
  assert.ok(!('metrics' in bare) && !('parameters' in bare) && !('commit' in bare));
});

test('a promotion goes first in history once, which keeps keepHistory entries, and becomes stable', () => {
  const status = { phase: 'Canary', history: [entry('r2'), entry('r1')] };
  const promoted = recordPromotion(status, entry('r3'), 2);
  assert.deepEqual(promoted, { phase: 'Canary', stableRevision: 'r3', history: [entry('r3'), entry('r2')] });
  assert.deepEqual(recordPromotion(promoted, entry('r3'), 2), promoted, 'a replay adds nothing');
  assert.deepEqual(recordPromotion(undefined, entry('r1'), 10), {
    stableRevision: 'r1',
    history: [entry('r1')],
  });
});
