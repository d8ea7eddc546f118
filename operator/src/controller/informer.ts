// An informer (list, then watch, with a local cache) that restarts itself after errors.
//
// client-node's ListWatch re-lists on 410 Gone and reconnects when a watch ends, but stops for
// good on any other error: this wrapper restarts it with exponential backoff and says whether the
// cache is synced, which readiness depends on.
import {
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';

export interface InformerOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** Watch path, e.g. /apis/hyperagents.io/v1alpha1/hyperagents */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  /** Label selector of the watch; `list` must apply the same one. */
  labelSelector?: string;
  log: Logger;
  /** Called when a watch connection is opened, for request accounting. */
  onWatch?: () => void;
  /** A key to look objects up by (`indexed`), kept as the cache changes; none when undefined. */
  indexBy?: (obj: T) => string | undefined;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * Drops metadata.managedFields (server-side apply bookkeeping, about half of each object) before
 * objects enter the cache, as controller-runtime's caches do. Status writes built from cached
 * objects are unaffected: an update that omits managedFields keeps the stored ones.
 */
export function withoutManagedFields<T extends KubernetesObject>(obj: T): T {
  if (obj?.metadata?.managedFields) delete obj.metadata.managedFields;
  return obj;
}

/** A Watch that trims every object it delivers. */
class TrimmingWatch extends Watch {
  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: any, watchObj?: any) => void, // eslint-disable-line @typescript-eslint/no-explicit-any
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    return super.watch(
      path,
      queryParams,
      (phase, obj, watchObj) => callback(phase, withoutManagedFields(obj), watchObj),
      done,
    );
  }
}

export class Informer<T extends KubernetesObject> {
  private readonly listWatch: ListWatch<T>;
  private syncedOnce = false;
  private stopped = false;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  /** indexBy's key -> the objects with it, by namespace/name; and each object's key as last seen. */
  private readonly index = new Map<string, Map<string, T>>();
  private readonly indexKeyOf = new Map<string, string>();

  constructor(private readonly options: InformerOptions<T>) {
    const list = async () => {
      const result = await options.list();
      for (const item of result.items) withoutManagedFields(item);
      return result;
    };
    this.listWatch = new ListWatch<T>(
      options.path,
      new TrimmingWatch(options.kubeConfig),
      list,
      false,
      options.labelSelector,
    );
    this.listWatch.on('connect', () => options.onWatch?.());
    this.listWatch.on('error', (error: unknown) => this.restartLater(error));
    // registered before any other handler, so the index is current when they run
    const indexBy = options.indexBy;
    if (indexBy) {
      this.listWatch.on('add', (obj) => this.reindex(obj, indexBy(obj)));
      this.listWatch.on('update', (obj) => this.reindex(obj, indexBy(obj)));
      this.listWatch.on('delete', (obj) => this.reindex(obj, undefined));
    }
  }

  on(event: 'add' | 'update' | 'delete', handler: (obj: T) => void): void {
    this.listWatch.on(event, handler);
  }

  /** Lists and starts watching; resolves once the cache holds a full list (retrying until then). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.listWatch.start();
    while (!this.stopped && this.listWatch.latestResourceVersion() === '') {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    if (!this.stopped) {
      this.syncedOnce = true;
      this.failures = 0;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.listWatch.stop();
  }

  /** True once a full list has been cached; stays true through reconnects (the cache is kept). */
  synced(): boolean {
    return this.syncedOnce;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.listWatch.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.listWatch.list(namespace);
  }

  /** The cached objects whose `indexBy` key is `key`. */
  indexed(key: string): readonly T[] {
    if (!this.options.indexBy) throw new Error(`the informer of ${this.options.path} has no index`);
    return [...(this.index.get(key)?.values() ?? [])];
  }

  private reindex(obj: T, key: string | undefined): void {
    const id = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
    const previous = this.indexKeyOf.get(id);
    if (previous !== undefined && previous !== key) {
      const bucket = this.index.get(previous);
      bucket?.delete(id);
      if (bucket?.size === 0) this.index.delete(previous);
    }
    if (key === undefined) {
      this.indexKeyOf.delete(id);
      return;
    }
    this.indexKeyOf.set(id, key);
    let bucket = this.index.get(key);
    if (!bucket) this.index.set(key, (bucket = new Map()));
    bucket.set(id, obj);
  }

  private restartLater(error: unknown): void {
    if (this.stopped) return;
    this.failures++;
    const min = this.options.minBackoffMs ?? 500;
    const delay = Math.min(min * 2 ** (this.failures - 1), this.options.maxBackoffMs ?? 30_000);
    this.options.log.warn(
      {
        path: this.options.path,
        err: error instanceof Error ? error.message : String(error),
        retryInMs: delay,
      },
      'watch failed; restarting',
    );
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.listWatch.start().then(
        () => {
          if (this.listWatch.latestResourceVersion() !== '') this.failures = 0;
        },
        (err: unknown) => this.restartLater(err),
      );
    }, delay);
  }
}
