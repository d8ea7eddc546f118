// The quote service's Prometheus metrics. The names and labels are what the HyperAgent's
// objectives and canary analysis query, so they are part of the service's contract.
import { Counter, Histogram, Registry } from 'prom-client';

/**
 * Latency buckets fine enough between 1 and 200 ms that histogram_quantile tells a cache hit
 * (~1 ms), one pricing call (~20 ms) and two sequential calls (~40 ms) apart.
 */
export const LATENCY_BUCKETS = [
  0.002, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.06, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5,
];

export interface QuoteMetrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'code'>;
  httpDuration: Histogram<'method' | 'route' | 'code'>;
  cacheRequests: Counter<'result'>;
  pricingCalls: Counter<'endpoint' | 'outcome'>;
}

/** A fresh registry per server, so tests and the benchmark can run several in one process. */
export function createQuoteMetrics(): QuoteMetrics {
  const registry = new Registry();
  return {
    registry,
    httpRequests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route and status code.',
      labelNames: ['method', 'route', 'code'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by method, route and status code.',
      labelNames: ['method', 'route', 'code'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    cacheRequests: new Counter({
      name: 'quote_cache_requests_total',
      help: 'Quote cache lookups (prices and FX rates), by result.',
      labelNames: ['result'],
      registers: [registry],
    }),
    pricingCalls: new Counter({
      name: 'quote_pricing_calls_total',
      help: 'Attempts to call the pricing API, retries included, by endpoint and outcome.',
      labelNames: ['endpoint', 'outcome'],
      registers: [registry],
    }),
  };
}
