// The judge's own measurement of a service: it sends the workload's requests over loopback, open
// loop at a constant rate (requests start on schedule whether or not earlier ones answered, as
// users arrive), and times each from its scheduled start to the end of its answer. Nothing the
// service under test runs can touch this clock or these counts.
import { Agent, request as httpRequest } from 'node:http';
import { describe, normalizeBody, MAX_BODY_CHARS, type Answer } from './behaviour.js';

export interface WorkloadRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadOptions {
  port: number;
  requests: readonly WorkloadRequest[];
  rps: number;
  durationMs: number;
  /** One request's time limit; a slower answer counts as an error at this latency. */
  timeoutMs: number;
  /**
   * Keeps the answers given under load to the first `limit` requests of the list (any status, body
   * normalised, at most two distinct per request), so that a service that answers differently
   * while it is being measured — or sheds its slow requests with a 503 — is seen.
   */
  record?: { limit: number; ignoreFields: readonly string[]; answers: Map<number, Set<string>> };
}

export interface LoadRun {
  /**
   * Latency of every request, ms, in the order they were scheduled. A failed request counts as
   * taking at least the whole request timeout: a service that sheds its slow requests (a fast
   * 503, or no answer) must not look faster for it.
   */
  latenciesMs: number[];
  /** Requests that failed: no answer, timed out, or a 5xx. */
  errors: number;
  sent: number;
  elapsedMs: number;
}

/** Figures of one run, named as objectives name them. */
export interface LoadFigures {
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  mean_ms: number;
  max_ms: number;
  error_rate: number;
  rps: number;
}

/** A schedule this far behind (a stalled judge) drops its backlog rather than firing it at once. */
const MAX_BACKLOG_MS = 1000;

/** Sends the requests in order, cycling, at `rps` for `durationMs`; resolves when all have settled. */
export async function runLoad(options: LoadOptions): Promise<LoadRun> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const interval = 1000 / options.rps;
  const started = performance.now();
  const end = started + options.durationMs;
  const samples: { order: number; ms: number }[] = [];
  let errors = 0;
  let sent = 0;
  const inFlight = new Set<Promise<void>>();
  let next = started;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      if (now - next > MAX_BACKLOG_MS) next = now;
      while (next <= now && next < end) {
        const order = sent;
        const scheduled = next;
        const index = order % options.requests.length;
        const request = options.requests[index]!;
        const record = options.record && index < options.record.limit ? options.record : undefined;
        sent += 1;
        const pending = send(agent, options.port, request, options.timeoutMs, record !== undefined).then(
          (answer) => {
            const ms = performance.now() - scheduled;
            const failed = typeof answer === 'string' || answer.status >= 500;
            if (failed) errors += 1;
            samples.push({ order, ms: failed ? Math.max(ms, options.timeoutMs) : ms });
            if (record && typeof answer !== 'string') {
              const seen = record.answers.get(index) ?? new Set<string>();
              if (seen.size < 2)
                seen.add(
                  describe({ status: answer.status, body: normalizeBody(answer.body, record.ignoreFields) }),
                );
              record.answers.set(index, seen);
            }
          },
        );
        inFlight.add(pending);
        void pending.finally(() => inFlight.delete(pending));
        next += interval;
      }
      if (next >= end) resolve();
      else setTimeout(tick, Math.max(0, next - performance.now()));
    };
    tick();
  });
  await Promise.all(inFlight);
  agent.destroy();
  return {
    latenciesMs: samples.sort((a, b) => a.order - b.order).map((sample) => sample.ms),
    errors,
    sent,
    elapsedMs: performance.now() - started,
  };
}

/**
 * The figures of one run: nearest-rank percentiles of every request (failures at the timeout),
 * the error share, and the achieved rate of successful answers.
 */
export function figuresOf(run: LoadRun): LoadFigures {
  const sorted = [...run.latenciesMs].sort((a, b) => a - b);
  const rank = (q: number) =>
    sorted.length === 0
      ? Number.NaN
      : sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1]!;
  const sum = sorted.reduce((total, value) => total + value, 0);
  const round = (value: number) => Math.round(value * 100) / 100;
  return {
    p50_ms: round(rank(0.5)),
    p90_ms: round(rank(0.9)),
    p99_ms: round(rank(0.99)),
    mean_ms: round(sorted.length === 0 ? Number.NaN : sum / sorted.length),
    max_ms: round(sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!),
    error_rate: run.sent === 0 ? 1 : Math.round((run.errors / run.sent) * 10_000) / 10_000,
    rps: round(((run.latenciesMs.length - run.errors) / Math.max(1, run.elapsedMs)) * 1000),
  };
}

/** Each request once, one after another: the answers the behaviour comparison reads. */
export async function collectAnswers(
  port: number,
  requests: readonly WorkloadRequest[],
  ignoreFields: readonly string[],
  timeoutMs: number,
): Promise<(Answer | string)[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const answers: (Answer | string)[] = [];
  for (const request of requests) {
    const answer = await send(agent, port, request, timeoutMs, true);
    answers.push(
      typeof answer === 'string'
        ? answer
        : { status: answer.status, body: normalizeBody(answer.body, ignoreFields) },
    );
  }
  agent.destroy();
  return answers;
}

/** Polls `path` until it answers 2xx; false when `timeoutMs` passed first. */
export async function waitReady(port: number, path: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const agent = new Agent({ keepAlive: false });
  try {
    while (Date.now() < deadline) {
      const answer = await send(agent, port, { method: 'GET', path }, 1000, false);
      if (typeof answer !== 'string' && answer.status >= 200 && answer.status < 300) return true;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return false;
  } finally {
    agent.destroy();
  }
}

/** One request over loopback: the status and (when asked) the body, bounded; a string when it failed. */
export function send(
  agent: Agent,
  port: number,
  request: WorkloadRequest,
  timeoutMs: number,
  keepBody: boolean,
): Promise<{ status: number; body: string } | string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    const outgoing = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: request.method,
        path: request.path,
        headers: request.headers,
        agent,
        timeout: timeoutMs,
      },
      (response) => {
        response.on('data', (chunk: Buffer) => {
          if (keepBody && kept < MAX_BODY_CHARS) {
            chunks.push(chunk);
            kept += chunk.length;
          }
        });
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', (error) => resolve(`no complete answer: ${error.message}`));
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    outgoing.on('error', (error) => resolve(`no answer: ${error.message}`));
    if (request.body !== undefined) outgoing.write(request.body);
    outgoing.end();
  });
}
