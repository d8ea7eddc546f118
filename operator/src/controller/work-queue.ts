// A work queue keyed by resource ("namespace/name"), in the manner of client-go's workqueue:
// a key waits at most once, is handled by at most one worker at a time (an add during handling
// runs it again afterwards), failures retry with per-key exponential backoff, and handlers may
// ask for a later visit.

export interface ReconcileResult {
  /** Visit the key again after this many milliseconds (the earliest request wins). */
  requeueAfterMs?: number;
}

export type Handler = (key: string) => Promise<ReconcileResult | void>;

/** Timers are injectable so that tests can run hours of backoff in milliseconds. */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface WorkQueueOptions {
  handler: Handler;
  concurrency?: number;
  /** First retry delay after a failure; doubles on each consecutive failure of the same key. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  timers?: Timers;
  /** Told of every handled key, for metrics. */
  onHandled?: (
    key: string,
    outcome: 'success' | 'error' | 'requeue',
    seconds: number,
    error?: unknown,
  ) => void;
  onDepthChange?: (depth: number) => void;
}

const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export class WorkQueue {
  private readonly waiting: string[] = [];
  private readonly waitingSet = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly delayed = new Map<string, { at: number; handle: unknown }>();
  private readonly failures = new Map<string, number>();
  private readonly options: Required<Omit<WorkQueueOptions, 'onHandled' | 'onDepthChange'>> &
    Pick<WorkQueueOptions, 'onHandled' | 'onDepthChange'>;
  private running = false;
  private workers = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(options: WorkQueueOptions) {
    this.options = {
      concurrency: 2,
      baseDelayMs: 50,
      maxDelayMs: 300_000,
      timers: realTimers,
      ...options,
    };
  }

  /** Starts the workers; keys added before start wait until then. */
  start(): void {
    this.running = true;
    this.pump();
  }

  /** Stops taking new work and resolves when the handlers in flight have finished. */
  async stop(): Promise<void> {
    this.running = false;
    for (const { handle } of this.delayed.values()) this.options.timers.clearTimeout(handle);
    this.delayed.clear();
    if (this.workers === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Queues a key now. A delayed visit of the same key is superseded. */
  add(key: string): void {
    const pending = this.delayed.get(key);
    if (pending) {
      this.options.timers.clearTimeout(pending.handle);
      this.delayed.delete(key);
    }
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.waitingSet.has(key)) return;
    this.waiting.push(key);
    this.waitingSet.add(key);
    this.depthChanged();
    this.pump();
  }

  /** Queues a key after a delay; an earlier pending visit of the same key is kept. */
  addAfter(key: string, ms: number): void {
    if (ms <= 0) return this.add(key);
    const at = this.options.timers.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) this.options.timers.clearTimeout(pending.handle);
    const handle = this.options.timers.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, handle });
  }

  /** Keys waiting to be handled (not counting delayed visits or keys in flight). */
  depth(): number {
    return this.waiting.length;
  }

  /** Delay before the next retry of a key that has failed `failures` times in a row. */
  backoffMs(failures: number): number {
    return Math.min(this.options.baseDelayMs * 2 ** Math.max(failures - 1, 0), this.options.maxDelayMs);
  }

  private pump(): void {
    while (this.running && this.workers < this.options.concurrency && this.waiting.length > 0) {
      const key = this.waiting.shift() as string;
      this.waitingSet.delete(key);
      this.depthChanged();
      this.active.add(key);
      this.workers++;
      void this.handle(key);
    }
  }

  private async handle(key: string): Promise<void> {
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const result = await this.options.handler(key);
      this.failures.delete(key);
      if (result?.requeueAfterMs !== undefined) {
        this.options.onHandled?.(key, 'requeue', seconds());
        this.addAfterOnceInactive(key, result.requeueAfterMs);
      } else {
        this.options.onHandled?.(key, 'success', seconds());
      }
    } catch (error) {
      const failures = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, failures);
      this.options.onHandled?.(key, 'error', seconds(), error);
      this.addAfterOnceInactive(key, this.backoffMs(failures));
    } finally {
      this.active.delete(key);
      this.workers--;
      if (this.dirty.delete(key)) this.add(key);
      if (this.workers === 0 && !this.running) {
        for (const resolve of this.idleWaiters.splice(0)) resolve();
      }
      this.pump();
    }
  }

  private addAfterOnceInactive(key: string, ms: number): void {
    if (!this.running) return;
    this.addAfter(key, ms);
  }

  private depthChanged(): void {
    this.options.onDepthChange?.(this.waiting.length);
  }
}
