import type { ThrottlerStorage } from '@nestjs/throttler';
import { CompactClock, compactMs } from 'src/core/runtime/compact-ms';
import type { ThrottlerStorageRecord } from 'src/core/database/driver-internals';

/** A key's window. Times are on the storage's CompactClock. */
interface Window {
  hits: number;
  expiresAt: number;
  blockedUntil: number;
}

const SWEEP_INTERVAL_MS = 60_000;
/** `blockedUntil` of a window never blocked: before any time the clock reads (int32 min). */
const NEVER_BLOCKED = -0x80000000;

/**
 * Per-replica rate-limit counters: one fixed window per key (a count and an expiry), O(1) per
 * request and a few bytes per key. @nestjs/throttler's own memory storage keeps every hit's
 * timestamp for the whole window, which grows with the limit and is pruned on each request.
 * Same answers as the Redis storage: blocked for `blockDuration` once the limit is passed.
 */
export class MemoryThrottlerStorage implements ThrottlerStorage {
  private readonly windows = new Map<string, Window>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly clock: CompactClock;

  constructor(now: () => number = Date.now) {
    this.clock = new CompactClock(now, (delta) => {
      for (const window of this.windows.values()) {
        window.expiresAt = compactMs(window.expiresAt - delta);
        if (window.blockedUntil !== NEVER_BLOCKED) {
          window.blockedUntil = compactMs(window.blockedUntil - delta);
        }
      }
    });
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
  ): Promise<ThrottlerStorageRecord> {
    return this.incrementNow(key, ttl, limit, blockDuration);
  }

  /** `increment` without a promise (the rate-limit guard counts in memory without one). */
  incrementNow(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
  ): ThrottlerStorageRecord {
    const now = this.clock.now();
    let window = this.windows.get(key);
    if (!window || (window.expiresAt <= now && window.blockedUntil <= now)) {
      window = { hits: 0, expiresAt: compactMs(now + ttl), blockedUntil: NEVER_BLOCKED };
      this.windows.set(key, window);
    }
    if (window.blockedUntil <= now) {
      window.hits++;
      if (window.hits > limit) window.blockedUntil = compactMs(now + blockDuration);
    }
    const seconds = (ms: number) => Math.max(0, Math.ceil(ms / 1000));
    const isBlocked = window.blockedUntil > now;
    return {
      totalHits: window.hits,
      timeToExpire: seconds(window.expiresAt - now),
      isBlocked,
      timeToBlockExpire: isBlocked ? seconds(window.blockedUntil - now) : 0,
    };
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const [key, window] of this.windows) {
      if (window.expiresAt <= now && window.blockedUntil <= now) this.windows.delete(key);
    }
  }
}
