import { Injectable, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { ThrottlerLimitDetail } from '@nestjs/throttler/dist/throttler.guard.interface';
import type { FastifyReply } from 'fastify';
import { BoardsConfig } from 'src/core/config/boards-config';
import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';
import { MetricsService } from 'src/modules/metrics/metrics.service';
import { ROUTE_LIMIT_KEY } from './route-limit.decorator';

/**
 * The throttler guard with this service's keys and answers: the default per-user limit and the
 * per-tenant budget are counted across all routes (not per route), a @RouteLimit operation has a
 * counter of its own, and a 429 carries X-RateLimit-Limit/Remaining/Reset, Retry-After and the
 * documented error body.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly metrics: MetricsService,
    private readonly config: BoardsConfig,
  ) {
    super(options, storage, reflector);
  }

  protected override generateKey(context: ExecutionContext, tracker: string, name: string): string {
    const route = this.reflector.getAllAndOverride<string | undefined>(ROUTE_LIMIT_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    const scope = name === 'default' && route ? `route:${route}` : 'all';
    return `${this.config.redisKeyPrefix}:rl:${name}:${scope}:${tracker}`;
  }

  protected override async throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const route = this.reflector.getAllAndOverride<string | undefined>(ROUTE_LIMIT_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    const name = /:rl:([^:]+):/.exec(detail.key)?.[1] ?? 'default';
    const limitName = name === 'default' ? (route ?? 'user') : name;
    this.metrics.rateLimited.inc({ limit: limitName });
    const retryAfter = Math.max(1, Math.ceil(detail.timeToBlockExpire));
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    void reply.header('x-ratelimit-limit', detail.limit);
    void reply.header('x-ratelimit-remaining', 0);
    void reply.header('x-ratelimit-reset', retryAfter);
    void reply.header('retry-after', retryAfter);
    throw new DomainError(
      ErrorCode.RateLimited,
      limitName === 'tenant'
        ? `Your organization's request budget is used up; retry in ${retryAfter} s.`
        : `Too many requests (${limitName} limit); retry in ${retryAfter} s.`,
      { limit: limitName },
    );
  }
}
