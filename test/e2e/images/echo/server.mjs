// The e2e fixture server: answers every path with JSON naming the pod (hostname), the VERSION it was
// deployed with and the path asked for, so tests can tell replicas and rollouts apart; serves
// Prometheus metrics on /metrics. Listens on PORT (default 8080) and exits cleanly on SIGTERM.
import console from 'node:console';
import http from 'node:http';
import os from 'node:os';
import process from 'node:process';
import { setTimeout } from 'node:timers';
import { URL } from 'node:url';
import client from 'prom-client';

const port = Number(process.env.PORT ?? 8080);
const version = process.env.VERSION ?? 'unknown';
const hostname = os.hostname();
/** How long in-flight requests get to finish after SIGTERM before the process exits anyway. */
const drainMs = 5000;

const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });
const requests = new client.Counter({
  name: 'echo_requests_total',
  help: 'Requests answered with the echo JSON (every path but /metrics), by HTTP status code.',
  labelNames: ['code'],
  registers: [registry],
});

const durations = new client.Histogram({
  name: 'echo_request_duration_seconds',
  help: 'Time from a request reaching the handler to its answer being sent, by HTTP status code.',
  labelNames: ['code'],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [registry],
});

async function serveMetrics(res) {
  const body = await registry.metrics();
  res.writeHead(200, { 'content-type': registry.contentType });
  res.end(body);
}

function serveEcho(req, res, path) {
  const started = process.hrtime.bigint();
  res.on('finish', () => {
    const code = String(res.statusCode);
    requests.inc({ code });
    durations.observe({ code }, Number(process.hrtime.bigint() - started) / 1e9);
  });
  const body = JSON.stringify({ hostname, version, path });
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(`${body}\n`);
}

const server = http.createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path === '/metrics') {
    serveMetrics(res).catch((error) => {
      console.error('echo: metrics failed:', error);
      res.writeHead(500).end();
    });
    return;
  }
  serveEcho(req, res, path);
});

function shutdown(signal) {
  console.error(`echo: ${signal}, closing`);
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), drainMs).unref();
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

server.listen(port, () => {
  console.error(`echo: ${hostname} version ${version} listening on :${port}`);
});
