// The Prometheus MetricProvider against the real Prometheus of the cluster: values, no data,
// several series, refused queries, an unreachable server and a server that never answers. Also
// checks that rendered query templates, with hostile label values, are PromQL Prometheus accepts.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { eventually } from '../support/cluster.js';
import { PrometheusProvider } from '../../operator/src/rollout/prometheus.js';
import { renderQuery } from '../../operator/src/rollout/query-template.js';
import type { Measurement } from '../../operator/src/rollout/metric-provider.js';

const PROMETHEUS_URL = process.env.HYPERAGENT_PROMETHEUS_URL ?? 'http://127.0.0.1:9090';
const prometheus = new PrometheusProvider({ address: PROMETHEUS_URL, timeoutMs: 5000 });

let silent: Server;

before(async () => {
  // Prometheus must be up before the cases mean anything
  await eventually('Prometheus to answer vector(1)', async () => {
    const m = await prometheus.measure('vector(1)');
    return m.kind === 'value' ? m : undefined;
  });
  // accepts connections and never answers: the shape of a hung Prometheus
  silent = createServer(() => {});
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
});

after(async () => {
  silent.closeAllConnections();
  await new Promise((resolve) => silent.close(resolve));
});

function errorMessage(measurement: Measurement): string {
  assert.equal(measurement.kind, 'error', JSON.stringify(measurement));
  return (measurement as { message: string }).message;
}

test('one number: a one-sample vector and a scalar', async () => {
  assert.deepEqual(await prometheus.measure('vector(1)'), { kind: 'value', value: 1 });
  assert.deepEqual(await prometheus.measure('scalar(vector(0.25))'), { kind: 'value', value: 0.25 });
});

async function countUp(): Promise<number> {
  const m = await prometheus.measure('count(up)');
  assert.equal(m.kind, 'value');
  return (m as { value: number }).value;
}

test('NaN and infinities are values, left for the analysis to judge', async () => {
  const nan = await prometheus.measure('vector(0) / 0');
  assert.equal(nan.kind, 'value');
  assert.ok(Number.isNaN((nan as { value: number }).value));
  assert.deepEqual(await prometheus.measure('vector(1) / 0'), { kind: 'value', value: Infinity });
});

test('an empty vector is no data', async () => {
  assert.deepEqual(await prometheus.measure('up{job="nonexistent"}'), { kind: 'noData' });
});

test('several series are an error that says how to fix the query', async () => {
  const series = await countUp();
  assert.ok(series > 1, `the cluster's Prometheus should scrape several targets, it has ${series}`);
  assert.equal(
    errorMessage(await prometheus.measure('up')),
    `the query returned ${series} series; aggregate it to one, e.g. with sum()`,
  );
});

test('a range vector is an error', async () => {
  assert.match(errorMessage(await prometheus.measure('up[1m]')), /range vector/);
});

test("a syntax error carries Prometheus' own message", async () => {
  const message = errorMessage(await prometheus.measure('sum(up{'));
  assert.match(message, /refused the query \(HTTP 400, bad_data\)/);
  assert.match(message, /parse error/);
});

test('a wrong path is an HTTP error with its status', async () => {
  const wrong = new PrometheusProvider({ address: `${PROMETHEUS_URL}/no-such-prefix` });
  assert.match(errorMessage(await wrong.measure('vector(1)')), /answered HTTP 404/);
});

test('an unreachable Prometheus is an error naming the cause', async () => {
  // a port that was free a moment ago: nothing listens there
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  const closed = new PrometheusProvider({ address: `http://127.0.0.1:${port}` });
  assert.match(
    errorMessage(await closed.measure('vector(1)')),
    new RegExp(`^cannot reach Prometheus at http://127\\.0\\.0\\.1:${port}: fetch failed: .*ECONNREFUSED`),
  );
});

test('a Prometheus that never answers times out', async () => {
  const port = (silent.address() as AddressInfo).port;
  const hung = new PrometheusProvider({ address: `http://127.0.0.1:${port}`, timeoutMs: 500 });
  const started = Date.now();
  assert.equal(
    errorMessage(await hung.measure('vector(1)')),
    `Prometheus at http://127.0.0.1:${port} did not answer within 0.5s`,
  );
  assert.ok(Date.now() - started < 3000);
});

test('rendered templates with hostile label values are PromQL that Prometheus reads back exactly', async () => {
  const hostile = ['quote-canary', 'a"b', "it's", 'back\\slash', 'new\nline', 'ünïcödé ✓', '{{canary}}'];
  for (const canary of hostile) {
    const values = {
      namespace: 'shop',
      service: 'quote',
      canary,
      stable: 'quote',
      canaryService: 'quote-canary',
    };
    // the same value through a double-quoted and a single-quoted literal must give the same label
    const query = renderQuery(
      'count(label_replace(vector(1), "v", "{{canary}}", "", "") and on(v) label_replace(vector(1), "v", \'{{canary}}\', "", ""))',
      values,
    );
    assert.deepEqual(
      await prometheus.measure(query),
      { kind: 'value', value: 1 },
      `${JSON.stringify(canary)}: ${query}`,
    );
    // and the label Prometheus built is the value itself
    const labelled = renderQuery('label_replace(vector(1), "v", "{{canary}}", "", "")', values);
    const response = await fetch(`${PROMETHEUS_URL}/api/v1/query?query=${encodeURIComponent(labelled)}`);
    const body = (await response.json()) as { data: { result: { metric: { v: string } }[] } };
    assert.equal(body.data.result[0]?.metric.v, canary);
  }
});
