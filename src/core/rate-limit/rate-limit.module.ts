import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule, seconds } from '@nestjs/throttler';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import type { FastifyRequest } from 'fastify';
import { BoardsConfig } from 'src/core/config/boards-config';
import { TenantContext } from 'src/core/context/tenant-context';
import { RedisConnection } from 'src/core/redis/redis.module';
import { MetricsService } from 'src/core/metrics/metrics.service';
import { RateLimitGuard } from './rate-limit.guard';
import { ResilientThrottlerStorage } from './resilient-throttler.storage';

/**
 * Rate limits (@nestjs/throttler): a default limit per caller (principal, else client address)
 * and a budget per tenant, both per minute and shared by all replicas through Redis (memory when
 * no Redis is configured, or while it is down). Import after the auth module: the guard runs
 * after authentication so it can key on the principal and tenant.
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [BoardsConfig, TenantContext, RedisConnection, MetricsService],
      useFactory: (
        config: BoardsConfig,
        context: TenantContext,
        redis: RedisConnection,
        metrics: MetricsService,
      ) => ({
        throttlers: [
          {
            name: 'default',
            ttl: seconds(60),
            limit: config.rateLimits.perUserPerMinute,
            getTracker: (req: Record<string, unknown>) => {
              const principal = context.principal;
              return principal
                ? `user:${principal.provider}:${principal.subject}`
                : `ip:${(req as unknown as FastifyRequest).ip}`;
            },
          },
          {
            name: 'tenant',
            ttl: seconds(60),
            limit: config.rateLimits.perTenantPerMinute,
            skipIf: () => context.optionalTenantId === undefined,
            getTracker: () => `tenant:${context.optionalTenantId ?? ''}`,
            // The caller's own limit is the one in X-RateLimit-*; the tenant budget shows itself on 429.
            setHeaders: false,
          },
        ],
        skipIf: () => !config.rateLimits.enabled,
        storage: new ResilientThrottlerStorage(
          redis.client ? new ThrottlerStorageRedisService(redis.client) : undefined,
          () => metrics.cacheRequests.inc({ cache: 'rate_limit_redis', result: 'error' }),
        ),
      }),
    }),
  ],
  providers: [{ provide: APP_GUARD, useClass: RateLimitGuard }],
})
export class RateLimitModule {}
