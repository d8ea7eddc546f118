import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OperatorMetrics } from './metrics.js';
import { startTelemetryServer } from './server.js';

test('probes follow readiness and /metrics exposes the operator metrics', async () => {
  const metrics = new OperatorMetrics({ defaultMetrics: false });
  let ready = false;
  const server = await startTelemetryServer(
    metrics,
    { ready: () => ({ ok: ready, detail: ready ? 'ready' : 'caches not synced' }) },
    0,
    '127.0.0.1',
  );
  try {
    const base = `http://127.0.0.1:${server.port}`;
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const notReady = await fetch(`${base}/readyz`);
    assert.equal(notReady.status, 503);
    assert.match(await notReady.text(), /caches not synced/);
    ready = true;
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    metrics.reconciled('hyperagent', 'success', 0.002);
    metrics.queueDepthChanged('hyperagent', 3);
    metrics.cyclesByPhase({ Failed: 2 });
    const text = await (await fetch(`${base}/metrics`)).text();
    assert.match(text, /hyperagent_reconcile_total\{controller="hyperagent",result="success"\} 1/);
    assert.match(text, /hyperagent_workqueue_depth\{controller="hyperagent"\} 3/);
    assert.match(text, /hyperagent_cycles\{phase="Failed"\} 2/);
    const unknown = await fetch(`${base}/debug`);
    assert.equal(unknown.status, 404);
    assert.match(await unknown.text(), /\/healthz, \/readyz and \/metrics/);
    const post = await fetch(`${base}/metrics`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    await post.text();
    assert.equal((await fetch(`${base}/readyz?verbose`, { method: 'HEAD' })).status, 200);
  } finally {
    await server.close();
  }
});
