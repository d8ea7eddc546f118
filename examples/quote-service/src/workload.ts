// What the traffic asks for: symbols with Zipf-like popularity (a few are asked for all the time,
// most rarely, as on a real exchange) and currencies by fixed weights. Seeded, so the benchmark
// replays exactly the same requests on every run; the load generator seeds from the clock.
import type { Currency } from './quote.js';
import { listedSymbols } from './symbols.js';

export interface QuoteRequest {
  symbol: string;
  currency: Currency;
}

export const CURRENCY_WEIGHTS: readonly [Currency, number][] = [
  ['USD', 0.45],
  ['EUR', 0.25],
  ['GBP', 0.15],
  ['JPY', 0.1],
  ['CHF', 0.05],
];

export interface WorkloadOptions {
  /** How many listed symbols are asked for (the popularity ranks 1..symbols). */
  symbols: number;
  /** Zipf exponent: the symbol of rank r is asked for in proportion to 1 / r^exponent. */
  exponent: number;
  seed: number;
}

export const DEFAULT_WORKLOAD: WorkloadOptions = { symbols: 500, exponent: 1.1, seed: 1 };

/** An endless stream of quote requests. */
export function createWorkload(overrides: Partial<WorkloadOptions> = {}): () => QuoteRequest {
  const options = { ...DEFAULT_WORKLOAD, ...overrides };
  const random = seededRandom(options.seed);
  const symbols = listedSymbols(options.symbols);
  const pickSymbol = weightedPicker(symbols.map((_, rank) => 1 / (rank + 1) ** options.exponent));
  const pickCurrency = weightedPicker(CURRENCY_WEIGHTS.map(([, weight]) => weight));
  return () => ({
    symbol: symbols[pickSymbol(random())] as string,
    currency: (CURRENCY_WEIGHTS[pickCurrency(random())] as [Currency, number])[0],
  });
}

/** Maps a uniform number in [0, 1) to an index, each in proportion to its weight. */
function weightedPicker(weights: number[]): (uniform: number) => number {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const cumulative: number[] = [];
  let running = 0;
  for (const weight of weights) cumulative.push((running += weight / total));
  return (uniform) => {
    let low = 0;
    let high = cumulative.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (uniform < (cumulative[middle] as number)) high = middle;
      else low = middle + 1;
    }
    return low;
  };
}

/** mulberry32: a small, fast, seedable generator of numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
