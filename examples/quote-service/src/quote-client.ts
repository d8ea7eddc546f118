// An HTTP client for GET /quote that classifies every request, for the load generator and the
// benchmark. Connections are kept alive, but every Nth request asks to close its connection:
// a Kubernetes Service balances connections, not requests, so connections must be renewed for
// traffic to spread over new pods (a canary) in proportion. Idle connections are dropped before
// the server's own keep-alive timeout (5 s in node), so a request never races the server closing
// the connection it picked, and any error that does happen is a real one.
import { Agent, request } from 'node:http';
import type { QuoteRequest } from './workload.js';

export type Outcome = 'ok' | 'http_4xx' | 'http_5xx' | 'error';

export interface QuoteResult {
  outcome: Outcome;
  /** From sending the request to the end of the answer (or the failure). */
  seconds: number;
  status?: number;
  error?: string;
}

export interface QuoteClientOptions {
  /** The /quote endpoint, such as http://quote-service/quote. */
  endpoint: string;
  /** A request without a complete answer by then is aborted and counts as an error. */
  timeoutMs: number;
  /** Each connection carries about this many requests; 1 opens one per request. */
  requestsPerConnection: number;
}

const IDLE_CONNECTION_MS = 4_000;

export class QuoteClient {
  private readonly agent = new Agent({ keepAlive: true, timeout: IDLE_CONNECTION_MS });
  private readonly endpoint: URL;
  private sent = 0;

  constructor(private readonly options: QuoteClientOptions) {
    this.endpoint = new URL(options.endpoint);
    if (this.endpoint.pathname === '/') this.endpoint.pathname = '/quote';
  }

  get(quote: QuoteRequest): Promise<QuoteResult> {
    const url = new URL(this.endpoint);
    url.searchParams.set('symbol', quote.symbol);
    url.searchParams.set('currency', quote.currency);
    const closeAfter = ++this.sent % this.options.requestsPerConnection === 0;
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;

    return new Promise<QuoteResult>((resolve) => {
      const req = request(
        url,
        { agent: this.agent, headers: closeAfter ? { connection: 'close' } : {} },
        (res) => {
          res.resume(); // the body does not matter, only that it arrives in full
          res.on('end', () => {
            clearTimeout(deadline);
            const status = res.statusCode ?? 0;
            resolve({ outcome: classify(status), seconds: seconds(), status });
          });
          res.on('error', fail);
        },
      );
      const deadline = setTimeout(
        () => req.destroy(new Error(`no answer within ${this.options.timeoutMs} ms`)),
        this.options.timeoutMs,
      );
      function fail(error: Error) {
        clearTimeout(deadline);
        resolve({ outcome: 'error', seconds: seconds(), error: error.message });
      }
      req.on('error', fail);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function classify(status: number): Outcome {
  if (status >= 500) return 'http_5xx';
  if (status >= 400) return 'http_4xx';
  return 'ok';
}
