import type Redis from 'ioredis';

/** How often the counts of this process are added to the shared ones in Redis. */
export const SHARED_SYNC_INTERVAL_MS = 200;
/** Keys kept in memory at most; past this, windows that ended go first, then the oldest keys. */
const MAX_KEYS = 100_000;
/** Keys past this share of the limit have their shared total read back on every sync. */
const WATCH_SHARE = 0.25;
/** At most this many watched keys are read back per sync. */
const MAX_WATCHED_PER_SYNC = 1_000;

interface Counter {
  /** The window (start time / window length) these counts belong to. */
  window: number;
  /** Hits in this process during the window. */
  local: number;
  /** Hits of the other processes, as Redis last reported them. */
  others: number;
  /** Local hits not yet added to Redis. */
  unsynced: number;
}

export interface Verdict {
  readonly allowed: boolean;
  /** Seconds until the window ends. */
  readonly retryAfterSeconds: number;
}

/**
 * Fixed-window counters per key (a client address), answered from memory on every request and,
 * when Redis is given, shared with the other processes: each process adds its counts to Redis
 * every SHARED_SYNC_INTERVAL_MS (one pipelined round trip for all keys that changed) and reads the
 * totals back, so a client spreading requests over replicas is limited by the total, a little
 * late (by one sync) at worst. A request never waits for Redis; when Redis is down each process
 * limits on its own counts.
 */
export class ClientRateLimiter {
  private readonly counters = new Map<string, Counter>();
  private readonly dirty = new Set<string>();
  /**
   * Keys near their limit: their totals are read back on every sync even without local hits, so
   * a client whose requests go to the other replicas is stopped here too.
   */
  private readonly watched = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private syncing = false;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly redis?: { client: Redis; prefix: string },
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one hit for `key` and says whether it is within the limit. */
  hit(key: string): Verdict {
    const counter = this.current(key);
    counter.local++;
    if (this.redis) {
      counter.unsynced++;
      this.dirty.add(key);
      if (counter.local + counter.others >= this.limit * WATCH_SHARE) this.watched.add(key);
      this.scheduleSync();
    }
    return this.verdict(counter, 0);
  }

  /** Whether one more hit for `key` would be within the limit, without counting one. */
  check(key: string): Verdict {
    return this.verdict(this.current(key), 1);
  }

  /** Sends the unsynced counts now (tests; shutdown). */
  async flush(): Promise<void> {
    await this.sync();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.watched.clear();
    this.dirty.clear();
  }

  private verdict(counter: Counter, next: number): Verdict {
    const elapsed = this.now() - counter.window * this.windowMs;
    return {
      allowed: counter.local + counter.others + next <= this.limit,
      retryAfterSeconds: Math.max(1, Math.ceil((this.windowMs - elapsed) / 1000)),
    };
  }

  private current(key: string): Counter {
    const window = Math.floor(this.now() / this.windowMs);
    let counter = this.counters.get(key);
    if (!counter || counter.window !== window) {
      if (!counter && this.counters.size >= MAX_KEYS) this.evict(window);
      counter = { window, local: 0, others: 0, unsynced: 0 };
      this.counters.set(key, counter);
    }
    return counter;
  }

  private evict(window: number): void {
    for (const [key, counter] of this.counters) {
      if (counter.window !== window) {
        this.counters.delete(key);
        this.dirty.delete(key);
      }
    }
    // Still full: every key is in this window; the oldest go (Map keeps insertion order).
    for (const key of this.counters.keys()) {
      if (this.counters.size < MAX_KEYS) break;
      this.counters.delete(key);
      this.dirty.delete(key);
    }
  }

  private scheduleSync(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.sync();
    }, SHARED_SYNC_INTERVAL_MS);
    this.timer.unref();
  }

  private async sync(): Promise<void> {
    if (!this.redis || this.syncing || (this.dirty.size === 0 && this.watched.size === 0)) return;
    this.syncing = true;
    const window = Math.floor(this.now() / this.windowMs);
    const batch: { key: string; counter: Counter; sent: number }[] = [];
    for (const key of this.dirty) {
      const counter = this.counters.get(key);
      if (counter && counter.unsynced > 0) batch.push({ key, counter, sent: counter.unsynced });
    }
    this.dirty.clear();
    let readBack = 0;
    for (const key of this.watched) {
      const counter = this.counters.get(key);
      if (!counter || counter.window !== window) {
        this.watched.delete(key);
      } else if (counter.unsynced === 0 && readBack < MAX_WATCHED_PER_SYNC) {
        batch.push({ key, counter, sent: 0 });
        readBack++;
      }
    }
    const { client, prefix } = this.redis;
    try {
      const pipeline = client.pipeline();
      for (const { key, counter, sent } of batch) {
        const redisKey = `${prefix}:client-limit:${counter.window}:${key}`;
        pipeline.incrby(redisKey, sent);
        pipeline.pexpire(redisKey, this.windowMs * 2);
      }
      const results = (await pipeline.exec()) ?? [];
      batch.forEach(({ counter, sent }, index) => {
        counter.unsynced -= sent;
        const [error, total] = results[index * 2] ?? [];
        // The shared total includes what this process sent; the rest is the other processes'.
        if (!error && typeof total === 'number') {
          counter.others = Math.max(0, total - (counter.local - counter.unsynced));
        }
      });
    } catch {
      // Redis is away: the counts stay local (and are sent with the next sync that works).
      for (const { key } of batch) this.dirty.add(key);
    } finally {
      this.syncing = false;
      if (this.dirty.size > 0 || this.watched.size > 0) this.scheduleSync();
    }
  }
}
