// The HTTPRoute edits of the Gateway API router, as values: weights that add up to 100, smoke-test
// twins, and a restore that gives back the route the user wrote, whatever came between.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  STABLE_WEIGHTS_ANNOTATION,
  gatewayTook,
  routeProblems,
  routeTraffic,
  withCanary,
  withoutCanary,
  type HttpRoute,
} from './http-route.js';

const BACKENDS = { service: 'quote', canaryService: 'quote-canary' };
const HEADER = { name: 'X-Canary', value: 'always' };

function route(rules: HttpRoute['spec']['rules'], annotations?: Record<string, string>): HttpRoute {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'shop', namespace: 'demo', generation: 3, ...(annotations ? { annotations } : {}) },
    spec: { parentRefs: [{ name: 'gw', namespace: 'gateways' }], rules },
  };
}

const USER_ROUTE = route([
  {
    matches: [{ path: { type: 'PathPrefix', value: '/quote' } }],
    backendRefs: [{ name: 'quote', port: 80 }],
  },
  {
    matches: [{ path: { type: 'PathPrefix', value: '/admin' } }],
    backendRefs: [{ name: 'admin', port: 80 }],
  },
  { backendRefs: [{ name: 'quote', port: 80, weight: 7 }] },
]);

test('a weight shares each stable rule between the two Services in exact percent; other rules are untouched', () => {
  const changed = withCanary(USER_ROUTE, BACKENDS, 5);
  const rules = changed.spec.rules!;
  assert.deepEqual(rules[0]!.backendRefs, [
    { name: 'quote', port: 80, weight: 95 },
    { name: 'quote-canary', port: 80, weight: 5 },
  ]);
  assert.deepEqual(rules[1], USER_ROUTE.spec.rules![1]);
  assert.deepEqual(rules[2]!.backendRefs, [
    { name: 'quote', port: 80, weight: 95 },
    { name: 'quote-canary', port: 80, weight: 5 },
  ]);
  assert.deepEqual(routeTraffic(changed, BACKENDS), { weight: 5, smoke: false, clean: false });
  assert.equal(routeTraffic(withCanary(changed, BACKENDS, 50), BACKENDS).weight, 50);
  assert.deepEqual(routeTraffic(USER_ROUTE, BACKENDS), { weight: 0, smoke: false, clean: true });
});

test('restoring gives back the route as the user wrote it, after any number of steps and twins', () => {
  let current = USER_ROUTE;
  for (const weight of [5, 20, 50, 0]) current = withCanary(current, BACKENDS, weight, HEADER);
  assert.deepEqual(withoutCanary(current, BACKENDS), {
    ...USER_ROUTE,
    metadata: { ...USER_ROUTE.metadata, annotations: {} },
  });
  assert.ok(routeTraffic(withoutCanary(current, BACKENDS), BACKENDS).clean);
});

test('the stable weights are recorded by the first change only', () => {
  const first = withCanary(USER_ROUTE, BACKENDS, 5);
  assert.equal(first.metadata.annotations?.[STABLE_WEIGHTS_ANNOTATION], '{"0":null,"2":7}');
  const later = withCanary(first, BACKENDS, 20);
  assert.equal(later.metadata.annotations?.[STABLE_WEIGHTS_ANNOTATION], '{"0":null,"2":7}');
});

test('a smoke-test twin requires the header on every match of its rule and sends to the canary alone', () => {
  const changed = withCanary(USER_ROUTE, BACKENDS, 0, HEADER);
  const twins = changed.spec.rules!.slice(3);
  assert.equal(twins.length, 2);
  assert.deepEqual(twins[0], {
    matches: [
      {
        path: { type: 'PathPrefix', value: '/quote' },
        headers: [{ type: 'Exact', name: 'X-Canary', value: 'always' }],
      },
    ],
    backendRefs: [{ name: 'quote-canary', port: 80, weight: 1 }],
  });
  // a rule without matches matches every request: its twin matches every request with the header
  assert.deepEqual(twins[1]!.matches, [{ headers: [{ type: 'Exact', name: 'X-Canary', value: 'always' }] }]);
  assert.deepEqual(routeTraffic(changed, BACKENDS), { weight: 0, smoke: true, clean: false });
  // twins are made once, however many steps follow
  assert.equal(withCanary(changed, BACKENDS, 20, HEADER).spec.rules!.length, 5);
});

test('a rule that shares the stable Service with another backend, or starves it, is refused with the reason', () => {
  const shared = route([
    {
      backendRefs: [
        { name: 'quote', port: 80 },
        { name: 'legacy', port: 80 },
      ],
    },
  ]);
  assert.match(
    routeProblems(shared, BACKENDS)[0]!,
    /also to legacy; the canary needs quote to be that rule's only backend/,
  );
  const none = route([{ backendRefs: [{ name: 'other', port: 80 }] }]);
  assert.deepEqual(routeProblems(none, BACKENDS), [
    'the HTTPRoute shop has no rule that sends to the Service quote',
  ]);
  const starved = route([{ backendRefs: [{ name: 'quote', port: 80, weight: 0 }] }]);
  assert.match(routeProblems(starved, BACKENDS)[0]!, /gives quote weight 0/);
  const elsewhere = route([{ backendRefs: [{ name: 'quote', namespace: 'other', port: 80 }] }]);
  assert.match(routeProblems(elsewhere, BACKENDS)[0]!, /no rule that sends to the Service quote/);
  assert.deepEqual(routeProblems(USER_ROUTE, BACKENDS, HEADER), []);
});

test('twins that would pass the Gateway API limit of 16 rules are refused before the canary starts', () => {
  const many = route(Array.from({ length: 9 }, () => ({ backendRefs: [{ name: 'quote', port: 80 }] })));
  assert.deepEqual(routeProblems(many, BACKENDS), []);
  assert.match(routeProblems(many, BACKENDS, HEADER)[0]!, /would need 18 rules/);
});

test('weights the router did not write (not adding up to 100) name no weight', () => {
  const edited = route([
    {
      backendRefs: [
        { name: 'quote', port: 80, weight: 3 },
        { name: 'quote-canary', port: 80, weight: 1 },
      ],
    },
  ]);
  assert.equal(routeTraffic(edited, BACKENDS).weight, undefined);
});

test('the gateway took the route only when every parent accepts and resolves the current generation', () => {
  const condition = (type: string, status: string, generation: number) => ({
    type,
    status,
    observedGeneration: generation,
    reason: status === 'True' ? type : 'BackendNotFound',
    message: status === 'True' ? '' : 'service quote-canary not found',
    lastTransitionTime: new Date(0),
  });
  const withStatus = (conditions: ReturnType<typeof condition>[]): HttpRoute => ({
    ...USER_ROUTE,
    status: { parents: [{ parentRef: { name: 'gw' }, conditions }] },
  });
  assert.deepEqual(gatewayTook(USER_ROUTE), { took: false, why: 'no gateway has reported on the route yet' });
  assert.deepEqual(
    gatewayTook(withStatus([condition('Accepted', 'True', 3), condition('ResolvedRefs', 'True', 3)])),
    {
      took: true,
    },
  );
  assert.match(
    JSON.stringify(
      gatewayTook(withStatus([condition('Accepted', 'True', 2), condition('ResolvedRefs', 'True', 2)])),
    ),
    /has not yet reported on generation 3/,
  );
  assert.match(
    JSON.stringify(
      gatewayTook(withStatus([condition('Accepted', 'True', 3), condition('ResolvedRefs', 'False', 3)])),
    ),
    /ResolvedRefs False: service quote-canary not found/,
  );
});

test('property: any sequence of weights and twins restores to the user route', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 6 }),
      fc.boolean(),
      (weights, smoke) => {
        let current = USER_ROUTE;
        for (const weight of weights)
          current = withCanary(current, BACKENDS, weight, smoke ? HEADER : undefined);
        assert.equal(routeTraffic(current, BACKENDS).weight, weights.at(-1));
        const restored = withoutCanary(current, BACKENDS);
        assert.deepEqual(restored.spec, USER_ROUTE.spec);
      },
    ),
  );
});
