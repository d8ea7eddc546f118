// A MetricProvider for the Prometheus HTTP API: one instant query (POST /api/v1/query) → one
// number, no data, or an error whose message keeps the cause (HTTP status, Prometheus' own error,
// the network error, or the timeout). It measures only; analysis.ts judges.
import type { Measurement, MetricProvider } from './metric-provider.js';

export interface PrometheusOptions {
  /** Base URL of the Prometheus HTTP API, e.g. http://prometheus.monitoring.svc:9090 (a path prefix is kept). */
  address: string;
  /** How long one query may take, ms; 10 s when unset. */
  timeoutMs?: number;
  /** The fetch to use; the global one when unset (tests pass their own). */
  fetch?: typeof fetch;
}

export const DEFAULT_PROMETHEUS_TIMEOUT_MS = 10_000;

interface QueryResponse {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

/** Measures PromQL instant queries against one Prometheus server. */
export class PrometheusProvider implements MetricProvider {
  private readonly endpoint: URL;
  private readonly shownAddress: string;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;

  constructor(options: PrometheusOptions) {
    const base = new URL(options.address);
    base.pathname = `${base.pathname.replace(/\/+$/, '')}/api/v1/query`;
    this.endpoint = base;
    // credentials in the address never reach a message
    const shown = new URL(options.address);
    shown.username = '';
    shown.password = '';
    this.shownAddress = shown.origin + shown.pathname.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_PROMETHEUS_TIMEOUT_MS;
    this.fetch = options.fetch ?? fetch;
  }

  /**
   * Runs one instant query. A scalar or a one-sample vector is a value (NaN and ±Inf included, for
   * the analysis to judge); an empty vector is noData; several series, a range vector, a refused
   * query, an HTTP error, a network error or a timeout is an error saying which.
   */
  async measure(query: string): Promise<Measurement> {
    let response: Response;
    try {
      response = await this.fetch(this.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ query }).toString(),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      return { kind: 'error', message: this.unreachable(error) };
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      return { kind: 'error', message: this.unreachable(error) };
    }
    let body: QueryResponse | undefined;
    try {
      body = JSON.parse(text) as QueryResponse;
    } catch {
      body = undefined;
    }
    if (body?.status === 'error') {
      return {
        kind: 'error',
        message: `Prometheus at ${this.shownAddress} refused the query (HTTP ${response.status}, ${body.errorType ?? 'error'}): ${body.error ?? 'no detail given'}`,
      };
    }
    if (!response.ok) {
      return {
        kind: 'error',
        message: `Prometheus at ${this.shownAddress} answered HTTP ${response.status} ${response.statusText}: ${excerpt(text)}`,
      };
    }
    if (body?.status !== 'success' || !body.data) {
      return {
        kind: 'error',
        message: `Prometheus at ${this.shownAddress} sent an answer that is not a query result: ${excerpt(text)}`,
      };
    }
    return readResult(body.data.resultType, body.data.result);
  }

  private unreachable(error: unknown): string {
    const err = error as Error;
    if (err?.name === 'TimeoutError' || err?.name === 'AbortError') {
      return `Prometheus at ${this.shownAddress} did not answer within ${this.timeoutMs / 1000}s`;
    }
    return `cannot reach Prometheus at ${this.shownAddress}: ${causeChain(error)}`;
  }
}

function readResult(resultType: string | undefined, result: unknown): Measurement {
  if (resultType === 'scalar') return sampleValue(result);
  if (resultType === 'vector' && Array.isArray(result)) {
    if (result.length === 0) return { kind: 'noData' };
    if (result.length > 1) {
      return {
        kind: 'error',
        message: `the query returned ${result.length} series; aggregate it to one, e.g. with sum()`,
      };
    }
    return sampleValue((result[0] as { value?: unknown }).value);
  }
  if (resultType === 'matrix') {
    return {
      kind: 'error',
      message:
        'the query returned a range vector; analysis needs one number: reduce it, e.g. with avg_over_time() or rate()',
    };
  }
  return { kind: 'error', message: `the query returned a ${resultType ?? 'missing'} result, not a number` };
}

function sampleValue(sample: unknown): Measurement {
  const raw = Array.isArray(sample) ? sample[1] : undefined;
  if (typeof raw !== 'string') {
    return {
      kind: 'error',
      message: `Prometheus sent a sample without a value: ${excerpt(JSON.stringify(sample))}`,
    };
  }
  // Prometheus writes special values as +Inf, -Inf and NaN
  const value =
    raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : raw === 'NaN' ? Number.NaN : Number(raw);
  if (Number.isNaN(value) && raw !== 'NaN') {
    return { kind: 'error', message: `Prometheus sent a value that is not a number: '${excerpt(raw)}'` };
  }
  return { kind: 'value', value };
}

/** "fetch failed: connect ECONNREFUSED 127.0.0.1:1" — each cause, outermost first. */
function causeChain(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const message = current instanceof Error ? current.message : String(current);
    if (message && !parts.includes(message)) parts.push(message);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(': ') || 'unknown error';
}

function excerpt(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat || '(empty body)';
}
