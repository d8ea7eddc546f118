// The one reader of the agent's target: which container is the service, and how an unusable
// target fails (a missing Deployment or container fails the phase; other API errors are retried).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Deployment } from '@kubernetes/client-node';
import type { KubeClients } from './clients.js';
import { readTarget, targetContainer, targetOf } from './target.js';

function deployment(
  containers: { name: string; image?: string }[],
  pullSecrets: string[] = [],
): V1Deployment {
  return {
    metadata: { name: 'quote-service' },
    spec: {
      selector: {},
      template: { spec: { containers, imagePullSecrets: pullSecrets.map((name) => ({ name })) } },
    },
  };
}

function appsAnswering(answer: V1Deployment | Error): KubeClients['apps'] {
  return {
    readNamespacedDeployment: async () => {
      if (answer instanceof Error) throw answer;
      return answer;
    },
  } as unknown as KubeClients['apps'];
}

test('the target container is the named one, or the first', () => {
  const d = deployment([
    { name: 'sidecar', image: 'envoy:1' },
    { name: 'quote', image: 'quote:1' },
  ]);
  assert.equal(targetContainer(d)?.name, 'sidecar');
  assert.equal(targetContainer(d, 'quote')?.image, 'quote:1');
  assert.equal(targetContainer(d, 'missing'), undefined);
});

test('the target carries its image and pull Secrets in order; a missing container is TargetUnavailable', () => {
  const d = deployment([{ name: 'quote', image: 'localhost:5001/quote:1' }], ['regcred', 'other']);
  const found = targetOf(d, 'shop', { deployment: 'quote-service' });
  assert.ok(!('failed' in found));
  assert.equal(found.image, 'localhost:5001/quote:1');
  assert.equal(found.container.name, 'quote');
  assert.deepEqual(found.pullSecrets, ['regcred', 'other']);
  const missing = targetOf(d, 'shop', { deployment: 'quote-service', container: 'web' });
  assert.ok('failed' in missing);
  assert.deepEqual(missing.failed, {
    state: 'failed',
    reason: 'TargetUnavailable',
    message: 'The target Deployment shop/quote-service has no container named web with an image.',
  });
});

test('a Deployment that does not exist is TargetUnavailable; other API errors are thrown, to be retried', async () => {
  const gone = await readTarget(appsAnswering(Object.assign(new Error('not found'), { code: 404 })), 'shop', {
    deployment: 'quote-service',
  });
  assert.ok('failed' in gone);
  assert.equal(gone.failed.reason, 'TargetUnavailable');
  assert.equal(gone.failed.message, 'The target Deployment shop/quote-service does not exist.');
  await assert.rejects(
    readTarget(appsAnswering(Object.assign(new Error('overloaded'), { code: 503 })), 'shop', {
      deployment: 'quote-service',
    }),
    /overloaded/,
  );
});
