import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProviderCounterSource, ScrapeCounterSource, counterSourceFor } from './counter-source.js';
import type { MetricProvider } from './metric-provider.js';

const EXPOSITION = `traefik_service_requests_total{code="200",service="web-canary"} 7
traefik_service_requests_total{code="500",service="web-canary"} 3
`;

function fakeFetch(answers: (() => Response | Promise<Response>)[]): {
  fetch: typeof fetch;
  calls: string[];
} {
  const calls: string[] = [];
  return {
    calls,
    fetch: (async (url: string | URL | Request) => {
      calls.push(String(url));
      const next = answers.shift();
      if (!next) throw new Error('no more answers');
      return next();
    }) as typeof fetch,
  };
}

test('one reading of the endpoint serves every counter of a round; a selector that matches nothing is no data', async () => {
  const { fetch, calls } = fakeFetch([() => new Response(EXPOSITION)]);
  const source = new ScrapeCounterSource({ url: 'http://gateway:9100/metrics', fetch });
  const read = await source.read([
    'sum(traefik_service_requests_total{service="web-canary", code=~"5.."})',
    'sum(traefik_service_requests_total{service="web-canary"})',
    'traefik_service_requests_total{service="other"}',
  ]);
  assert.deepEqual(read, [{ kind: 'value', value: 3 }, { kind: 'value', value: 10 }, { kind: 'noData' }]);
  assert.deepEqual(calls, ['http://gateway:9100/metrics']);
});

test('an endpoint that fails or answers an error status makes every counter an error saying so', async () => {
  const { fetch } = fakeFetch([
    () => new Response('down', { status: 503 }),
    () => Promise.reject(new Error('connect ECONNREFUSED')),
  ]);
  const source = new ScrapeCounterSource({ url: 'http://gateway:9100/metrics', fetch });
  assert.deepEqual(await source.read(['a', 'b']), [
    { kind: 'error', message: 'reading http://gateway:9100/metrics: HTTP 503' },
    { kind: 'error', message: 'reading http://gateway:9100/metrics: HTTP 503' },
  ]);
  assert.deepEqual(await source.read(['a']), [
    { kind: 'error', message: 'reading http://gateway:9100/metrics: connect ECONNREFUSED' },
  ]);
});

test('a query that is not a selector is an error of its own; the others are still read', async () => {
  const { fetch } = fakeFetch([() => new Response(EXPOSITION)]);
  const source = new ScrapeCounterSource({ url: 'http://gateway:9100/metrics', fetch });
  const [bad, good] = await source.read(['rate(x[1m])', 'sum(traefik_service_requests_total)']);
  assert.equal(bad?.kind, 'error');
  assert.match((bad as { message: string }).message, /is not a counter selector/);
  assert.deepEqual(good, { kind: 'value', value: 10 });
});

test('without counters.url the counters are the metric provider’s queries', async () => {
  const asked: string[] = [];
  const provider: MetricProvider = {
    measure: async (query) => {
      asked.push(query);
      return { kind: 'value', value: query.length };
    },
  };
  const source = counterSourceFor({ counters: { interval: '1s' } } as never, provider);
  assert.ok(source instanceof ProviderCounterSource);
  assert.deepEqual(await source.read(['ab', 'abc']), [
    { kind: 'value', value: 2 },
    { kind: 'value', value: 3 },
  ]);
  assert.deepEqual(asked, ['ab', 'abc']);
  assert.ok(
    counterSourceFor({ counters: { interval: '1s', url: 'http://g/metrics' } } as never, provider) instanceof
      ScrapeCounterSource,
  );
});
