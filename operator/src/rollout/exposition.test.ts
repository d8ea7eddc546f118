import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCounterSelector, parseExposition, sumMatching } from './exposition.js';

// As Traefik serves it: one series per backend, code, method and protocol.
const GATEWAY = `# HELP traefik_service_requests_total How many HTTP requests processed on a service, partitioned by status code, protocol, and method.
# TYPE traefik_service_requests_total counter
traefik_service_requests_total{code="200",method="GET",protocol="http",service="shop-web-canary-http-80@kubernetesgateway"} 41
traefik_service_requests_total{code="500",method="GET",protocol="http",service="shop-web-canary-http-80@kubernetesgateway"} 9
traefik_service_requests_total{code="503",method="GET",protocol="http",service="shop-web-canary-http-80@kubernetesgateway"} 1
traefik_service_requests_total{code="200",method="GET",protocol="http",service="shop-web-http-80@kubernetesgateway"} 1.5e3
traefik_service_request_duration_seconds_bucket{code="200",method="GET",protocol="http",service="shop-web-http-80@kubernetesgateway",le="+Inf"} 1500
weird_metric{path="a \\"quoted\\" \\\\ value\\nnext"} 2 1733565600000
not a sample line
`;

const CANARY = 'service="shop-web-canary-http-80@kubernetesgateway"';

test('the failed and all requests of the canary backend, summed over codes and methods', () => {
  const samples = parseExposition(GATEWAY);
  const failed = parseCounterSelector(`sum(traefik_service_requests_total{${CANARY}, code=~"5.."})`);
  const total = parseCounterSelector(`traefik_service_requests_total{${CANARY}}`);
  assert.equal(sumMatching(samples, failed), 10);
  assert.equal(sumMatching(samples, total), 51);
});

test('matchers work as in PromQL: anchored regular expressions, negations, a missing label is empty', () => {
  const samples = parseExposition(GATEWAY);
  const sum = (query: string) => sumMatching(samples, parseCounterSelector(query));
  assert.equal(sum('traefik_service_requests_total{code=~"5"}'), undefined, 'the regex matches whole values');
  assert.equal(sum('traefik_service_requests_total{code!~"5..", service=~".*canary.*"}'), 41);
  assert.equal(sum('traefik_service_requests_total{code!="200"}'), 10);
  assert.equal(sum('traefik_service_requests_total{zone=""}'), 1551);
  assert.equal(sum('traefik_service_requests_total{zone="eu"}'), undefined);
  assert.equal(sum('traefik_service_requests_total'), 1551);
  assert.equal(sum('weird_metric{path="a \\"quoted\\" \\\\ value\\nnext"}'), 2, 'escapes and a timestamp');
});

test('anything but a selector (in sum) is refused with what to write', () => {
  for (const query of [
    'rate(traefik_service_requests_total[1m])',
    'sum(traefik_service_requests_total) / 2',
    'traefik_service_requests_total{code=5}',
    'traefik_service_requests_total{code="5"',
    'traefik_service_requests_total{code=~"("}',
    '{code="500"}',
  ]) {
    assert.throws(
      () => parseCounterSelector(query),
      /is not a counter selector \(.+\): write metric\{label="value", …\}/,
    );
  }
});
