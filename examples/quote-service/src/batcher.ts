// Coalesces lookups that arrive close together into one downstream call. The first key that
// finds nothing pending opens a window of `windowMs`; every key asked for meanwhile joins the
// same call. A call never carries more than `maxKeys` keys: reaching that many sends the call
// at once, and later keys open the next window.

export type BatchFetch<V> = (keys: string[]) => Promise<Map<string, V>>;

export interface BatcherOptions<V> {
  /** How long the first key waits for company; 0 sends every lookup as its own call. */
  windowMs: number;
  maxKeys: number;
  fetch: BatchFetch<V>;
}

interface Waiter<V> {
  resolve: (value: V) => void;
  reject: (error: unknown) => void;
}

export class Batcher<V> {
  private pending = new Map<string, Waiter<V>[]>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: BatcherOptions<V>) {}

  load(key: string): Promise<V> {
    if (this.options.windowMs <= 0) return this.fetchOne(key);
    return new Promise<V>((resolve, reject) => {
      const waiters = this.pending.get(key);
      if (waiters) {
        waiters.push({ resolve, reject });
        return;
      }
      this.pending.set(key, [{ resolve, reject }]);
      if (this.pending.size >= this.options.maxKeys) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.windowMs);
    });
  }

  private async fetchOne(key: string): Promise<V> {
    const values = await this.options.fetch([key]);
    return valueOf(values, key);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = new Map();
    this.options.fetch([...batch.keys()]).then(
      (values) => {
        for (const [key, waiters] of batch) {
          for (const waiter of waiters) {
            try {
              waiter.resolve(valueOf(values, key));
            } catch (error) {
              waiter.reject(error);
            }
          }
        }
      },
      (error: unknown) => {
        for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
      },
    );
  }
}

function valueOf<V>(values: Map<string, V>, key: string): V {
  if (!values.has(key)) throw new Error(`the batch answer has no value for ${key}`);
  return values.get(key) as V;
}
