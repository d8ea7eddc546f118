// The Prometheus client against canned HTTP answers; test/integration/hot-spots.test.ts and
// test/e2e/prometheus-provider.test.ts run it against a real Prometheus.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answering, sample, success, type Seen } from '../../../test/support/prometheus-answers.js';
import { PrometheusClient, type QueryAnswer } from './prometheus-client.js';

async function query(
  fetchImpl: typeof fetch,
  address = 'http://prom:9090',
  promql = 'q',
): Promise<QueryAnswer> {
  return new PrometheusClient({ address, fetch: fetchImpl }).query(promql);
}

function message(answer: QueryAnswer): string {
  assert.equal(answer.ok, false, JSON.stringify(answer));
  return (answer as { message: string }).message;
}

test('the query is posted as a form to /api/v1/query below the address, path prefix kept', async () => {
  const seen: Seen[] = [];
  await query(
    answering(200, success('scalar', [1, '1']), seen),
    'http://prom:9090/prefix/',
    'sum(up{job="a b"})',
  );
  assert.equal(seen[0]?.url, 'http://prom:9090/prefix/api/v1/query');
  assert.equal(seen[0]?.method, 'POST');
  assert.equal(new URLSearchParams(seen[0]?.body).get('query'), 'sum(up{job="a b"})');
});

test('a vector is its samples with their labels, special values kept', async () => {
  const answer = await query(
    answering(
      200,
      success('vector', [
        sample('0.42', { route: '/quote', method: 'GET' }),
        sample('NaN', { route: '/idle' }),
        sample('+Inf', { route: '/huge' }),
        sample('-Inf'),
      ]),
    ),
  );
  assert.deepEqual(answer, {
    ok: true,
    resultType: 'vector',
    samples: [
      { labels: { route: '/quote', method: 'GET' }, value: 0.42 },
      { labels: { route: '/idle' }, value: Number.NaN },
      { labels: { route: '/huge' }, value: Infinity },
      { labels: {}, value: -Infinity },
    ],
  });
});

test('a scalar is one sample without labels; an empty vector is no samples', async () => {
  assert.deepEqual(await query(answering(200, success('scalar', [1700000000, '0.25']))), {
    ok: true,
    resultType: 'scalar',
    samples: [{ labels: {}, value: 0.25 }],
  });
  assert.deepEqual(await query(answering(200, success('vector', []))), {
    ok: true,
    resultType: 'vector',
    samples: [],
  });
});

test('a range vector or a string result is reported with its type', async () => {
  const matrix = await query(answering(200, success('matrix', [{ metric: {}, values: [[1, '1']] }])));
  assert.deepEqual(matrix, {
    ok: false,
    resultType: 'matrix',
    message: 'Prometheus at http://prom:9090 returned a range vector, not an instant vector or a scalar',
  });
  const text = await query(answering(200, success('string', [1, 'hello'])));
  assert.equal(text.ok === false && text.resultType, 'string');
  assert.match(message(text), /returned a string result, not an instant vector or a scalar$/);
});

test('malformed samples are an error that quotes them', async () => {
  assert.match(
    message(await query(answering(200, success('vector', [sample('abc')])))),
    /^Prometheus sent a value that is not a number: 'abc'$/,
  );
  assert.match(
    message(await query(answering(200, success('vector', [{ metric: {} }])))),
    /^Prometheus sent a sample without a value: \{"metric":\{\}\}$/,
  );
});

test('HTTP errors, refused queries and answers that are not JSON keep their cause', async () => {
  assert.equal(
    message(
      await query(
        answering(400, {
          status: 'error',
          errorType: 'bad_data',
          error: 'parse error: unexpected end of input',
        }),
      ),
    ),
    'Prometheus at http://prom:9090 refused the query (HTTP 400, bad_data): parse error: unexpected end of input',
  );
  assert.equal(
    message(await query(answering(502, '<html>upstream down</html>'))),
    'Prometheus at http://prom:9090 answered HTTP 502 Bad Gateway: <html>upstream down</html>',
  );
  assert.equal(
    message(await query(answering(200, 'hello'))),
    'Prometheus at http://prom:9090 sent an answer that is not a query result: hello',
  );
  assert.match(
    message(await query(answering(502, 'x'.repeat(1000)))),
    /^Prometheus at http:\/\/prom:9090 answered HTTP 502 Bad Gateway: x{300}…$/,
  );
});

test('a network error names its causes, never the credentials of the address', async () => {
  const refused = (async () => {
    throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 10.0.0.9:9090') });
  }) as typeof fetch;
  const answer = await query(refused, 'http://user:secret@prom:9090/prefix/');
  assert.equal(
    message(answer),
    'cannot reach Prometheus at http://prom:9090/prefix: fetch failed: connect ECONNREFUSED 10.0.0.9:9090',
  );
  const client = new PrometheusClient({ address: 'https://user:secret@prom:9090', fetch: refused });
  assert.equal(client.shownAddress, 'https://prom:9090');
  const refusedQuery = await new PrometheusClient({
    address: 'http://user:secret@prom:9090',
    fetch: answering(400, { status: 'error', errorType: 'bad_data', error: 'no' }),
  }).query('q');
  assert.doesNotMatch(message(refusedQuery), /user|secret/);
});

test('a Prometheus that never answers times out', async () => {
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
  const answer = await new PrometheusClient({
    address: 'http://prom:9090',
    fetch: hanging,
    timeoutMs: 50,
  }).query('q');
  assert.deepEqual(answer, {
    ok: false,
    message: 'Prometheus at http://prom:9090 did not answer within 0.05s',
  });
  assert.ok(Date.now() - started < 2000);
});

test('an address that is not a valid URL is an answer, not an exception, and nothing is fetched', async () => {
  const seen: Seen[] = [];
  const fetchImpl = answering(200, success('vector', []), seen);
  assert.deepEqual(await query(fetchImpl, 'not a url'), {
    ok: false,
    message: "the Prometheus address 'not a url' is not a valid URL",
  });
  assert.equal(
    message(await query(fetchImpl, 'ftp://user:secret@prom/')),
    "the Prometheus address 'ftp://prom' is not a valid URL: it must start with http:// or https://",
  );
  assert.equal(
    message(await query(fetchImpl, 'http://user:secret@prom:port')),
    "the Prometheus address 'http://prom:port' is not a valid URL",
  );
  assert.equal(seen.length, 0);
});
