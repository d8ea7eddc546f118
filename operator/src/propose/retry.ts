// When to try again after a transient failure: exponential backoff with jitter, or the delay the
// server advised, never longer than a cap (a `retry-after` of an hour must not stall a cycle).
// Pure; the caller sleeps.

export interface Backoff {
  /** Ceiling of the first retry's delay. */
  initialMs: number;
  /** Ceiling of any computed delay. */
  maxMs: number;
  /** Longest server-advised delay (`retry-after`, `retry-after-ms`) honoured; longer ones are cut. */
  maxRetryAfterMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 500, maxMs: 8_000, maxRetryAfterMs: 30_000 };

/**
 * Delay before retry number `retry` (1 for the first): the ceiling doubles from `initialMs` up to
 * `maxMs`, and the delay is drawn from its upper half, so concurrent agents spread out yet every
 * retry still waits a meaningful while.
 */
export function backoffDelay(retry: number, backoff: Backoff, random: () => number): number {
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, retry - 1));
  return ceiling / 2 + (random() * ceiling) / 2;
}

/**
 * The delay a response advises, in milliseconds: `retry-after-ms`, else `retry-after` as seconds or
 * as an HTTP date (relative to `now`). Undefined when neither is present or readable; never negative.
 */
export function advisedDelay(
  headers: { get(name: string): string | null } | undefined,
  now: number,
): number | undefined {
  const ms = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms)) return Math.max(0, ms);
  const after = headers?.get('retry-after')?.trim();
  if (!after) return undefined;
  if (/^\d+(\.\d+)?$/.test(after)) return Number.parseFloat(after) * 1000;
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The wait before the next try: the advised delay capped at `maxRetryAfterMs`, else backoff. */
export function retryDelay(
  retry: number,
  advised: number | undefined,
  backoff: Backoff,
  random: () => number,
): number {
  return advised === undefined
    ? backoffDelay(retry, backoff, random)
    : Math.min(advised, backoff.maxRetryAfterMs);
}
