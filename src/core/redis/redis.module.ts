import {
  Global,
  Inject,
  Injectable,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import Redis from 'ioredis';
import { BoardsConfig } from 'src/core/config/boards-config';

/**
 * The shared Redis connection when BOARDS_REDIS_URL is set. Commands fail fast while Redis is
 * down (no offline queue), so callers degrade instead of hanging.
 */
@Injectable()
export class RedisConnection implements OnModuleInit, OnApplicationShutdown {
  readonly client: Redis | undefined;

  constructor(@Inject(BoardsConfig) config: BoardsConfig) {
    this.client = config.redisUrl
      ? new Redis(config.redisUrl, {
          lazyConnect: true,
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          connectTimeout: 2_000,
          commandTimeout: 500,
          disconnectTimeout: 200,
          retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
        })
      : undefined;
    this.client?.on('error', () => undefined);
  }

  /** Connects before the app takes traffic (up to 2 s); a Redis that is down does not stop the start. */
  async onModuleInit(): Promise<void> {
    if (!this.client) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.client.connect().catch(() => undefined),
      new Promise((resolve) => {
        timer = setTimeout(resolve, 2_000);
      }),
    ]);
    clearTimeout(timer);
  }

  get configured(): boolean {
    return this.client !== undefined;
  }

  async ping(timeoutMs = 1_000): Promise<void> {
    if (!this.client) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.client.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('Redis did not answer in time')), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.client) return;
    await this.client.quit().catch(() => this.client?.disconnect());
  }
}

@Global()
@Module({ providers: [RedisConnection], exports: [RedisConnection] })
export class RedisModule {}
