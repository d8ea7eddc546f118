// The load generator: quotes at a constant rate against the quote service, forever or for
// --duration seconds, with the Zipf symbol mix of workload.ts. It counts what clients see,
// failures included, in its own metrics on --metrics-port:
//   loadgen_requests_total{outcome}            ok | http_4xx | http_5xx | error (refused, reset, timeout)
//   loadgen_request_duration_seconds{outcome}  histogram
// and prints a one-line summary every 10 seconds (and one for the whole run at the end).
//
//   node --import tsx src/loadgen.ts --url http://localhost:8080/quote --rps 40 --duration 60
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { exitOnSignal, listen } from './http-util.js';
import { summarize, type LatencySummary } from './latency.js';
import { LATENCY_BUCKETS } from './metrics.js';
import { openLoop } from './open-loop.js';
import { QuoteClient, type Outcome, type QuoteResult } from './quote-client.js';
import { createWorkload } from './workload.js';

const USAGE = `usage: loadgen [--url http://localhost:8080/quote] [--rps 40] [--duration seconds]
               [--symbols 500] [--metrics-port 9464 (0: none)] [--timeout-ms 2000]
               [--requests-per-connection 10] [--summary-seconds 10] [--seed n]`;

interface LoadOptions {
  url: string;
  rps: number;
  durationSeconds: number | undefined;
  symbols: number;
  metricsPort: number;
  timeoutMs: number;
  requestsPerConnection: number;
  summarySeconds: number;
  seed: number;
}

function parseOptions(argv: string[]): LoadOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string', default: 'http://localhost:8080/quote' },
      rps: { type: 'string', default: '40' },
      duration: { type: 'string' },
      symbols: { type: 'string', default: '500' },
      'metrics-port': { type: 'string', default: '9464' },
      'timeout-ms': { type: 'string', default: '2000' },
      'requests-per-connection': { type: 'string', default: '10' },
      'summary-seconds': { type: 'string', default: '10' },
      seed: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const number = (name: string, text: string, min: number, max: number): number => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
      throw new UsageError(`--${name} must be a number from ${min} to ${max}, got "${text}"`);
    }
    return value;
  };
  return {
    url: values.url,
    rps: number('rps', values.rps, 0.1, 10_000),
    durationSeconds:
      values.duration === undefined ? undefined : number('duration', values.duration, 0.1, 1e7),
    symbols: Math.round(number('symbols', values.symbols, 1, 100_000)),
    metricsPort: Math.round(number('metrics-port', values['metrics-port'], 0, 65_535)),
    timeoutMs: number('timeout-ms', values['timeout-ms'], 1, 600_000),
    requestsPerConnection: Math.round(
      number('requests-per-connection', values['requests-per-connection'], 1, 1e9),
    ),
    summarySeconds: number('summary-seconds', values['summary-seconds'], 0.1, 86_400),
    seed: values.seed === undefined ? Date.now() : Math.round(number('seed', values.seed, 0, 2 ** 32 - 1)),
  };
}

class UsageError extends Error {}

/** Counts of one summary period (or of the whole run). */
class Tally {
  readonly outcomes: Record<Outcome, number> = { ok: 0, http_4xx: 0, http_5xx: 0, error: 0 };
  readonly okSeconds: number[] = [];
  readonly errors = new Map<string, number>();

  add(result: QuoteResult): void {
    this.outcomes[result.outcome]++;
    if (result.outcome === 'ok') this.okSeconds.push(result.seconds);
    if (result.error !== undefined) this.errors.set(result.error, (this.errors.get(result.error) ?? 0) + 1);
  }

  line(label: string): string {
    const { ok, http_4xx, http_5xx, error } = this.outcomes;
    const total = ok + http_4xx + http_5xx + error;
    const latency = summarize(this.okSeconds.map((seconds) => seconds * 1000));
    const errors = [...this.errors].map(([message, count]) => `${count}x ${message}`).join('; ');
    return (
      `loadgen ${label}: ${total} answered, ${ok} ok, ${http_4xx} 4xx, ${http_5xx} 5xx, ${error} errors; ` +
      `ok latency ${formatLatency(latency)}${errors ? `; errors: ${errors}` : ''}`
    );
  }
}

function formatLatency(latency: LatencySummary): string {
  if (latency.count === 0) return 'n/a';
  const ms = (value: number) => value.toFixed(1);
  return `p50 ${ms(latency.p50)} ms, p90 ${ms(latency.p90)} ms, p99 ${ms(latency.p99)} ms, max ${ms(latency.max)} ms`;
}

async function main(): Promise<void> {
  let options: LoadOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    process.exit(2);
  }

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'loadgen_requests_total',
    help: 'Quote requests sent by the load generator, by what the client saw.',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'loadgen_request_duration_seconds',
    help: 'Client-side time of quote requests, by outcome.',
    labelNames: ['outcome'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  for (const outcome of ['ok', 'http_4xx', 'http_5xx', 'error']) requests.inc({ outcome }, 0);
  if (options.metricsPort > 0) {
    const metricsServer = createServer((_req, res) => {
      void registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      });
    });
    await listen(metricsServer, options.metricsPort);
    metricsServer.unref();
  }

  const client = new QuoteClient({
    endpoint: options.url,
    timeoutMs: options.timeoutMs,
    requestsPerConnection: options.requestsPerConnection,
  });
  const nextRequest = createWorkload({ symbols: options.symbols, seed: options.seed });
  const started = performance.now();
  const total = new Tally();
  let period = new Tally();
  const summaries = setInterval(() => {
    const elapsed = ((performance.now() - started) / 1000).toFixed(0);
    process.stdout.write(`${period.line(`last ${options.summarySeconds}s (at ${elapsed}s)`)}\n`);
    period = new Tally();
  }, options.summarySeconds * 1000);

  console.error(`loadgen: ${options.rps} rps against ${options.url}, ${options.symbols} symbols`);
  const loop = openLoop(
    {
      rps: options.rps,
      durationMs: options.durationSeconds === undefined ? undefined : options.durationSeconds * 1000,
    },
    async () => {
      const result = await client.get(nextRequest());
      requests.inc({ outcome: result.outcome });
      duration.observe({ outcome: result.outcome }, result.seconds);
      total.add(result);
      period.add(result);
    },
  );
  let finished: Promise<void> | undefined;
  const finish = () =>
    (finished ??= (async () => {
      await loop.stop();
      clearInterval(summaries);
      client.close();
      const elapsed = ((performance.now() - started) / 1000).toFixed(1);
      process.stdout.write(`${total.line(`total ${elapsed}s`)}\n`);
    })());
  exitOnSignal(finish, options.timeoutMs + 5_000);
  await loop.done;
  await finish();
}

await main();
