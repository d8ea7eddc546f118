// Test helpers: the pricing stand-in and the quote service on loopback ports, torn down after
// each test, with the pricing calls recorded for the tests to look at.
import type { TestContext } from 'node:test';
import { loadConfig, type Config } from '../src/config.js';
import { startPricingServer, type PricingCall, type PricingOptions } from '../src/pricing-server.js';
import { start, type RunningQuoteServer } from '../src/server.js';

/** A fast pricing stand-in (2 ms a call unless told otherwise) that records every call. */
export async function pricingFor(t: TestContext, options: Partial<PricingOptions> = {}) {
  const calls: PricingCall[] = [];
  const pricing = await startPricingServer(
    { latencyMs: 2, ...options, onCall: (call) => calls.push(call) },
    0,
    '127.0.0.1',
  );
  t.after(() => pricing.close());
  return { url: pricing.url, calls };
}

/** The quote service with its defaults, overridden by `env`, against `pricingUrl`. */
export async function quoteServerFor(
  t: TestContext,
  pricingUrl: string,
  env: Record<string, string> = {},
): Promise<RunningQuoteServer & { config: Config }> {
  const config = loadConfig({ ...env, PORT: '0', PRICING_URL: pricingUrl });
  const server = await start(config, '127.0.0.1');
  t.after(() => server.close());
  return { ...server, config };
}

/** A random(), for fault injection, that returns the given numbers in turn, then 1 (no fault). */
export function scripted(...values: number[]): () => number {
  return () => values.shift() ?? 1;
}
