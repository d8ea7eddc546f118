// The quote service's settings. Every tunable the HyperAgent explores is a plain environment
// variable, so a parameter candidate is "the same image with other env values".
import { readInteger, readUrl, type Env } from './env.js';

export interface Config {
  /** Port to listen on; 0 picks a free one (tests, benchmark). */
  port: number;
  /** Base URL of the pricing API. */
  pricingUrl: string;
  /** Most entries the quote cache holds (prices and FX rates together); 0 disables caching. */
  cacheSize: number;
  /** How long a cached price stays fresh. */
  cacheTtlMs: number;
  /**
   * How long a cached FX rate stays fresh. Rates move far more slowly than prices; with the price
   * TTL every currency would expire every few seconds, and a request that misses both its rate and
   * its price pays two sequential downstream calls.
   */
  rateTtlMs: number;
  /** How long a price miss waits for others to share one downstream call; 0 calls at once. */
  batchWindowMs: number;
  /** Extra attempts after a 5xx, a timeout or a network error from the pricing API. */
  retries: number;
  /** Time limit of one attempt against the pricing API. */
  timeoutMs: number;
}

const DAY_MS = 86_400_000;

export function loadConfig(env: Env = process.env): Config {
  return {
    port: readInteger(env, 'PORT', 8080, { min: 0, max: 65_535 }),
    pricingUrl: readUrl(env, 'PRICING_URL', 'http://pricing:8080'),
    cacheSize: readInteger(env, 'QUOTE_CACHE_SIZE', 0, { min: 0, max: 1_000_000 }),
    cacheTtlMs: readInteger(env, 'QUOTE_CACHE_TTL_MS', 5_000, { min: 1, max: DAY_MS }),
    rateTtlMs: readInteger(env, 'QUOTE_RATE_TTL_MS', 60_000, { min: 1, max: DAY_MS }),
    batchWindowMs: readInteger(env, 'QUOTE_BATCH_WINDOW_MS', 0, { min: 0, max: 1_000 }),
    retries: readInteger(env, 'QUOTE_RETRIES', 2, { min: 0, max: 10 }),
    timeoutMs: readInteger(env, 'QUOTE_TIMEOUT_MS', 1_000, { min: 1, max: 60_000 }),
  };
}
