// The pricing API the quote service depends on, as a runnable stand-in (its own Deployment in the
// demo, an in-process server in tests and the benchmark). It is slow on purpose:
//   - every call costs PRICING_LATENCY_MS (20) plus PRICING_PER_SYMBOL_MS (0.05) per symbol;
//   - at most PRICING_CONCURRENCY (32) calls are served at once, the rest wait in FIFO order;
//   - more than PRICING_MAX_BATCH symbols in one call is refused with 413 (default: no limit);
//   - a share PRICING_FAULT_RATE (0) of calls fails at once with 503.
// Endpoints:
//   GET /prices?symbols=A,B  {"prices":{"A":12.3,"B":45.6}} (USD; any 1-5 letter symbol has one)
//   GET /prices              every listed symbol (PRICING_SYMBOLS, 500): the full price table
//   GET /rates?currency=EUR  {"rate":0.92} (units of the currency per USD)
//   GET /healthz, GET /metrics
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { readInteger, readNumber, type Env } from './env.js';
import {
  GracefulShutdown,
  configOrExit,
  exitOnSignal,
  isMain,
  listen,
  requestUrl,
  sendJson,
  sendText,
} from './http-util.js';
import { listedSymbols } from './symbols.js';

export interface PricingOptions {
  latencyMs: number;
  perSymbolMs: number;
  concurrency: number;
  /** Most symbols one /prices call may ask for; Infinity for no limit. */
  maxBatch: number;
  faultRate: number;
  /** How many symbols GET /prices without `symbols` returns. */
  listed: number;
  /** Source of randomness for fault injection (tests pass a scripted one). */
  random?: () => number;
  /** Told about every call once answered (tests watch the batches with it). */
  onCall?: (call: PricingCall) => void;
}

type Endpoint = 'prices' | 'rates';

export interface PricingCall {
  endpoint: Endpoint;
  /** The symbols asked for (empty for /rates). */
  symbols: string[];
  status: number;
}

export const DEFAULT_PRICING_OPTIONS: PricingOptions = {
  latencyMs: 20,
  perSymbolMs: 0.05,
  concurrency: 32,
  maxBatch: Number.POSITIVE_INFINITY,
  faultRate: 0,
  listed: 500,
};

/** Units of each currency one USD buys. Fixed: the demo needs a deterministic downstream. */
export const FX_RATES: Readonly<Record<string, number>> = {
  USD: 1,
  EUR: 0.92,
  GBP: 0.79,
  JPY: 151.4,
  CHF: 0.88,
};

const SYMBOL = /^[A-Z]{1,5}$/;

export function pricingOptionsFromEnv(env: Env): PricingOptions {
  const maxBatch = readInteger(env, 'PRICING_MAX_BATCH', 0, { min: 0, max: 1_000_000 });
  return {
    latencyMs: readNumber(env, 'PRICING_LATENCY_MS', DEFAULT_PRICING_OPTIONS.latencyMs, {
      min: 0,
      max: 60_000,
    }),
    perSymbolMs: readNumber(env, 'PRICING_PER_SYMBOL_MS', DEFAULT_PRICING_OPTIONS.perSymbolMs, {
      min: 0,
      max: 1_000,
    }),
    concurrency: readInteger(env, 'PRICING_CONCURRENCY', DEFAULT_PRICING_OPTIONS.concurrency, {
      min: 1,
      max: 10_000,
    }),
    // 0 (the default) means no limit.
    maxBatch: maxBatch === 0 ? Number.POSITIVE_INFINITY : maxBatch,
    faultRate: readNumber(env, 'PRICING_FAULT_RATE', DEFAULT_PRICING_OPTIONS.faultRate, { min: 0, max: 1 }),
    listed: readInteger(env, 'PRICING_SYMBOLS', DEFAULT_PRICING_OPTIONS.listed, { min: 1, max: 100_000 }),
  };
}

/** The USD price of a symbol: a hash of its letters mapped to 5.00..999.99, so always the same. */
export function priceOf(symbol: string): number {
  let hash = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < symbol.length; i++) {
    hash = Math.imul(hash ^ symbol.charCodeAt(i), 0x01000193) >>> 0;
  }
  return 5 + (hash % 99_500) / 100;
}

export interface PricingApp {
  server: Server;
  registry: Registry;
  close(): Promise<void>;
}

export interface RunningPricingServer extends PricingApp {
  url: string;
}

export function createPricingServer(overrides: Partial<PricingOptions> = {}): PricingApp {
  const options = { ...DEFAULT_PRICING_OPTIONS, ...overrides };
  const random = options.random ?? Math.random;
  const table = listedSymbols(options.listed);
  const slots = new Slots(options.concurrency);
  const registry = new Registry();
  const metrics = pricingMetrics(registry, slots);

  const server = createServer((req, res) => {
    shutdown.track(res);
    const url = requestUrl(req);
    const answer = (endpoint: Endpoint, symbols: string[], status: number, body: unknown) => {
      sendJson(res, status, body);
      metrics.requests.inc({ endpoint, code: String(status) });
      options.onCall?.({ endpoint, symbols, status });
    };
    if (req.method !== 'GET') return sendJson(res, 405, { error: 'only GET is supported' });
    switch (url.pathname) {
      case '/healthz':
        return sendText(
          res,
          shutdown.shuttingDown ? 503 : 200,
          shutdown.shuttingDown ? 'shutting down\n' : 'ok\n',
        );
      case '/metrics':
        return void registry.metrics().then((text) => sendText(res, 200, text, registry.contentType));
      case '/prices': {
        const param = url.searchParams.get('symbols');
        const symbols = param === null ? table : [...new Set(param.split(',').filter((s) => s !== ''))];
        if (symbols.length === 0 || !symbols.every((s) => SYMBOL.test(s))) {
          return answer('prices', symbols, 400, {
            error: 'symbols must be 1 to 5 capital letters, comma-separated',
          });
        }
        if (symbols.length > options.maxBatch) {
          return answer('prices', symbols, 413, {
            error: `at most ${options.maxBatch} symbols per call, got ${symbols.length}`,
          });
        }
        metrics.batchSize.observe(symbols.length);
        return void serve(
          symbols.length,
          (status, body) => answer('prices', symbols, status, body),
          () => ({
            prices: Object.fromEntries(symbols.map((s) => [s, priceOf(s)])),
          }),
        );
      }
      case '/rates': {
        const rate = FX_RATES[url.searchParams.get('currency') ?? ''];
        if (rate === undefined) {
          return answer('rates', [], 400, {
            error: `currency must be one of ${Object.keys(FX_RATES).join(', ')}`,
          });
        }
        return void serve(
          0,
          (status, body) => answer('rates', [], status, body),
          () => ({ rate }),
        );
      }
      default:
        return sendJson(res, 404, { error: 'not found' });
    }
  });
  const shutdown = new GracefulShutdown(server);

  /** Fails fast with a fault, or waits for a slot and the call's cost, then answers. */
  async function serve(
    symbolCount: number,
    reply: (status: number, body: unknown) => void,
    body: () => unknown,
  ): Promise<void> {
    if (random() < options.faultRate) return reply(503, { error: 'injected fault' });
    const started = performance.now();
    await slots.acquire();
    try {
      await sleep(options.latencyMs + options.perSymbolMs * symbolCount);
    } finally {
      slots.release();
    }
    reply(200, body());
    metrics.duration.observe(
      { endpoint: symbolCount > 0 ? 'prices' : 'rates' },
      (performance.now() - started) / 1000,
    );
  }

  return { server, registry, close: () => shutdown.close() };
}

export async function startPricingServer(
  options: Partial<PricingOptions> = {},
  port = 0,
  host?: string,
): Promise<RunningPricingServer> {
  const app = createPricingServer(options);
  return { ...app, url: await listen(app.server, port, host) };
}

/** A counting semaphore that hands out free slots in arrival order. */
class Slots {
  private busy = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  get inUse(): number {
    return this.busy;
  }

  get waiting(): number {
    return this.queue.length;
  }

  acquire(): Promise<void> {
    if (this.busy < this.limit) {
      this.busy++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queue.push(resolve));
  }

  release(): void {
    const next = this.queue.shift();
    if (next)
      next(); // the slot passes straight to the next caller
    else this.busy--;
  }
}

function pricingMetrics(registry: Registry, slots: Slots) {
  return {
    requests: new Counter({
      name: 'pricing_requests_total',
      help: 'Pricing API calls answered, by endpoint and status code.',
      labelNames: ['endpoint', 'code'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'pricing_request_duration_seconds',
      help: 'Time from arrival to answer of successful calls, queueing included.',
      labelNames: ['endpoint'],
      buckets: [0.005, 0.01, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'pricing_batch_symbols',
      help: 'Symbols per accepted /prices call.',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'pricing_calls_in_flight',
      help: 'Calls holding a slot now.',
      registers: [registry],
      collect() {
        this.set(slots.inUse);
      },
    }),
    queued: new Gauge({
      name: 'pricing_calls_queued',
      help: 'Calls waiting for a slot now.',
      registers: [registry],
      collect() {
        this.set(slots.waiting);
      },
    }),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

if (isMain(import.meta.url)) {
  const options = configOrExit(() => pricingOptionsFromEnv(process.env));
  const port = configOrExit(() => readInteger(process.env, 'PORT', 8080, { min: 0, max: 65_535 }));
  const app = await startPricingServer(options, port);
  collectDefaultMetrics({ register: app.registry });
  exitOnSignal(app.close);
  const limit = Number.isFinite(options.maxBatch) ? options.maxBatch : 'none';
  console.error(`pricing listening on ${app.url} with ${JSON.stringify({ ...options, maxBatch: limit })}`);
}
