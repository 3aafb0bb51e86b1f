import { CompactClock, compactMs } from 'src/core/runtime/compact-ms';

/**
 * What a cache bounded by bytes needs: its budget and how to weigh one entry.
 */
export interface ByteBudget<V> {
  /** Most bytes all entries together may hold, as `sizeOf` weighs them. */
  readonly maxBytes: number;
  /** An entry weighing more than this is not stored at all (default: maxBytes). */
  readonly maxEntryBytes?: number;
  /** The weight of one entry (key included), computed once when it is stored: keep it cheap. */
  readonly sizeOf: (key: string, value: V) => number;
}

export interface LruTtlCacheOptions<V> {
  /** Without it the cache is bounded by entries only. */
  readonly bytes?: ByteBudget<V>;
  readonly now?: () => number;
}

interface Entry<V> {
  readonly value: V;
  /**
   * When it expires, on the cache's CompactClock (kept in the entry itself, where an absolute
   * `Date.now()` would be a number box of its own per entry).
   */
  expiresAt: number;
  readonly renewable: boolean;
  readonly bytes: number;
  /** The cache's insertion count when the entry was last placed at the young end. */
  placed: number;
}

/**
 * A small in-memory cache: at most `maxEntries` entries (and, with a byte budget, at most
 * `maxBytes` of them by weight), each living `ttlMs` (or less, per entry). Reads refresh an
 * entry's recency (see get); they renew its expiry only when asked to (`get(key, true)`) and the entry was
 * stored as renewable. Inserting into a full cache evicts the least recently used entries until
 * both bounds hold; an entry heavier than `maxEntryBytes` is not stored. Expired entries are
 * dropped when read (their bytes freed then) or evicted like any other.
 * A Map keeps insertion order, which is all an LRU needs.
 */
export class LruTtlCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly clock: CompactClock;
  private readonly maxBytes: number;
  private readonly maxEntryBytes: number;
  private readonly sizeOf: ((key: string, value: V) => number) | undefined;
  private totalBytes = 0;
  /** How many times an entry was placed at the young end (stored, or moved there by a read). */
  private placements = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
    options: LruTtlCacheOptions<V> = {},
  ) {
    if (maxEntries < 1) throw new RangeError('maxEntries must be at least 1');
    this.clock = new CompactClock(options.now ?? Date.now, (delta) => {
      for (const entry of this.entries.values())
        entry.expiresAt = compactMs(entry.expiresAt - delta);
    });
    this.maxBytes = options.bytes?.maxBytes ?? Infinity;
    this.maxEntryBytes = Math.min(options.bytes?.maxEntryBytes ?? Infinity, this.maxBytes);
    this.sizeOf = options.bytes?.sizeOf;
    if (this.maxBytes < 1) throw new RangeError('maxBytes must be at least 1');
  }

  get size(): number {
    return this.entries.size;
  }

  /** The weight of all entries held (0 without a byte budget). */
  get bytes(): number {
    return this.totalBytes;
  }

  /**
   * The live entry under `key`. With `renew`, a renewable entry starts a full TTL again from now;
   * an expired entry is never revived.
   */
  get(key: string, renew = false): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const now = this.clock.now();
    if (entry.expiresAt <= now) {
      this.delete(key);
      return undefined;
    }
    if (renew && entry.renewable) entry.expiresAt = compactMs(now + this.ttlMs);
    // Moved to the young end only once more entries than a quarter of the cache's size have been
    // placed after it: a hot entry is read far more often than the cache turns over, and moving
    // it costs two Map operations per read. Placed among the youngest quarter, it is still far
    // from the old end, where eviction takes entries; in a cache of under 8 entries every read
    // moves it.
    if (this.placements - entry.placed > this.entries.size >> 2) {
      this.entries.delete(key);
      this.entries.set(key, entry);
      entry.placed = ++this.placements;
    }
    return entry.value;
  }

  /**
   * Stores `value` for `ttlMs` (at most the cache's TTL); `renewable` lets `get(key, true)` extend
   * it. A value heavier than the per-entry cap is not stored (and replaces nothing: any older
   * entry under `key` is dropped).
   */
  set(key: string, value: V, ttlMs = this.ttlMs, renewable = false): void {
    this.delete(key);
    const bytes = this.sizeOf ? this.sizeOf(key, value) : 0;
    if (bytes > this.maxEntryBytes) return;
    while (
      this.entries.size >= this.maxEntries ||
      (this.entries.size > 0 && this.totalBytes + bytes > this.maxBytes)
    ) {
      this.delete(this.entries.keys().next().value as string);
    }
    this.entries.set(key, {
      value,
      expiresAt: compactMs(this.clock.now() + Math.min(ttlMs, this.ttlMs)),
      renewable,
      bytes,
      placed: ++this.placements,
    });
    this.totalBytes += bytes;
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
  }

  /** Drops every entry whose key passes `test`; returns how many were dropped. */
  deleteWhere(test: (key: string) => boolean): number {
    let dropped = 0;
    for (const key of [...this.entries.keys()]) {
      if (test(key)) {
        this.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  clear(): void {
    this.entries.clear();
    this.totalBytes = 0;
  }
}
