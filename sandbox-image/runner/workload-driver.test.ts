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
  // every fourth request (/fail) of the cycle: a schedule may send one more or less than 100
  assert.equal(run.errors, Math.floor(run.sent / 4));
  const figures = figuresOf(run);
  // half the requests answer in 1 ms and a quarter in 30 ms: the median is far below the 2 s a failure
  // counts (a bound of tens of ms flaked on a busy 2-core machine, where latency from the schedule grows)
  assert.ok(figures.p50_ms < 500, `p50 ${figures.p50_ms}`);
  // a quarter of the requests failed: each counts as the whole 2 s timeout
  assert.ok(figures.p90_ms >= 2000, `p90 ${figures.p90_ms}: the failed quarter counts at the timeout`);
  assert.ok(Math.abs(figures.error_rate - 0.25) < 0.01, `error rate ${figures.error_rate}`);
  assert.ok(figures.rps > 65 && figures.rps < 80, `rps ${figures.rps}: successful answers only`);
});

test('shedding the slow requests with a fast 503 does not look faster than answering them slowly', async () => {
  const slowOrShed = (shed: boolean) =>
    serve((request, response) => {
      const slow = request.url === '/slow';
      if (slow && shed) {
        response.statusCode = 503;
        response.end('busy');
        return;
      }
      setTimeout(() => response.end('ok'), slow ? 40 : 1);
    });
  const requests = [
    { method: 'GET', path: '/fast' },
    { method: 'GET', path: '/fast' },
    { method: 'GET', path: '/fast' },
    { method: 'GET', path: '/slow' },
  ];
  const measure = async (port: number) =>
    figuresOf(await runLoad({ port, requests, rps: 100, durationMs: 500, timeoutMs: 1000 }));
  const honest = await measure(await slowOrShed(false));
  const shedding = await measure(await slowOrShed(true));
  assert.ok(honest.p99_ms >= 40 && honest.p99_ms < 1000, `honest p99 ${honest.p99_ms}`);
  assert.ok(shedding.p99_ms >= 1000, `shedding p99 ${shedding.p99_ms}: its 503s count at the timeout`);
  assert.equal(honest.error_rate, 0);
  assert.ok(shedding.error_rate > 0.2 && shedding.error_rate <= 0.26, `error rate ${shedding.error_rate}`);
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
