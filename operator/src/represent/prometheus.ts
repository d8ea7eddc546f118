// A Prometheus instant query that never throws: the answer is samples or a sentence saying why not,
// because a missing measurement must degrade the representation, not fail it.

export interface Sample {
  labels: Record<string, string>;
  /** The sample value; NaN and ±Inf are kept as Prometheus sent them. */
  value: number;
}

export type QueryOutcome = { ok: true; samples: Sample[] } | { ok: false; problem: string };

/**
 * Runs `promql` at `baseUrl`'s `/api/v1/query` (now). `problem` completes the sentence
 * "Prometheus at <url> …", e.g. "could not be reached (ECONNREFUSED)".
 */
export async function instantQuery(
  baseUrl: string,
  promql: string,
  timeoutMs: number,
): Promise<QueryOutcome> {
  let endpoint: URL;
  try {
    // A trailing slash keeps a path prefix (`http://host/prometheus`) when the API path is joined.
    endpoint = new URL('api/v1/query', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    endpoint.searchParams.set('query', promql);
  } catch {
    return { ok: false, problem: 'is not a valid URL' };
  }
  let status: number;
  let text: string;
  try {
    const response = await fetch(endpoint, { signal: AbortSignal.timeout(timeoutMs) });
    status = response.status;
    text = await response.text();
  } catch (error) {
    return { ok: false, problem: unreachable(error, timeoutMs) };
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, problem: `answered HTTP ${status} with a body that is not JSON` };
  }
  const answer = body as { status?: unknown; error?: unknown; data?: { result?: unknown } };
  if (status !== 200 || answer.status !== 'success') {
    const detail = typeof answer.error === 'string' ? `: ${answer.error}` : '';
    return { ok: false, problem: `answered HTTP ${status} to the query${detail}` };
  }
  const samples = parseVector(answer.data?.result);
  return samples
    ? { ok: true, samples }
    : { ok: false, problem: 'answered with a result that is not a vector' };
}

function unreachable(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `did not answer within ${timeoutMs / 1000}s`;
  }
  const cause =
    error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const reason = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  return `could not be reached (${String(reason)})`;
}

function parseVector(result: unknown): Sample[] | undefined {
  if (!Array.isArray(result)) return undefined;
  const samples: Sample[] = [];
  for (const entry of result as unknown[]) {
    const sample = entry as { metric?: unknown; value?: unknown };
    if (typeof sample.metric !== 'object' || sample.metric === null || !Array.isArray(sample.value)) {
      return undefined;
    }
    // Prometheus writes values as strings, including "NaN", "+Inf" and "-Inf".
    const raw: unknown = sample.value[1];
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    samples.push({ labels: sample.metric as Record<string, string>, value });
  }
  return samples;
}
