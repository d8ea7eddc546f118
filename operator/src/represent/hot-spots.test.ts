// The pure parts of hot spots: the PromQL we send and how answers become hot spots. Answers from
// a real Prometheus are covered by test/integration/hot-spots.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildModules } from './modules.js';
import { defaultSelector, hotSpotQueries, locateRoutes, rankRoutes } from './hot-spots.js';

test('queries select the target pods by default, or the given matchers', () => {
  assert.equal(
    defaultSelector({ namespace: 'shop', deployment: 'quote' }),
    'namespace="shop",pod=~"quote-.*"',
  );
  assert.equal(defaultSelector(undefined), '');
  const targeted = hotSpotQueries({ url: 'http://p', target: { namespace: 'shop', deployment: 'quote' } });
  assert.equal(
    targeted.latency,
    'histogram_quantile(0.99, sum by (le, route, method) (rate(http_request_duration_seconds_bucket{namespace="shop",pod=~"quote-.*"}[5m])))',
  );
  assert.equal(
    targeted.rate,
    'sum by (route, method) (rate(http_request_duration_seconds_count{namespace="shop",pod=~"quote-.*"}[5m]))',
  );
  const custom = hotSpotQueries({
    url: 'http://p',
    selector: '{job="api"}',
    target: { deployment: 'ignored' },
    histogram: 'req_seconds',
    window: '1m',
  });
  assert.match(custom.latency, /rate\(req_seconds_bucket\{job="api"\}\[1m\]\)/);
  assert.equal(hotSpotQueries({ url: 'http://p' }).series, 'http_request_duration_seconds_bucket');
});

test('routes rank by p99, NaN and routeless samples are dropped, rates join by route and method', () => {
  const routes = rankRoutes(
    [
      { labels: { route: '/health', method: 'GET' }, value: 0.004 },
      { labels: { route: '/quote', method: 'GET' }, value: 0.42 },
      { labels: { route: '/idle', method: 'GET' }, value: NaN },
      { labels: { route: '/huge', method: 'GET' }, value: Infinity },
      { labels: { method: 'GET' }, value: 9 },
      { labels: { route: '/quote', method: 'POST' }, value: 0.1 },
    ],
    [
      { labels: { route: '/quote', method: 'GET' }, value: 5 },
      { labels: { route: '/health', method: 'GET' }, value: 1.5 },
    ],
    2,
  );
  assert.deepEqual(routes, [
    { route: '/quote', method: 'GET', p99Ms: 420, rps: 5 },
    { route: '/quote', method: 'POST', p99Ms: 100 },
  ]);
});

test('hot spots point at the source modules that quote the route, else those that end a path with it', () => {
  const texts = new Map([
    ['src/routes/quote.ts', "router.get('/quote', handler);\n"],
    ['src/routes/quotes.ts', "router.get('/quotes', list);\n"],
    ['src/app.ts', "app.use('/api', routes); // /api/health is served by the router\n"],
    ['src/quote.test.ts', "request('/quote');\n"],
    ['README.md', 'GET `/quote` returns a price.\n'],
  ]);
  const modules = buildModules(texts);
  const spots = locateRoutes(
    [
      { route: '/quote', method: 'GET', p99Ms: 420 },
      { route: '/health', p99Ms: 3 },
      { route: '/', p99Ms: 1 },
    ],
    modules,
    texts,
  );
  assert.deepEqual(
    spots.map((spot) => spot.modules),
    [['src/routes/quote.ts'], ['src/app.ts'], []],
  );
  assert.equal(spots[0]?.method, 'GET');
});
