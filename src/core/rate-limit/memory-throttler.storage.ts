import type { ThrottlerStorage } from '@nestjs/throttler';
import { compactMs } from 'src/core/runtime/compact-ms';
import type { ThrottlerStorageRecord } from 'src/core/database/driver-internals';

/** A key's window. Times are ms after the storage's `epoch`, as compactMs keeps them. */
interface Window {
  hits: number;
  expiresAt: number;
  blockedUntil: number;
}

const SWEEP_INTERVAL_MS = 60_000;

/**
 * Per-replica rate-limit counters: one fixed window per key (a count and an expiry), O(1) per
 * request and a few bytes per key. @nestjs/throttler's own memory storage keeps every hit's
 * timestamp for the whole window, which grows with the limit and is pruned on each request.
 * Same answers as the Redis storage: blocked for `blockDuration` once the limit is passed.
 */
export class MemoryThrottlerStorage implements ThrottlerStorage {
  private readonly windows = new Map<string, Window>();
  private readonly sweeper: NodeJS.Timeout;
  /** The clock's reading when the storage was made: windows' times count from it. */
  private readonly epoch: number;

  constructor(private readonly now: () => number = Date.now) {
    this.epoch = now();
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
    const now = this.elapsed();
    let window = this.windows.get(key);
    if (!window || (window.expiresAt <= now && window.blockedUntil <= now)) {
      window = { hits: 0, expiresAt: compactMs(now + ttl), blockedUntil: 0 };
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

  /** ms since the epoch; a clock set back past it reads 0, so `blockedUntil: 0` stays unblocked. */
  private elapsed(): number {
    return Math.max(0, this.now() - this.epoch);
  }

  private sweep(): void {
    const now = this.elapsed();
    for (const [key, window] of this.windows) {
      if (window.expiresAt <= now && window.blockedUntil <= now) this.windows.delete(key);
    }
  }
}
