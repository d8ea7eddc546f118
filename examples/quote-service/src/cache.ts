// A size-bounded LRU cache whose entries also expire. A Map iterates in insertion order, so
// re-inserting a key on every read keeps the least recently used entry first, where eviction
// takes it from.

interface Entry<V> {
  value: V;
  expiresAt: number;
}

export class TtlLruCache<V> {
  private readonly entries = new Map<string, Entry<V>>();

  /**
   * @param maxEntries most entries held; 0 disables the cache (every get misses, set is ignored)
   * @param defaultTtlMs lifetime of an entry `set` without its own
   * @param now the clock, in milliseconds (tests move it by hand)
   */
  constructor(
    readonly maxEntries: number,
    private readonly defaultTtlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.maxEntries > 0;
  }

  /** Entries held, expired ones not yet dropped included. */
  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= this.now()) return undefined;
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V, ttlMs: number = this.defaultTtlMs): void {
    if (!this.enabled) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs });
    // Expired entries are not swept: they go when read or when they reach the LRU end, so the
    // size bound alone keeps memory in check.
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }
}
