import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { collectAnswers, figuresOf, runLoad, waitReady } from './workload-driver.js';

async function serve(handler: Parameters<typeof createServer>[1]): Promise<number> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => new Promise((resolve) => server.close(resolve)));
  return (server.address() as AddressInfo).port;
}

test('the load is open loop at the asked rate, timed from the schedule, 5xx counted as errors', async () => {
  let seen = 0;
  const port = await serve((request, response) => {
    seen += 1;
    const slow = request.url === '/slow';
    setTimeout(
      () => {
        response.statusCode = request.url === '/fail' ? 503 : 200;
        response.end('ok');
      },
      slow ? 30 : 1,
    );
  });
  const run = await runLoad({
    port,
    requests: [
      { method: 'GET', path: '/fast' },
      { method: 'GET', path: '/slow' },
      { method: 'GET', path: '/fast' },
      { method: 'GET', path: '/fail' },
    ],
    rps: 100,
    durationMs: 1000,
    timeoutMs: 2000,
  });
  assert.ok(run.sent >= 95 && run.sent <= 101, `sent ${run.sent}`);
  assert.equal(seen, run.sent);
  assert.equal(run.errors, run.sent / 4);
  const figures = figuresOf(run);
  assert.ok(figures.p50_ms < 20, `p50 ${figures.p50_ms}`);
  assert.ok(figures.p99_ms >= 30, `p99 ${figures.p99_ms}: a third of the answered requests wait 30 ms`);
  assert.equal(figures.error_rate, 0.25);
});

test('answers are collected once per request, normalised; a refused connection is an answer too', async () => {
  const port = await serve((request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ path: request.url, at: Date.now() }));
  });
  const answers = await collectAnswers(port, [{ method: 'GET', path: '/a' }], ['at'], 1000);
  assert.deepEqual(answers, [{ status: 200, body: '{"path":"/a"}' }]);
  const closed = await collectAnswers(1, [{ method: 'GET', path: '/a' }], [], 500);
  assert.match(String(closed[0]), /^no answer: /);
  assert.equal(await waitReady(port, '/healthz', 2000), true);
  assert.equal(await waitReady(1, '/healthz', 300), false);
});
