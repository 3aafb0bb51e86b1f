/**
 * A small in-memory cache: at most `maxEntries` entries, each living `ttlMs` (or less, per entry). Reads refresh an
 * entry's recency; they renew its expiry only when asked to (`get(key, true)`) and the entry was
 * stored as renewable. Inserting into a full cache evicts the least recently used.
 * A Map keeps insertion order, which is all an LRU needs.
 */
export class LruTtlCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number; renewable: boolean }>();

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (maxEntries < 1) throw new RangeError('maxEntries must be at least 1');
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * The live entry under `key`. With `renew`, a renewable entry starts a full TTL again from now;
   * an expired entry is never revived.
   */
  get(key: string, renew = false): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    const now = this.now();
    if (entry.expiresAt <= now) return undefined;
    if (renew && entry.renewable) entry.expiresAt = now + this.ttlMs;
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Stores `value` for `ttlMs` (at most the cache's TTL); `renewable` lets `get(key, true)` extend it. */
  set(key: string, value: V, ttlMs = this.ttlMs, renewable = false): void {
    this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    this.entries.set(key, {
      value,
      expiresAt: this.now() + Math.min(ttlMs, this.ttlMs),
      renewable,
    });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Drops every entry whose key passes `test`; returns how many were dropped. */
  deleteWhere(test: (key: string) => boolean): number {
    let dropped = 0;
    for (const key of [...this.entries.keys()]) {
      if (test(key)) {
        this.entries.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  clear(): void {
    this.entries.clear();
  }
}
