// Hot spots from a real Prometheus: a small service exports a request-duration histogram with a
// slow route and a fast one, Prometheus scrapes it every second with the labels the harness adds
// (namespace, pod), and the represent code must rank the slow route first and point at its module.
// Failures to measure (unreachable, not Prometheus, too slow) must leave a note, never throw.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import express from 'express';
import { Histogram, Registry } from 'prom-client';
import { measureRoutes } from '../../operator/src/represent/hot-spots.js';
import { buildServiceGraph } from '../../operator/src/represent/represent.js';

const NAMESPACE = 'shop';
const DEPLOYMENT = 'quote-service';
const WINDOW = '15s';

let work: string;
let prometheus: ChildProcess | undefined;
let prometheusLog = '';
let prometheusUrl: string;
let service: Server;
let serviceUrl: string;
let observing: NodeJS.Timeout;
const silent: NetServer[] = [];
const hanging: Socket[] = [];

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'hot-spots-'));
  const registry = new Registry();
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Request duration by route',
    labelNames: ['route', 'method'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  // Observed continuously so rate() over the window always has increases to work with:
  // /quote always lands in the (0.25, 0.5] bucket, /health in (0, 0.005].
  let tick = 0;
  observing = setInterval(() => {
    tick++;
    duration.observe({ route: '/quote', method: 'GET' }, 0.3 + (tick % 10) * 0.015);
    for (let i = 0; i < 4; i++) duration.observe({ route: '/health', method: 'GET' }, 0.002);
  }, 20);
  const app = express();
  app.get('/metrics', async (_request, response) => {
    response.type(registry.contentType).send(await registry.metrics());
  });
  service = await new Promise<Server>((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server));
  });
  serviceUrl = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;

  const binDir = execFileSync('bash', ['test/cluster/build-tools.sh', 'prometheus'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .pop();
  const port = await freePort();
  prometheusUrl = `http://127.0.0.1:${port}`;
  writeFileSync(
    join(work, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      'scrape_configs:',
      '  - job_name: quote',
      '    static_configs:',
      `      - targets: ['${serviceUrl.replace('http://', '')}']`,
      '        labels:',
      `          namespace: ${NAMESPACE}`,
      `          pod: ${DEPLOYMENT}-6d5f7c9b8-x2x9q`,
      '          container: quote',
      '',
    ].join('\n'),
  );
  prometheus = spawn(
    join(binDir ?? '', 'prometheus'),
    [
      `--config.file=${join(work, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(work, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  prometheus.stderr?.on('data', (chunk: Buffer) => (prometheusLog += chunk.toString()));
});

after(async () => {
  clearInterval(observing);
  if (prometheus && prometheus.exitCode === null) {
    const exited = new Promise((resolve) => prometheus?.once('exit', resolve));
    prometheus.kill('SIGTERM');
    await exited;
  }
  await new Promise((resolve) => service.close(resolve));
  for (const socket of hanging) socket.destroy();
  for (const server of silent) server.close();
  rmSync(work, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('the slowest route comes first with its p99 in the right bucket, tied to its module', async () => {
  const repo = join(work, 'service');
  mkdirSync(join(repo, 'src'), { recursive: true });
  writeFileSync(join(repo, 'src/quote.ts'), "router.get('/quote', async () => price());\n");
  writeFileSync(join(repo, 'src/health.ts'), "router.get('/health', () => 'ok');\n");
  writeFileSync(join(repo, 'src/quote.test.ts'), "get('/quote');\n");

  const deadline = Date.now() + 25_000;
  let graph = await buildServiceGraph(repo, {
    prometheus: {
      url: prometheusUrl,
      target: { namespace: NAMESPACE, deployment: DEPLOYMENT },
      window: WINDOW,
    },
  });
  while (graph.hotSpots.length < 2 && Date.now() < deadline) {
    assert.equal(prometheus?.exitCode, null, `prometheus exited: ${prometheusLog}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    graph = await buildServiceGraph(repo, {
      prometheus: {
        url: prometheusUrl,
        target: { namespace: NAMESPACE, deployment: DEPLOYMENT },
        window: WINDOW,
      },
    });
  }
  assert.equal(graph.hotSpots.length, 2, `no hot spots in time: ${graph.hotSpotsNote}\n${prometheusLog}`);
  assert.equal(graph.hotSpotsNote, undefined);
  const [slow, fast] = graph.hotSpots;
  assert.equal(slow?.route, '/quote');
  assert.equal(slow?.method, 'GET');
  assert.ok(slow && slow.p99Ms > 250 && slow.p99Ms <= 500, `p99 of /quote: ${slow?.p99Ms} ms`);
  assert.ok(slow?.rps !== undefined && slow.rps > 0, `rate of /quote: ${slow?.rps}`);
  assert.deepEqual(slow?.modules, ['src/quote.ts']);
  assert.equal(fast?.route, '/health');
  assert.ok(fast && fast.p99Ms > 0 && fast.p99Ms <= 5, `p99 of /health: ${fast?.p99Ms} ms`);
  assert.deepEqual(fast?.modules, ['src/health.ts']);
  // both counters move in the same tick, four /health per /quote, whatever the window extrapolates
  const ratio = (fast?.rps ?? 0) / slow.rps;
  assert.ok(ratio > 3.9 && ratio < 4.1, `request rate ratio /health to /quote: ${ratio}`);

  // the same series seen through another deployment's selector: nothing, and a note that says so
  const other = await measureRoutes({
    url: prometheusUrl,
    target: { namespace: NAMESPACE, deployment: 'other' },
    window: WINDOW,
  });
  assert.deepEqual(other.routes, []);
  assert.match(
    other.note ?? '',
    /has no latency by route for http_request_duration_seconds_bucket\{namespace="shop",pod=~"other-\.\*"\} over the last 15s/,
  );

  const topOne = await measureRoutes({
    url: prometheusUrl,
    selector: `namespace="${NAMESPACE}"`,
    window: WINDOW,
    top: 1,
  });
  assert.deepEqual(
    topOne.routes.map((route) => route.route),
    ['/quote'],
  );

  const rejected = await measureRoutes({ url: prometheusUrl, window: 'not-a-duration' });
  assert.match(
    rejected.note ?? '',
    /^Prometheus at http:\/\/127\.0\.0\.1:\d+ refused the query \(HTTP 400, bad_data\): .+\.$/,
  );
});

test('an unreachable, foreign or silent address gives a note, not an exception', async () => {
  const closed = await measureRoutes({ url: `http://127.0.0.1:${await freePort()}` });
  assert.deepEqual(closed.routes, []);
  assert.match(
    closed.note ?? '',
    /^cannot reach Prometheus at http:\/\/127\.0\.0\.1:(\d+): fetch failed: connect ECONNREFUSED 127\.0\.0\.1:\1\.$/,
  );

  const foreign = await measureRoutes({ url: serviceUrl });
  assert.match(
    foreign.note ?? '',
    /^Prometheus at http:\/\/127\.0\.0\.1:\d+ answered HTTP 404 Not Found: .*Cannot POST \/api\/v1\/query.*\.$/,
  );

  const listener = createServer((socket) => hanging.push(socket)); // accepts connections, never answers
  silent.push(listener);
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const started = Date.now();
  const slow = await measureRoutes({
    url: `http://127.0.0.1:${(listener.address() as AddressInfo).port}`,
    timeoutMs: 300,
  });
  assert.match(slow.note ?? '', /^Prometheus at http:\/\/127\.0\.0\.1:\d+ did not answer within 0\.3s\.$/);
  assert.ok(Date.now() - started < 3000);

  const invalid = await measureRoutes({ url: 'not a url' });
  assert.equal(invalid.note, "the Prometheus address 'not a url' is not a valid URL.");
});
