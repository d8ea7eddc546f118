// The demo scenario as a test (the same code `npm run demo` runs): the quote service gets faster by
// itself and a bad change is stopped, on the real cluster under real load. Then every query of the
// Grafana dashboard the chart ships runs against the same Prometheus, over the demo's time range,
// and must return data — a panel that stays empty after the demo is a broken panel.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { formatSummary, shortfalls } from '../../scripts/demo/report.js';
import { AGENT_NAME } from '../../scripts/demo/agent.js';
import { runDemo } from '../../scripts/demo/scenario.js';
import { runDashboardQueries } from '../support/dashboard.js';
import { deleteNamespace } from '../support/workloads.js';

const PROMETHEUS_URL = process.env.HYPERAGENT_PROMETHEUS_URL ?? 'http://127.0.0.1:9090';
const NAMESPACE = 'demo';

// the demo leaves its service under load for people to look at; the tests after this one need the CPU
after(async () => {
  if (process.env.HYPERAGENT_KEEP_NAMESPACE !== '1') await deleteNamespace(NAMESPACE);
});

test('the demo: a tuner cycle promoted under load, an LLM change rolled back; every dashboard panel has data', async (t) => {
  const report = await runDemo({ namespace: NAMESPACE, log: (line) => t.diagnostic(line) });
  t.diagnostic(`summary\n${formatSummary(report)}`);
  t.diagnostic(JSON.stringify(report));
  assert.deepEqual(shortfalls(report), []);
  assert.ok(report.candidates_evaluated >= 3, `${report.candidates_evaluated} candidates evaluated`);
  assert.equal(report.bad_canary.outcome, 'RolledBack');

  // what someone looking at the dashboard for the demo's time range would see, once Prometheus
  // has scraped the operator after the demo's end (its last figures, time to mitigate say, can be
  // recorded within the last scrape interval)
  await operatorScrapedAfter(Date.parse(report.finished_at) + 2000);
  const window = `${report.duration_seconds + 60}s`;
  const run = await runDashboardQueries(PROMETHEUS_URL, {
    namespace: NAMESPACE,
    agent: AGENT_NAME,
    deployment: 'quote-service',
    __rate_interval: window,
    __range: window,
    __interval: window,
  });
  t.diagnostic(`dashboard variables: ${JSON.stringify(run.variables)}`);
  const empty: string[] = [];
  for (const result of run.results) {
    const values = result.samples.map((s) => JSON.stringify(s)).join(' ');
    t.diagnostic(`${result.panel} / ${result.refId}: ${result.status} ${values}`);
    assert.equal(
      result.status,
      'success',
      `${result.panel} / ${result.refId}: ${result.error}\n${result.expr}`,
    );
    if (result.samples.length === 0) empty.push(`${result.panel} / ${result.refId}: ${result.expr}`);
  }
  assert.deepEqual(empty, [], 'dashboard queries without data');
});

/** Waits until Prometheus holds a scrape of the in-cluster operator taken after `time` (ms). */
async function operatorScrapedAfter(time: number): Promise<void> {
  const query = 'max(timestamp(up{namespace="hyperagent-system", container="operator"}))';
  for (const deadline = Date.now() + 60_000; ; await new Promise((resolve) => setTimeout(resolve, 1000))) {
    const response = await fetch(`${PROMETHEUS_URL}/api/v1/query?query=${encodeURIComponent(query)}`);
    const body = (await response.json()) as { data?: { result?: { value: [number, string] }[] } };
    const scraped = Number(body.data?.result?.[0]?.value[1] ?? 0) * 1000;
    if (scraped > time) return;
    assert.ok(
      Date.now() < deadline,
      `no scrape of the operator after ${new Date(time).toISOString()} within 60 s`,
    );
  }
}
