import { Logger } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from 'src/core/database/driver-internals';
import { MemoryThrottlerStorage } from './memory-throttler.storage';

/**
 * Rate-limit counters in a shared store (Redis, so every replica counts together), falling back
 * to this replica's memory while the shared store fails: requests keep being served with a
 * per-replica limit instead of erroring. Each fallback is counted and logged (at most once a minute).
 */
export class ResilientThrottlerStorage implements ThrottlerStorage {
  private readonly memory = new MemoryThrottlerStorage();
  private readonly logger = new Logger('RateLimit');
  private lastWarning = 0;

  constructor(
    private readonly shared: ThrottlerStorage | undefined,
    private readonly onFallback: () => void,
  ) {}

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    name: string,
  ): Promise<ThrottlerStorageRecord> {
    if (this.shared) {
      try {
        return await this.shared.increment(key, ttl, limit, blockDuration, name);
      } catch (err) {
        this.onFallback();
        const now = Date.now();
        if (now - this.lastWarning > 60_000) {
          this.lastWarning = now;
          this.logger.warn(
            `shared rate-limit store unavailable, counting per replica: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
      }
    }
    return this.memory.increment(key, ttl, limit, blockDuration);
  }

  /**
   * The count at once when it is kept in this replica's memory (no shared store configured);
   * undefined when it must go to the shared store (`increment`).
   */
  incrementNow(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
  ): ThrottlerStorageRecord | undefined {
    return this.shared ? undefined : this.memory.incrementNow(key, ttl, limit, blockDuration);
  }

  onApplicationShutdown(): void {
    this.memory.onApplicationShutdown();
  }
}
