// Routers and metric providers are chosen per cycle from its spec; what the operator does not
// ship fails the cycle with a reason that names it, before anything is created.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeClients } from '../kube/clients.js';
import { metricProviderFor } from './metric-providers.js';
import { PrometheusProvider } from './prometheus.js';
import { GatewayApiRouter } from './gateway-api-router.js';
import { ReplicaRatioRouter } from './replica-ratio-router.js';
import { RouterChoice, routerKindsOf } from './routers.js';
import type { TrafficRouter } from './traffic-router.js';
import { defaultedMinimalSpec } from '../../../test/support/agents.js';

const clients = {} as KubeClients;
const rollout = defaultedMinimalSpec().rollout;

test('the schema default routes by replica ratio, and each kind is built once', () => {
  assert.deepEqual(rollout.trafficRouting, { replicaRatio: {} });
  const choice = new RouterChoice({ clients });
  const first = choice.routerFor(rollout);
  assert.ok(first instanceof ReplicaRatioRouter);
  assert.equal(choice.routerFor(rollout), first);
  assert.deepEqual(routerKindsOf({ trafficRouting: undefined as never }), ['replicaRatio']);
});

test('the Gateway API router is built per HTTPRoute: two agents with two routes get two routers', () => {
  const choice = new RouterChoice({ clients });
  const quote = choice.routerFor({ trafficRouting: { gatewayAPI: { httpRoute: 'quote' } } } as never);
  const rates = choice.routerFor({ trafficRouting: { gatewayAPI: { httpRoute: 'rates' } } } as never);
  assert.ok(quote instanceof GatewayApiRouter && rates instanceof GatewayApiRouter);
  assert.notEqual(quote, rates);
  assert.equal(choice.routerFor({ trafficRouting: { gatewayAPI: { httpRoute: 'quote' } } } as never), quote);
});

test('a router kind this operator does not ship fails UnknownTrafficRouter, naming what it has', () => {
  const fake: TrafficRouter = {} as TrafficRouter;
  const choice = new RouterChoice({ clients }, { replicaRatio: () => fake });
  const spec = { trafficRouting: { gatewayAPI: { httpRoute: 'quote' } } } as never;
  const chosen = choice.routerFor(spec);
  assert.ok('failed' in chosen);
  assert.equal(chosen.failed.reason, 'UnknownTrafficRouter');
  assert.match(
    chosen.failed.message,
    /names 'gatewayAPI', which this operator does not ship \(it has: replicaRatio\)/,
  );
  const two = choice.routerFor({ trafficRouting: { replicaRatio: {}, gatewayAPI: {} } } as never);
  assert.ok('failed' in two);
  assert.match(two.failed.message, /names replicaRatio and gatewayAPI; it must name exactly one/);
});

test('the analysis names its metric provider; none this operator ships is UnknownMetricProvider', () => {
  assert.ok(metricProviderFor(rollout.analysis) instanceof PrometheusProvider);
  const none = metricProviderFor({ ...rollout.analysis, prometheus: undefined } as never);
  assert.ok('failed' in none);
  assert.equal(none.failed.reason, 'UnknownMetricProvider');
  assert.match(
    none.failed.message,
    /names no metric provider this operator ships; it must name exactly one of: prometheus/,
  );
});
