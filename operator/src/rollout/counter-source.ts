// Where failureRatio metrics read their counters: the analysis' metric provider (Prometheus, a
// scrape interval behind), or, when analysis.counters.url is set, a metrics endpoint read directly
// (a gateway's own counters, as fresh as its last request). One reading of the endpoint serves
// every counter of a round, so the failed and total counts of a metric come from the same moment.
import type { HyperAgentSpec } from '../api/schema.js';
import { parseCounterSelector, parseExposition, sumMatching } from './exposition.js';
import type { Measurement, MetricProvider } from './metric-provider.js';

export interface CounterSource {
  /** The value of each query, in order; never throws: a failure is an error measurement. */
  read(queries: readonly string[]): Promise<Measurement[]>;
}

/** The counters through the metric provider: each query on its own. */
export class ProviderCounterSource implements CounterSource {
  constructor(private readonly provider: MetricProvider) {}

  read(queries: readonly string[]): Promise<Measurement[]> {
    return Promise.all(queries.map((query) => this.provider.measure(query)));
  }
}

export interface ScrapeOptions {
  url: string;
  /** 2 s when unset: a reading later than that is too old to act on anyway. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** Largest exposition read: a gateway with thousands of routes serves a few MiB. */
const MAX_EXPOSITION_BYTES = 16 * 1024 * 1024;

/** The counters summed from one reading of a text exposition. */
export class ScrapeCounterSource implements CounterSource {
  constructor(private readonly options: ScrapeOptions) {}

  async read(queries: readonly string[]): Promise<Measurement[]> {
    const selectors = queries.map((query) => {
      try {
        return parseCounterSelector(query);
      } catch (error) {
        return { error: (error as Error).message };
      }
    });
    let text: string;
    try {
      text = await this.fetchText();
    } catch (error) {
      const message = `reading ${this.options.url}: ${(error as Error).message}`;
      return queries.map(() => ({ kind: 'error', message }));
    }
    const samples = parseExposition(text);
    return selectors.map((selector): Measurement => {
      if ('error' in selector) return { kind: 'error', message: selector.error };
      const sum = sumMatching(samples, selector);
      return sum === undefined ? { kind: 'noData' } : { kind: 'value', value: sum };
    });
  }

  private async fetchText(): Promise<string> {
    const request = this.options.fetch ?? fetch;
    const response = await request(this.options.url, {
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 2000),
      headers: { accept: 'text/plain;version=0.0.4' },
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const length = Number(response.headers.get('content-length') ?? 0);
    if (length > MAX_EXPOSITION_BYTES) throw new Error(`${length} bytes, more than ${MAX_EXPOSITION_BYTES}`);
    const text = await response.text();
    if (text.length > MAX_EXPOSITION_BYTES) throw new Error(`more than ${MAX_EXPOSITION_BYTES} bytes`);
    return text;
  }
}

/** The counter source an analysis names: its counters.url read directly, else its metric provider. */
export function counterSourceFor(
  analysis: HyperAgentSpec['rollout']['analysis'],
  provider: MetricProvider,
  fetchImpl?: typeof fetch,
): CounterSource {
  const url = analysis.counters?.url;
  if (url) return new ScrapeCounterSource({ url, ...(fetchImpl ? { fetch: fetchImpl } : {}) });
  return new ProviderCounterSource(provider);
}
