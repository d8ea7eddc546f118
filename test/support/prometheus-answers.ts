// Canned answers of the Prometheus HTTP API, for unit tests of the code that queries it
// (telemetry/prometheus-client.ts and the canary's PrometheusProvider on top of it).

/** A request the fake saw. */
export interface Seen {
  url: string;
  method?: string;
  body: string;
}

/** A fetch that answers every request with `status` and `body` (JSON unless a string), recording it in `seen`. */
export function answering(status: number, body: unknown, seen: Seen[] = []): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    seen.push({ url: String(input), method: init?.method, body: String(init?.body) });
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    return new Response(text, { status, statusText: status === 200 ? 'OK' : 'Bad Gateway' });
  }) as typeof fetch;
}

/** A successful query answer. */
export const success = (resultType: string, result: unknown) => ({
  status: 'success',
  data: { resultType, result },
});

/** One sample of a vector, as Prometheus writes it (the value as a string). */
export const sample = (value: string, metric: Record<string, string> = {}) => ({
  metric,
  value: [1700000000, value],
});
