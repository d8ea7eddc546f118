// The Gateway API router's pure parts: how many canary pods a weight needs, when the canary may
// receive traffic, and the canary Service beside the stable one. Its I/O runs on the real cluster
// against Traefik (test/e2e/gateway-canary.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Deployment } from '@kubernetes/client-node';
import { MANAGED_BY_LABEL, ROLE_LABEL } from '../api/resources.js';
import { CANARY_OF_LABEL, REVISION_ANNOTATION } from './canary-deployment.js';
import {
  GatewayApiRouter,
  canaryReadyFor,
  canaryReplicasFor,
  canaryServiceOf,
} from './gateway-api-router.js';
import { WeightUnreachableError, type CanaryTarget } from './traffic-router.js';

const TARGET: CanaryTarget = {
  namespace: 'shop',
  deployment: 'web',
  service: 'web',
  revision: { name: 'web-c1', image: 'registry/web:2', env: {} },
  owner: { apiVersion: 'hyperagents.io/v1alpha1', kind: 'ImprovementCycle', name: 'web-1', uid: 'cycle-uid' },
};

test('the canary runs the weight’s share of the stable replicas, at least one pod', () => {
  assert.equal(canaryReplicasFor(3, 5), 1);
  assert.equal(canaryReplicasFor(3, 50), 2);
  assert.equal(canaryReplicasFor(10, 20), 2);
  assert.equal(canaryReplicasFor(0, 50), 1);
  assert.equal(canaryReplicasFor(4, 100), 4);
});

test('the canary may take traffic only with every pod of its revision ready and its spec observed', () => {
  const canary = (status: V1Deployment['status'], revision = 'web-c1', generation = 2): V1Deployment => ({
    metadata: { generation, annotations: { [REVISION_ANNOTATION]: revision } },
    spec: { replicas: 2, selector: {}, template: {} },
    status,
  });
  const ready = { observedGeneration: 2, replicas: 2, updatedReplicas: 2, readyReplicas: 2 };
  assert.equal(canaryReadyFor(canary(ready), 'web-c1'), true);
  assert.equal(canaryReadyFor(canary({ ...ready, readyReplicas: 1 }), 'web-c1'), false);
  assert.equal(canaryReadyFor(canary({ ...ready, observedGeneration: 1 }), 'web-c1'), false);
  // an old pod still terminating beside the new ones
  assert.equal(canaryReadyFor(canary({ ...ready, replicas: 3 }), 'web-c1'), false);
  assert.equal(canaryReadyFor(canary(ready, 'web-c0'), 'web-c1'), false);
  assert.equal(canaryReadyFor(undefined, 'web-c1'), false);
});

test('the canary Service has the stable ports, selects the canary pods alone, and belongs to the cycle', () => {
  const service = canaryServiceOf(
    {
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: {
        selector: { app: 'web' },
        clusterIP: '10.96.0.20',
        ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP', nodePort: 30080 }],
      },
    },
    TARGET,
    'web-canary',
  );
  assert.deepEqual(service.spec, {
    type: 'ClusterIP',
    selector: { [ROLE_LABEL]: 'canary', [CANARY_OF_LABEL]: 'web' },
    ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
  });
  assert.equal(service.metadata?.labels?.[MANAGED_BY_LABEL], 'hyperagent-operator');
  assert.deepEqual(service.metadata?.ownerReferences, [
    { ...TARGET.owner, controller: true, blockOwnerDeletion: true },
  ]);
});

/** The API's answer for an object that does not exist. */
const notFound = (name: string) => Object.assign(new Error(`${name} not found`), { code: 404 });
const missing = async () => {
  throw notFound('object');
};
/** A route status: the gateway took generation `generation` (Accepted, refs resolved). */
const takenAt = (generation: number) => ({
  parents: [
    {
      parentRef: { name: 'gateway' },
      conditions: [
        { type: 'Accepted', status: 'True', observedGeneration: generation },
        { type: 'ResolvedRefs', status: 'True', observedGeneration: generation },
      ],
    },
  ],
});

test('a route deleted mid-canary sends the canary nothing: a rollback ends, a weight is out of reach', async () => {
  const router = new GatewayApiRouter({
    clients: {
      custom: { getNamespacedCustomObject: missing },
      core: { readNamespacedService: missing },
      apps: { readNamespacedDeployment: missing },
    } as never,
    routing: { httpRoute: 'web' },
  });
  const seen = await router.observe(TARGET);
  assert.equal(seen.weight, 0);
  assert.equal(seen.canaryPresent, false);
  assert.match(seen.detail, /HTTPRoute web does not exist: nothing is routed to the canary/);
  await router.setWeight(TARGET, 0);
  await assert.rejects(router.setWeight(TARGET, 5), WeightUnreachableError);
  // before a canary starts, the same is a reason it cannot
  const checking = new GatewayApiRouter({
    clients: {
      custom: { getNamespacedCustomObject: missing },
      core: {
        readNamespacedService: async ({ name }: { name: string }) =>
          name === 'web'
            ? { metadata: { name }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } }
            : missing(),
      },
      apps: {
        readNamespacedDeployment: async () => ({
          metadata: { name: 'web' },
          spec: {
            selector: { matchLabels: { app: 'web' } },
            template: { spec: { containers: [{ name: 'web' }] } },
          },
        }),
      },
    } as never,
    routing: { httpRoute: 'web' },
  });
  assert.deepEqual(await checking.check(TARGET, [5]), ['the HTTPRoute shop/web does not exist']);
});

test('a canary whose deletion is under way counts as removed, and no next canary is applied onto it', async () => {
  const terminating = { deletionTimestamp: new Date('2026-12-07T10:00:00Z') };
  const canaryLabels = { [ROLE_LABEL]: 'canary', [MANAGED_BY_LABEL]: 'hyperagent-operator' };
  const deployments: Record<string, V1Deployment> = {
    web: {
      metadata: { name: 'web' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web' }] } },
      },
    },
    'web-canary': {
      metadata: { name: 'web-canary', labels: canaryLabels, ...terminating },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web' }] } },
      },
    },
  };
  const services: Record<string, unknown> = {
    web: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } },
    'web-canary': { metadata: { name: 'web-canary', labels: canaryLabels, ...terminating } },
  };
  // the user's route, clean and taken by the gateway
  const route = {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'web', namespace: 'shop', generation: 4 },
    spec: { rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] },
    status: takenAt(4),
  };
  const applied: string[] = [];
  const router = new GatewayApiRouter({
    clients: {
      custom: { getNamespacedCustomObject: async () => route },
      core: {
        readNamespacedService: async ({ name }: { name: string }) => {
          if (!services[name]) throw notFound(name);
          return services[name];
        },
      },
      apps: {
        readNamespacedDeployment: async ({ name }: { name: string }) => {
          if (!deployments[name]) throw notFound(name);
          return deployments[name];
        },
      },
      objects: {
        apply: async (object: { kind: string }) => {
          applied.push(object.kind);
          return object;
        },
        patch: async (object: { kind: string }) => {
          applied.push(object.kind);
          return object;
        },
      },
    } as never,
    routing: { httpRoute: 'web' },
  });
  const seen = await router.observe(TARGET);
  assert.equal(seen.canaryPresent, false, seen.detail);
  await router.setWeight(TARGET, 25);
  assert.deepEqual(applied, [], 'nothing is applied while the last canary is on its way out');
});

test('a canary that deleted its own objects while the route still sends it traffic is not removed: the route is put back first', async () => {
  // the hostile case: the canary's code, given the rights, deletes its Deployment and Service to end
  // the rollout while the route still sends it a quarter of the traffic
  const route = {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: {
      name: 'web',
      namespace: 'shop',
      generation: 5,
      annotations: { 'hyperagents.io/stable-weights': '{"0":null}' },
    },
    spec: {
      rules: [
        {
          backendRefs: [
            { name: 'web', port: 80, weight: 75 },
            { name: 'web-canary', port: 80, weight: 25 },
          ],
        },
      ],
    },
    status: takenAt(5),
  };
  const written: { spec: { rules: { backendRefs: { name: string }[] }[] } }[] = [];
  const router = new GatewayApiRouter({
    clients: {
      custom: {
        getNamespacedCustomObject: async () => route,
        replaceNamespacedCustomObject: async ({ body }: { body: (typeof written)[number] }) => {
          written.push(body);
          return body;
        },
      },
      core: { readNamespacedService: missing },
      apps: { readNamespacedDeployment: missing },
    } as never,
    routing: { httpRoute: 'web' },
  });
  const seen = await router.observe(TARGET);
  assert.equal(seen.canaryPresent, true, 'the route still names the canary');
  await router.removeCanary(TARGET);
  assert.equal(written.length, 1, 'the route is put back');
  assert.deepEqual(
    written[0]!.spec.rules.flatMap((rule) => rule.backendRefs.map((ref) => ref.name)),
    ['web'],
  );
});
