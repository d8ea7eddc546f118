// A quote: the price of a symbol in the currency asked for, i.e. its USD price times the FX rate.
// Both come from the pricing API, through the cache when one is configured.
import type { TtlLruCache } from './cache.js';
import type { PricingClient } from './pricing-client.js';

export const CURRENCIES = ['USD', 'EUR', 'GBP', 'JPY', 'CHF'] as const;
export type Currency = (typeof CURRENCIES)[number];

export const SYMBOL_PATTERN = /^[A-Z]{1,5}$/;

export interface Quote {
  symbol: string;
  currency: Currency;
  price: number;
}

/** The request itself is wrong: answer 400, do not bother the pricing API. */
export class InvalidQuoteRequest extends Error {
  override readonly name = 'InvalidQuoteRequest';
}

export type CacheResult = 'hit' | 'miss';

export interface QuoteDependencies {
  pricing: Pick<PricingClient, 'price' | 'rate'>;
  /** Holds prices under `price:<symbol>` and FX rates under `rate:<currency>`. */
  cache: TtlLruCache<number>;
  /** Lifetime of a cached FX rate (prices use the cache's own TTL). */
  rateTtlMs: number;
  /** Told about every cache lookup (for quote_cache_requests_total). */
  onCacheLookup?: (result: CacheResult) => void;
}

export class QuoteService {
  constructor(private readonly deps: QuoteDependencies) {}

  async quote(symbol: string, currency: string): Promise<Quote> {
    if (!SYMBOL_PATTERN.test(symbol)) {
      throw new InvalidQuoteRequest('symbol must be 1 to 5 capital letters');
    }
    if (!isCurrency(currency)) {
      throw new InvalidQuoteRequest(`currency must be one of ${CURRENCIES.join(', ')}`);
    }
    const rate = await this.rate(currency);
    const usd = await this.price(symbol);
    return { symbol, currency, price: Math.round(usd * rate * 100) / 100 };
  }

  private rate(currency: Currency): Promise<number> {
    return this.cached(`rate:${currency}`, this.deps.rateTtlMs, () => this.deps.pricing.rate(currency));
  }

  private price(symbol: string): Promise<number> {
    return this.cached(`price:${symbol}`, undefined, () => this.deps.pricing.price(symbol));
  }

  private async cached(key: string, ttlMs: number | undefined, load: () => Promise<number>): Promise<number> {
    const hit = this.deps.cache.get(key);
    this.deps.onCacheLookup?.(hit === undefined ? 'miss' : 'hit');
    if (hit !== undefined) return hit;
    const value = await load();
    this.deps.cache.set(key, value, ttlMs);
    return value;
  }
}

function isCurrency(value: string): value is Currency {
  return (CURRENCIES as readonly string[]).includes(value);
}
