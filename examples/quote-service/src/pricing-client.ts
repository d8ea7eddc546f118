// The pricing API client: prices by symbol (GET /prices?symbols=A,B), FX rates by currency
// (GET /rates?currency=EUR). Price lookups go through a Batcher, so with a batch window the misses
// of concurrent requests share calls. Every call is retried on a 5xx, a timeout or a network error.
import { Agent, get as httpGet } from 'node:http';
import { Agent as HttpsAgent, get as httpsGet } from 'node:https';
import { Batcher } from './batcher.js';

/**
 * Most symbols one /prices call may carry. The production pricing API answers 413 to larger
 * batches, so the batcher never builds one.
 */
export const MAX_SYMBOLS_PER_CALL = 16;

export type PricingEndpoint = 'prices' | 'rates';
export type CallOutcome = 'ok' | 'http_4xx' | 'http_5xx' | 'timeout' | 'error';

export interface PricingClientOptions {
  baseUrl: string;
  retries: number;
  timeoutMs: number;
  batchWindowMs: number;
  /** Told about every attempt (for the quote_pricing_calls_total metric). */
  onCall?: (endpoint: PricingEndpoint, outcome: CallOutcome) => void;
}

/** The pricing API could not answer, after any retries. */
export class PricingError extends Error {
  override readonly name = 'PricingError';

  constructor(
    message: string,
    readonly outcome: Exclude<CallOutcome, 'ok'>,
    readonly status?: number,
  ) {
    super(message);
  }

  /** Worth another attempt: the API or the network may do better next time; a 4xx will not. */
  get retryable(): boolean {
    return this.outcome !== 'http_4xx';
  }
}

/** First backoff; each further retry waits twice as long (plus jitter). */
const BACKOFF_MS = 10;

/**
 * Idle keep-alive connections are closed before the server's keep-alive timeout (5 s in node),
 * so that a request never picks a connection the server is closing at that moment.
 */
const IDLE_CONNECTION_MS = 4_000;

export class PricingClient {
  private readonly prices: Batcher<number>;
  private readonly agent: Agent;

  constructor(private readonly options: PricingClientOptions) {
    const agentOptions = { keepAlive: true, timeout: IDLE_CONNECTION_MS };
    this.agent = options.baseUrl.startsWith('https:')
      ? new HttpsAgent(agentOptions)
      : new Agent(agentOptions);
    this.prices = new Batcher<number>({
      windowMs: options.batchWindowMs,
      maxKeys: MAX_SYMBOLS_PER_CALL,
      fetch: (symbols) => this.fetchPrices(symbols),
    });
  }

  /** The price of one symbol, in USD. */
  price(symbol: string): Promise<number> {
    return this.prices.load(symbol);
  }

  /** How many units of `currency` one USD buys. */
  async rate(currency: string): Promise<number> {
    const body = await this.getJson('rates', `/rates?currency=${encodeURIComponent(currency)}`);
    const rate = (body as { rate?: unknown }).rate;
    if (typeof rate !== 'number') throw new PricingError('malformed /rates answer', 'error');
    return rate;
  }

  private async fetchPrices(symbols: string[]): Promise<Map<string, number>> {
    const query = symbols.map(encodeURIComponent).join(',');
    const body = await this.getJson('prices', `/prices?symbols=${query}`);
    const prices = (body as { prices?: unknown }).prices;
    if (typeof prices !== 'object' || prices === null) {
      throw new PricingError('malformed /prices answer', 'error');
    }
    return new Map(
      Object.entries(prices).filter((entry): entry is [string, number] => typeof entry[1] === 'number'),
    );
  }

  private async getJson(endpoint: PricingEndpoint, path: string): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      try {
        const body = await this.attempt(path);
        this.options.onCall?.(endpoint, 'ok');
        return body;
      } catch (error) {
        const failure = asPricingError(error);
        this.options.onCall?.(endpoint, failure.outcome);
        if (!failure.retryable || attempt >= this.options.retries) throw failure;
        await sleep(BACKOFF_MS * 2 ** attempt * (1 + Math.random() / 2));
      }
    }
  }

  /** One GET, resolved with the parsed JSON body of a 2xx answer. */
  private attempt(path: string): Promise<unknown> {
    const url = this.options.baseUrl + path;
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    return new Promise((resolve, reject) => {
      const req = get(url, { agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', fail);
        res.on('end', () => {
          clearTimeout(deadline);
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString();
          if (status < 200 || status >= 300) {
            const outcome = status >= 500 ? 'http_5xx' : 'http_4xx';
            const endpoint = path.split('?')[0];
            reject(
              new PricingError(`GET ${endpoint} answered ${status}: ${text.slice(0, 200)}`, outcome, status),
            );
            return;
          }
          try {
            resolve(JSON.parse(text));
          } catch {
            reject(new PricingError(`GET ${path.split('?')[0]} answered with invalid JSON`, 'error'));
          }
        });
      });
      const deadline = setTimeout(
        () => req.destroy(new PricingError(`no answer within ${this.options.timeoutMs} ms`, 'timeout')),
        this.options.timeoutMs,
      );
      function fail(error: Error) {
        clearTimeout(deadline);
        reject(error);
      }
      req.on('error', fail);
    });
  }
}

function asPricingError(error: unknown): PricingError {
  if (error instanceof PricingError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new PricingError(`pricing API unreachable (${message})`, 'error');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
