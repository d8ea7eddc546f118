// The quote service's HTTP server:
//   GET /quote?symbol=ACME&currency=EUR  200 {"symbol","currency","price"}; 400 bad input;
//                                        502 when the pricing API fails after retries
//   GET /healthz                         200 while serving, 503 once shutting down
//   GET /metrics                         Prometheus metrics
// `start` runs it in-process (tests, benchmark); run this file to serve on $PORT.
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { collectDefaultMetrics } from 'prom-client';
import { TtlLruCache } from './cache.js';
import { loadConfig, type Config } from './config.js';
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
import { createQuoteMetrics, type QuoteMetrics } from './metrics.js';
import { PricingClient, PricingError } from './pricing-client.js';
import { InvalidQuoteRequest, QuoteService } from './quote.js';

const ROUTES = new Set(['/quote', '/healthz', '/metrics']);

export interface QuoteApp {
  server: Server;
  metrics: QuoteMetrics;
  /** Stops accepting connections, lets the requests in flight finish, then resolves. */
  close(): Promise<void>;
}

export interface RunningQuoteServer extends QuoteApp {
  /** Base URL, such as http://127.0.0.1:40123. */
  url: string;
}

/** The server with its cache, pricing client and metrics, not yet listening. */
export function createServer(config: Config): QuoteApp {
  const metrics = createQuoteMetrics();
  const pricing = new PricingClient({
    baseUrl: config.pricingUrl,
    retries: config.retries,
    timeoutMs: config.timeoutMs,
    batchWindowMs: config.batchWindowMs,
    onCall: (endpoint, outcome) => metrics.pricingCalls.inc({ endpoint, outcome }),
  });
  const quotes = new QuoteService({
    pricing,
    cache: new TtlLruCache<number>(config.cacheSize, config.cacheTtlMs),
    rateTtlMs: config.rateTtlMs,
    onCacheLookup: (result) => metrics.cacheRequests.inc({ result }),
  });
  const log = throttledLog(1_000);

  const server = createHttpServer((req, res) => {
    shutdown.track(res);
    const started = performance.now();
    const url = requestUrl(req);
    const route = ROUTES.has(url.pathname) ? url.pathname : 'unmatched';
    res.once('close', () => {
      // A client that gave up before the answer is counted as 499, as nginx does.
      const code = res.writableFinished ? String(res.statusCode) : '499';
      const labels = { method: req.method ?? 'GET', route, code };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, (performance.now() - started) / 1000);
    });
    handle(req, res, url, route).catch((error: unknown) => {
      console.error('unexpected error', error);
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    });
  });
  const shutdown = new GracefulShutdown(server);

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL, route: string): Promise<void> {
    if (route === 'unmatched') return sendJson(res, 404, { error: 'not found' });
    if (req.method !== 'GET') return sendJson(res, 405, { error: 'only GET is supported' });
    if (route === '/healthz') {
      return shutdown.shuttingDown ? sendText(res, 503, 'shutting down\n') : sendText(res, 200, 'ok\n');
    }
    if (route === '/metrics') {
      return sendText(res, 200, await metrics.registry.metrics(), metrics.registry.contentType);
    }
    const symbol = url.searchParams.get('symbol') ?? '';
    const currency = url.searchParams.get('currency') ?? 'USD';
    try {
      sendJson(res, 200, await quotes.quote(symbol, currency));
    } catch (error) {
      if (error instanceof InvalidQuoteRequest) return sendJson(res, 400, { error: error.message });
      if (error instanceof PricingError) {
        log(`502 for ${symbol}/${currency}: ${error.message}`);
        return sendJson(res, 502, { error: 'pricing unavailable' });
      }
      throw error;
    }
  }

  return { server, metrics, close: () => shutdown.close() };
}

/** Creates the server and listens on `config.port` (0: any free port). */
export async function start(config: Config, host?: string): Promise<RunningQuoteServer> {
  const app = createServer(config);
  const url = await listen(app.server, config.port, host);
  return { ...app, url };
}

/** At most one line per `intervalMs`, with a count of the lines left out: a failing downstream
 * at 40 requests a second should not flood the log. */
function throttledLog(intervalMs: number): (line: string) => void {
  let last = 0;
  let skipped = 0;
  return (line) => {
    const now = Date.now();
    if (now - last < intervalMs) {
      skipped++;
      return;
    }
    console.error(skipped > 0 ? `${line} (and ${skipped} more)` : line);
    last = now;
    skipped = 0;
  };
}

if (isMain(import.meta.url)) {
  const config = configOrExit(loadConfig);
  const app = await start(config);
  collectDefaultMetrics({ register: app.metrics.registry });
  exitOnSignal(app.close);
  console.error(`quote-service listening on ${app.url} with ${JSON.stringify(config)}`);
}
