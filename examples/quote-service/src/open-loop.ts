// An open-loop request schedule: requests start at a constant rate whether or not earlier ones
// have answered, as real users arrive. (A closed loop, which waits for each answer, slows down
// with the service and so hides its latency.)

export interface OpenLoop {
  /** Stops starting requests; resolves once the requests already started have settled. */
  stop(): Promise<void>;
  /** Settles when the duration is over and every request has settled. */
  done: Promise<void>;
}

export interface OpenLoopOptions {
  rps: number;
  /** Stop after this long; forever when absent. */
  durationMs?: number;
}

/** A schedule that fell this far behind (a stalled event loop) drops its backlog instead of
 * firing it all at once. */
const MAX_BACKLOG_MS = 1_000;

export function openLoop(options: OpenLoopOptions, fire: () => Promise<unknown>): OpenLoop {
  const interval = 1_000 / options.rps;
  const started = performance.now();
  const end = options.durationMs === undefined ? Number.POSITIVE_INFINITY : started + options.durationMs;
  const inFlight = new Set<Promise<unknown>>();
  let next = started;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));

  const tick = () => {
    const now = performance.now();
    if (now - next > MAX_BACKLOG_MS) next = now;
    while (!stopped && next <= now && next < end) {
      const request = fire().catch(() => {});
      inFlight.add(request);
      void request.then(() => inFlight.delete(request));
      next += interval;
    }
    if (stopped || next >= end) void settle();
    else timer = setTimeout(tick, Math.max(0, next - performance.now()));
  };
  const settle = async () => {
    stopped = true;
    clearTimeout(timer);
    await Promise.all(inFlight);
    finish();
  };

  tick();
  return {
    stop: async () => {
      if (!stopped) void settle();
      await finished;
    },
    done: finished,
  };
}
