// The operator's one client for the Prometheus HTTP API: an instant query (POST /api/v1/query) whose
// answer is the samples or a message saying why not, never an exception. The message keeps the
// cause (the HTTP status, Prometheus' own error, the network error or the timeout) and names the
// address without the credentials it may carry. The canary analysis (rollout/prometheus.ts) and
// the hot spots of the service graph (represent/hot-spots.ts) both ask through it.

export interface PrometheusClientOptions {
  /** Base URL of the Prometheus HTTP API, e.g. http://prometheus.monitoring.svc:9090 (a path prefix is kept). */
  address: string;
  /** How long one query may take, ms; 10 s when unset. */
  timeoutMs?: number;
  /** The fetch to use; the global one when unset (tests pass their own). */
  fetch?: typeof fetch;
}

export const DEFAULT_PROMETHEUS_TIMEOUT_MS = 10_000;

/** One sample of an instant vector, or the value of a scalar (no labels). */
export interface Sample {
  labels: Record<string, string>;
  /** The sample value; NaN and ±Inf are kept as Prometheus sent them. */
  value: number;
}

/**
 * The answer to one instant query. A failure has `resultType` when Prometheus did answer with a
 * query result, but of a type that is not read into samples: 'matrix' (a range vector), 'string',
 * or 'missing' when the answer named none; a caller may refuse that in its own words.
 */
export type QueryAnswer =
  | { ok: true; resultType: 'vector' | 'scalar'; samples: Sample[] }
  | { ok: false; message: string; resultType?: string };

interface QueryResponse {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

/** Runs PromQL instant queries against one Prometheus server. */
export class PrometheusClient {
  /** The address as messages show it: no credentials, no trailing slash. */
  readonly shownAddress: string;
  readonly timeoutMs: number;
  private readonly endpoint: URL | undefined;
  private readonly invalid: string | undefined;
  private readonly fetch: typeof fetch;

  constructor(options: PrometheusClientOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_PROMETHEUS_TIMEOUT_MS;
    this.fetch = options.fetch ?? fetch;
    let base: URL | undefined;
    try {
      base = new URL(options.address);
    } catch {
      base = undefined;
    }
    if (!base) {
      this.shownAddress = withoutCredentials(options.address);
      this.invalid = `the Prometheus address '${this.shownAddress}' is not a valid URL`;
      return;
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      this.shownAddress = withoutCredentials(options.address);
      this.invalid = `the Prometheus address '${this.shownAddress}' is not a valid URL: it must start with http:// or https://`;
      return;
    }
    // credentials in the address never reach a message
    const shown = new URL(base);
    shown.username = '';
    shown.password = '';
    this.shownAddress = shown.origin + shown.pathname.replace(/\/+$/, '');
    base.pathname = `${base.pathname.replace(/\/+$/, '')}/api/v1/query`;
    this.endpoint = base;
  }

  /**
   * Runs one instant query. A vector is its samples, a scalar one sample without labels (NaN and
   * ±Inf kept); anything else is a message: an invalid address, a refused query, an HTTP error, an
   * answer that is not a query result, a malformed sample, a network error or a timeout.
   */
  async query(promql: string): Promise<QueryAnswer> {
    if (!this.endpoint) return { ok: false, message: this.invalid ?? 'no Prometheus address' };
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(this.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ query: promql }).toString(),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      return { ok: false, message: this.unreachable(error) };
    }
    let body: QueryResponse | undefined;
    try {
      body = JSON.parse(text) as QueryResponse;
    } catch {
      body = undefined;
    }
    if (body?.status === 'error') {
      return {
        ok: false,
        message: `Prometheus at ${this.shownAddress} refused the query (HTTP ${response.status}, ${body.errorType ?? 'error'}): ${body.error ?? 'no detail given'}`,
      };
    }
    if (!response.ok) {
      return {
        ok: false,
        message: `Prometheus at ${this.shownAddress} answered HTTP ${response.status} ${response.statusText}: ${excerpt(text)}`,
      };
    }
    if (body?.status !== 'success' || !body.data) {
      return {
        ok: false,
        message: `Prometheus at ${this.shownAddress} sent an answer that is not a query result: ${excerpt(text)}`,
      };
    }
    return this.readResult(body.data.resultType, body.data.result);
  }

  private readResult(resultType: string | undefined, result: unknown): QueryAnswer {
    if (resultType === 'scalar') {
      const value = sampleValue(result, result);
      return typeof value === 'number'
        ? { ok: true, resultType, samples: [{ labels: {}, value }] }
        : { ok: false, message: value.problem };
    }
    if (resultType === 'vector' && Array.isArray(result)) {
      const samples: Sample[] = [];
      for (const entry of result as unknown[]) {
        const sample = (entry ?? {}) as { metric?: unknown; value?: unknown };
        const value = sampleValue(sample.value, entry);
        if (typeof value !== 'number') return { ok: false, message: value.problem };
        samples.push({ labels: labelsOf(sample.metric), value });
      }
      return { ok: true, resultType, samples };
    }
    const type = resultType ?? 'missing';
    const what =
      type === 'matrix'
        ? 'a range vector'
        : type === 'vector'
          ? 'a vector result that is not a list of samples'
          : `a ${type} result`;
    return {
      ok: false,
      resultType: type,
      message: `Prometheus at ${this.shownAddress} returned ${what}, not an instant vector or a scalar`,
    };
  }

  private unreachable(error: unknown): string {
    const err = error as Error;
    if (err?.name === 'TimeoutError' || err?.name === 'AbortError') {
      return `Prometheus at ${this.shownAddress} did not answer within ${this.timeoutMs / 1000}s`;
    }
    return `cannot reach Prometheus at ${this.shownAddress}: ${causeChain(error)}`;
  }
}

/**
 * A sample's `[time, "value"]` as a number (NaN, +Inf and -Inf as Prometheus writes them), or the
 * problem with it; `shown` is what the message quotes.
 */
function sampleValue(pair: unknown, shown: unknown): number | { problem: string } {
  const raw: unknown = Array.isArray(pair) ? pair[1] : undefined;
  if (typeof raw !== 'string') {
    return { problem: `Prometheus sent a sample without a value: ${excerpt(String(JSON.stringify(shown)))}` };
  }
  const value =
    raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : raw === 'NaN' ? Number.NaN : Number(raw);
  if (Number.isNaN(value) && raw !== 'NaN') {
    return { problem: `Prometheus sent a value that is not a number: '${excerpt(raw)}'` };
  }
  return value;
}

function labelsOf(metric: unknown): Record<string, string> {
  if (typeof metric !== 'object' || metric === null) return {};
  const labels: Record<string, string> = {};
  for (const [name, value] of Object.entries(metric)) {
    if (typeof value === 'string') labels[name] = value;
  }
  return labels;
}

/** An address that did not parse, with anything that looks like `user:password@` removed. */
function withoutCredentials(address: string): string {
  return address.replace(/^([^/?#]*\/\/)[^/?#]*@/, '$1').replace(/\/+$/, '');
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
