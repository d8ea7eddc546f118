// The benchmark the HyperAgent's sandbox runs for every candidate (5 runs each). It starts the
// pricing stand-in and the quote service in this process on loopback, with the quote service
// configured from the environment exactly as in production (the sandbox sets a candidate's
// parameters as env vars: QUOTE_CACHE_SIZE, QUOTE_BATCH_WINDOW_MS, QUOTE_RETRIES...). It then
// replays a fixed, seeded request sequence with the load generator's symbol mix, open loop at
// a constant rate: a short warm-up, then the measured part. Latency is measured client-side.
//
// stdout gets exactly one line, a JSON object of figures, for example
//   {"p99_ms":21.9,"p90_ms":21.4,"p50_ms":1.1,"mean_ms":7.9,"max_ms":23.1,"error_rate":0,"requests":450}
// which is also written to the file named by --json or $HYPERAGENT_BENCHMARK_OUTPUT when given.
// Logs go to stderr. One run takes about 4 s.
//
// BENCH_RPS (150), BENCH_SECONDS (3) and BENCH_WARMUP_SECONDS (0.5) change the load; PRICING_*
// variables change the stand-in (by default it is the production pricing API without its batch
// limit, which the sandbox does not model).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { readNumber } from '../src/env.js';
import { summarize } from '../src/latency.js';
import { openLoop } from '../src/open-loop.js';
import { pricingOptionsFromEnv, startPricingServer } from '../src/pricing-server.js';
import { QuoteClient, type QuoteResult } from '../src/quote-client.js';
import { start } from '../src/server.js';
import { createWorkload } from '../src/workload.js';

/** The same request sequence on every run: run-to-run differences are the service's. */
const SEED = 20_240_601;

const { values } = parseArgs({ options: { json: { type: 'string' } } });
const rps = readNumber(process.env, 'BENCH_RPS', 150, { min: 1, max: 5_000 });
const seconds = readNumber(process.env, 'BENCH_SECONDS', 3, { min: 0.1, max: 600 });
const warmupSeconds = readNumber(process.env, 'BENCH_WARMUP_SECONDS', 0.5, { min: 0, max: 600 });

const pricing = await startPricingServer(pricingOptionsFromEnv(process.env), 0, '127.0.0.1');
const config = loadConfig({ ...process.env, PORT: '0', PRICING_URL: pricing.url });
const quote = await start(config, '127.0.0.1');
const client = new QuoteClient({
  endpoint: `${quote.url}/quote`,
  timeoutMs: 2_000,
  requestsPerConnection: 10,
});
const nextRequest = createWorkload({ seed: SEED });
console.error(
  `bench: ${rps} rps, ${warmupSeconds} s warm-up + ${seconds} s measured, config ${JSON.stringify(config)}`,
);

// Warm-up: JIT, connections, and the cache's first fills, none of it measured.
await openLoop({ rps, durationMs: warmupSeconds * 1000 }, () => client.get(nextRequest())).done;

const results: QuoteResult[] = [];
await openLoop({ rps, durationMs: seconds * 1000 }, async () => {
  results.push(await client.get(nextRequest()));
}).done;

const latency = summarize(results.map((result) => result.seconds * 1000));
const failed = results.filter((result) => result.outcome !== 'ok').length;
const round = (value: number) => Math.round(value * 100) / 100;
const figures = {
  p99_ms: round(latency.p99),
  p90_ms: round(latency.p90),
  p50_ms: round(latency.p50),
  mean_ms: round(latency.mean),
  max_ms: round(latency.max),
  error_rate: results.length === 0 ? 1 : round((failed / results.length) * 10_000) / 10_000,
  requests: results.length,
};

const counters = await quote.metrics.registry.getMetricsAsJSON();
const count = (name: string) =>
  counters
    .find((metric) => metric.name === name)
    ?.values.map((value) => `${Object.values(value.labels).join('/')}=${value.value}`)
    .join(' ');
console.error(
  `bench: cache ${count('quote_cache_requests_total')}; pricing calls ${count('quote_pricing_calls_total')}`,
);

client.close();
await Promise.all([quote.close(), pricing.close()]);
const line = JSON.stringify(figures);
for (const path of [values.json, process.env.HYPERAGENT_BENCHMARK_OUTPUT]) {
  if (!path) continue;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${line}\n`);
}
process.stdout.write(`${line}\n`);
// The pricing client's pooled keep-alive connections would hold the process open a few seconds.
process.exit(0);
