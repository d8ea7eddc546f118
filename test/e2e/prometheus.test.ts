// Prometheus, run beside the cluster as a user's would, discovers an annotated pod through the
// Kubernetes API, scrapes it, and its HTTP query API returns the pod's metric.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, freshNamespace } from '../support/cluster.js';
import { deleteNamespace, deployEcho, probeFrom, startProbePod } from '../support/workloads.js';

const PROMETHEUS_URL = process.env.HYPERAGENT_PROMETHEUS_URL ?? 'http://127.0.0.1:9090';

let namespace: string;

before(async () => {
  namespace = await freshNamespace('e2e-prom');
});

after(async () => {
  await deleteNamespace(namespace);
});

interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(promql: string): Promise<VectorSample[]> {
  const response = await fetch(`${PROMETHEUS_URL}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await response.json()) as {
    status: string;
    data: { result: VectorSample[] };
    error?: string;
  };
  assert.equal(body.status, 'success', body.error);
  return body.data.result;
}

test('a pod annotated for scraping has its request counter queryable in Prometheus', async () => {
  await deployEcho(namespace, 'scraped', { scrape: true });
  await deployEcho(namespace, 'unscraped', { scrape: false });
  await startProbePod(namespace, 'client');
  for (let i = 0; i < 5; i++) {
    const result = await probeFrom(namespace, 'client', ['http', `http://scraped.${namespace}/`]);
    assert.ok(result.ok, result.output);
  }
  const samples = await eventually(
    'Prometheus to return echo_requests_total for the scraped pod',
    async () => {
      const result = await query(
        `sum by (namespace, app) (echo_requests_total{namespace="${namespace}", code="200"})`,
      );
      return result.length > 0 && Number(result[0]!.value[1]) >= 5 ? result : undefined;
    },
    90_000,
  );
  assert.equal(samples[0]!.metric.app, 'scraped');
  // only pods that opt in are scraped
  const unscraped = await query(`up{namespace="${namespace}", app="unscraped"}`);
  assert.deepEqual(unscraped, []);
});
