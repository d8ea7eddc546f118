import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Deployment } from '@kubernetes/client-node';
import { ROLE_LABEL } from '../api/resources.js';
import { defaultedMinimalSpec } from '../../../test/support/agents.js';
import {
  CANARY_OF_LABEL,
  REVISION_ANNOTATION,
  WEIGHT_ANNOTATION,
  apartCanaryLabels,
  canaryDeployment,
  canaryName,
  isOperatorCanary,
  parameterEnv,
  selectsTemplate,
  withEnv,
} from './canary-deployment.js';
import type { CanaryTarget } from './traffic-router.js';

/** A stable Deployment as the API server returns it: server fields, a sidecar, a valueFrom variable. */
function stableDeployment(): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'shop',
      uid: 'stable-uid',
      resourceVersion: '42',
      generation: 3,
      labels: { app: 'web', team: 'quotes' },
      annotations: { 'deployment.kubernetes.io/revision': '3' },
    },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      minReadySeconds: 2,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: {
          labels: { app: 'web' },
          annotations: { 'prometheus.io/scrape': 'true' },
        },
        spec: {
          containers: [
            {
              name: 'web',
              image: 'registry/web:1',
              env: [
                { name: 'CACHE_SIZE', valueFrom: { configMapKeyRef: { name: 'web', key: 'cache' } } },
                { name: 'VERSION', value: 'v1' },
              ],
            },
            { name: 'proxy', image: 'registry/proxy:1', env: [{ name: 'CACHE_SIZE', value: 'untouched' }] },
          ],
        },
      },
    },
    status: { replicas: 3, readyReplicas: 3 },
  };
}

const TARGET: CanaryTarget = {
  namespace: 'shop',
  deployment: 'web',
  container: 'web',
  service: 'web',
  revision: { name: 'web-2941-c2', image: 'registry/web:2', env: { CACHE_SIZE: '256', MODE: 'fast' } },
  owner: {
    apiVersion: 'hyperagents.io/v1alpha1',
    kind: 'ImprovementCycle',
    name: 'web-2941',
    uid: 'cycle-uid',
  },
};

test('the canary is the stable pod template with the revision, labelled canary and owned by the cycle', () => {
  const canary = canaryDeployment(stableDeployment(), TARGET, 1, 25);
  assert.equal(canary.metadata?.name, 'web-canary');
  assert.equal(canaryName('web'), 'web-canary');
  assert.equal(canary.metadata?.namespace, 'shop');
  assert.equal(canary.metadata?.resourceVersion, undefined, 'no server field is copied');
  assert.equal(canary.metadata?.uid, undefined);
  assert.deepEqual(canary.metadata?.labels, {
    app: 'web',
    team: 'quotes',
    [ROLE_LABEL]: 'canary',
    'app.kubernetes.io/managed-by': 'hyperagent-operator',
  });
  assert.deepEqual(canary.metadata?.annotations, {
    [REVISION_ANNOTATION]: 'web-2941-c2',
    [WEIGHT_ANNOTATION]: '25',
  });
  assert.deepEqual(canary.metadata?.ownerReferences, [
    { ...TARGET.owner, controller: true, blockOwnerDeletion: true },
  ]);
  assert.ok(isOperatorCanary(canary));
  assert.ok(!isOperatorCanary(stableDeployment()));

  const spec = canary.spec!;
  assert.equal(spec.replicas, 1);
  assert.deepEqual(spec.selector, { matchLabels: { app: 'web', [ROLE_LABEL]: 'canary' } });
  assert.equal(spec.minReadySeconds, 2);
  assert.deepEqual(spec.strategy, stableDeployment().spec?.strategy);
  assert.deepEqual(spec.template.metadata?.labels, { app: 'web', [ROLE_LABEL]: 'canary' });
  assert.deepEqual(spec.template.metadata?.annotations, {
    'prometheus.io/scrape': 'true',
    [REVISION_ANNOTATION]: 'web-2941-c2',
  });
  const [web, proxy] = spec.template.spec!.containers;
  assert.equal(web?.image, 'registry/web:2');
  assert.deepEqual(web?.env, [
    { name: 'CACHE_SIZE', value: '256' },
    { name: 'VERSION', value: 'v1' },
    { name: 'MODE', value: 'fast' },
  ]);
  assert.deepEqual(
    proxy,
    stableDeployment().spec!.template.spec!.containers[1],
    'other containers are untouched',
  );
});

test('the Service that selects the stable pods selects the canary pods too', () => {
  const canary = canaryDeployment(stableDeployment(), TARGET, 1, 25);
  assert.ok(selectsTemplate({ app: 'web' }, canary));
  assert.ok(!selectsTemplate({ app: 'web', [ROLE_LABEL]: 'stable' }, canary));
  assert.ok(!selectsTemplate({}, canary), 'an empty selector routes nothing');
});

test('the first container is the target when none is named; a missing one is an error', () => {
  const { container: _container, ...unnamed } = TARGET;
  const canary = canaryDeployment(stableDeployment(), unnamed, 2, 50);
  assert.equal(canary.spec?.template.spec?.containers[0]?.image, 'registry/web:2');
  assert.throws(
    () => canaryDeployment(stableDeployment(), { ...TARGET, container: 'nope' }, 1, 25),
    /has no container named nope/,
  );
});

test('withEnv sets values by name, keeps the order of the others and appends new ones sorted', () => {
  assert.deepEqual(withEnv({ name: 'c' }, {}), { name: 'c' });
  assert.deepEqual(withEnv({ name: 'c', env: [{ name: 'A', value: '1' }] }, { C: '3', B: '2', A: '0' }).env, [
    { name: 'A', value: '0' },
    { name: 'B', value: '2' },
    { name: 'C', value: '3' },
  ]);
});

test('parameter values become environment variables; configKey and undeclared ones are problems', () => {
  const spec = defaultedMinimalSpec({
    improvement: {
      interval: '1h',
      parameters: [
        { name: 'cache-size', env: 'CACHE_SIZE', type: 'integer', min: 1, max: 1024 },
        { name: 'mode', env: 'MODE', type: 'choice', choices: ['fast', 'safe'] },
        { name: 'pool', configKey: 'db.pool', type: 'integer', min: 1, max: 64 },
      ],
    },
  });
  const declared = spec.improvement.parameters;
  assert.deepEqual(parameterEnv(declared, { 'cache-size': 256, mode: 'fast' }), {
    env: { CACHE_SIZE: '256', MODE: 'fast' },
    parameters: { 'cache-size': '256', mode: 'fast' },
    problems: [],
  });
  assert.deepEqual(parameterEnv(declared, { pool: 8, ghost: true }).problems, [
    'parameter ghost is not declared in spec.improvement.parameters',
    'parameter pool is carried by the configuration key db.pool; the canary can set environment variables only',
  ]);
});

test('a canary kept apart from the stable Service: its pods lack what that Service selects, and its own Service selects them alone', () => {
  const stable = stableDeployment();
  stable.spec!.template.metadata!.labels = { app: 'web', tier: 'front' };
  const serviceSelector = { app: 'web' };
  const canary = canaryDeployment(stable, TARGET, 1, 5, { apartFrom: serviceSelector });
  const podLabels = canary.spec!.template.metadata!.labels!;
  assert.deepEqual(podLabels, { tier: 'front', [ROLE_LABEL]: 'canary', [CANARY_OF_LABEL]: 'web' });
  const pod: V1Deployment = { spec: { selector: {}, template: { metadata: { labels: podLabels } } } };
  assert.equal(selectsTemplate(serviceSelector, pod), false, 'the stable Service never selects a canary pod');
  assert.deepEqual(canary.spec!.selector, { matchLabels: apartCanaryLabels('web') });
  assert.equal(selectsTemplate(apartCanaryLabels('web'), pod), true, 'the canary Service selects it');
  // the stable Deployment's selector does not claim the canary pods either
  assert.equal(selectsTemplate(stable.spec!.selector!.matchLabels!, pod), false);
});

test('a canary beside the stable pods keeps their labels, so their Service selects it', () => {
  const canary = canaryDeployment(stableDeployment(), TARGET, 1, 5);
  assert.equal(selectsTemplate({ app: 'web' }, canary), true);
});
