// The Prometheus provider against canned HTTP answers; test/e2e/prometheus-provider.test.ts runs
// it against the real Prometheus of the cluster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answering, sample, success, type Seen } from '../../../test/support/prometheus-answers.js';
import type { Measurement } from './metric-provider.js';
import { PrometheusProvider } from './prometheus.js';

async function measure(
  fetchImpl: typeof fetch,
  query = 'q',
  address = 'http://prom:9090',
): Promise<Measurement> {
  return new PrometheusProvider({ address, fetch: fetchImpl }).measure(query);
}

test('the query is posted to /api/v1/query below the address, path prefix kept', async () => {
  const seen: Seen[] = [];
  await measure(
    answering(200, success('scalar', [1, '1']), seen),
    'sum(up{job="a b"})',
    'http://prom:9090/prefix/',
  );
  assert.equal(seen[0]?.url, 'http://prom:9090/prefix/api/v1/query');
  assert.equal(new URLSearchParams(seen[0]?.body).get('query'), 'sum(up{job="a b"})');
});

test('results: scalar, one sample, none, several series, special values', async () => {
  const table: [unknown, Measurement][] = [
    [success('scalar', [1, '0.25']), { kind: 'value', value: 0.25 }],
    [success('vector', [sample('3')]), { kind: 'value', value: 3 }],
    [success('vector', []), { kind: 'noData' }],
    [success('vector', [sample('NaN')]), { kind: 'value', value: Number.NaN }],
    [success('vector', [sample('+Inf')]), { kind: 'value', value: Infinity }],
    [success('scalar', [1, '-Inf']), { kind: 'value', value: -Infinity }],
    [
      success('vector', [sample('1', { a: '1' }), sample('1', { a: '2' }), sample('1', { a: '3' })]),
      { kind: 'error', message: 'the query returned 3 series; aggregate it to one, e.g. with sum()' },
    ],
  ];
  for (const [body, expected] of table) {
    assert.deepEqual(await measure(answering(200, body)), expected, JSON.stringify(body));
  }
  const matrix = await measure(answering(200, success('matrix', [])));
  assert.equal(matrix.kind, 'error');
  assert.match((matrix as { message: string }).message, /range vector.*avg_over_time/);
  const odd = await measure(answering(200, success('vector', [sample('abc')])));
  assert.match((odd as { message: string }).message, /not a number: 'abc'/);
});

test('errors keep their cause: refused query, HTTP status, garbage, network, timeout', async () => {
  const refused = await measure(
    answering(400, { status: 'error', errorType: 'bad_data', error: 'parse error: unexpected end of input' }),
  );
  assert.deepEqual(refused, {
    kind: 'error',
    message:
      'Prometheus at http://prom:9090 refused the query (HTTP 400, bad_data): parse error: unexpected end of input',
  });
  const proxy = await measure(answering(502, '<html>upstream down</html>'));
  assert.deepEqual(proxy, {
    kind: 'error',
    message: 'Prometheus at http://prom:9090 answered HTTP 502 Bad Gateway: <html>upstream down</html>',
  });
  const garbage = await measure(answering(200, 'hello'));
  assert.match((garbage as { message: string }).message, /not a query result: hello/);

  const refusedConnection = (async () => {
    throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 10.0.0.9:9090') });
  }) as typeof fetch;
  assert.deepEqual(await measure(refusedConnection, 'q', 'http://user:secret@prom:9090'), {
    kind: 'error',
    message: 'cannot reach Prometheus at http://prom:9090: fetch failed: connect ECONNREFUSED 10.0.0.9:9090',
  });

  const hanging = ((_input: unknown, init?: RequestInit) =>
    new Promise((_resolve, reject) => {
      // a real request keeps the process alive; AbortSignal.timeout's own timer does not
      const hold = setInterval(() => {}, 1000);
      init?.signal?.addEventListener('abort', () => {
        clearInterval(hold);
        reject(init.signal?.reason);
      });
    })) as typeof fetch;
  const started = Date.now();
  const timedOut = await new PrometheusProvider({
    address: 'http://prom:9090',
    fetch: hanging,
    timeoutMs: 50,
  }).measure('q');
  assert.deepEqual(timedOut, {
    kind: 'error',
    message: 'Prometheus at http://prom:9090 did not answer within 0.05s',
  });
  assert.ok(Date.now() - started < 2000);
});
