import { Injectable, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerGenerateKeyFunction,
  type ThrottlerGetTrackerFunction,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import {
  THROTTLER_BLOCK_DURATION,
  THROTTLER_KEY_GENERATOR,
  THROTTLER_LIMIT,
  THROTTLER_SKIP,
  THROTTLER_TRACKER,
  THROTTLER_TTL,
} from 'src/core/database/driver-internals';
import type { FastifyReply } from 'fastify';
import { BoardsConfig } from 'src/core/config/boards-config';
import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';
import { MetricsService } from 'src/core/metrics/metrics.service';
import { ROUTE_LIMIT_KEY } from './route-limit.decorator';

/**
 * The throttler guard with this service's keys and answers: the default per-user limit and the
 * per-tenant budget are counted across all routes (not per route), a @RouteLimit operation has a
 * counter of its own, and a 429 carries X-RateLimit-Limit/Remaining/Reset, Retry-After and the
 * documented error body.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  /** Per handler and class: what the route's metadata says, read once. */
  private readonly routes = new WeakMap<object, WeakMap<object, RouteInfo>>();

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly metrics: MetricsService,
    private readonly config: BoardsConfig,
  ) {
    super(options, storage, reflector);
  }

  /**
   * Same decisions as ThrottlerGuard.canActivate, without reading six metadata keys per throttler
   * and awaiting each static value on every request: a route whose limits are plain values (all
   * of this service's) has them resolved once. Anything given as a function goes the generic way.
   */
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const { plan } = this.routeOf(context);
    if (!plan) return super.canActivate(context);
    if (await this.shouldSkip(context)) return true;
    for (const step of plan) {
      if (step.skip || step.skipIf?.(context)) continue;
      await this.handleRequest({ context, ...step.request });
    }
    return true;
  }

  private routeOf(context: ExecutionContext): RouteInfo {
    const handler = context.getHandler();
    const classRef = context.getClass();
    let byClass = this.routes.get(handler);
    if (!byClass) {
      byClass = new WeakMap();
      this.routes.set(handler, byClass);
    }
    let route = byClass.get(classRef);
    if (!route) {
      route = {
        plan: this.buildPlan([handler, classRef]),
        routeLimit: this.reflector.getAllAndOverride<string | undefined>(ROUTE_LIMIT_KEY, [
          handler,
          classRef,
        ]),
      };
      byClass.set(classRef, route);
    }
    return route;
  }

  private buildPlan(targets: Parameters<Reflector['getAllAndOverride']>[1]): RoutePlan | null {
    const plan: RoutePlan = [];
    for (const throttler of this.throttlers) {
      const read = <T>(key: string) =>
        this.reflector.getAllAndOverride<T | undefined>(key + throttler.name, targets);
      const limit = read<unknown>(THROTTLER_LIMIT) ?? throttler.limit;
      const ttl = read<unknown>(THROTTLER_TTL) ?? throttler.ttl;
      const blockDuration =
        read<unknown>(THROTTLER_BLOCK_DURATION) ?? throttler.blockDuration ?? ttl;
      if (
        typeof limit !== 'number' ||
        typeof ttl !== 'number' ||
        typeof blockDuration !== 'number'
      ) {
        return null;
      }
      plan.push({
        skip: Boolean(read<boolean>(THROTTLER_SKIP)),
        skipIf: throttler.skipIf ?? this.commonOptions.skipIf,
        request: {
          limit,
          ttl,
          blockDuration,
          throttler,
          getTracker: (read<ThrottlerGetTrackerFunction>(THROTTLER_TRACKER) ??
            throttler.getTracker ??
            this.commonOptions.getTracker) as ThrottlerGetTrackerFunction,
          generateKey: (read<ThrottlerGenerateKeyFunction>(THROTTLER_KEY_GENERATOR) ??
            throttler.generateKey ??
            this.commonOptions.generateKey) as ThrottlerGenerateKeyFunction,
        },
      });
    }
    return plan;
  }

  protected override generateKey(context: ExecutionContext, tracker: string, name: string): string {
    const route = this.routeOf(context).routeLimit;
    const scope = name === 'default' && route ? `route:${route}` : 'all';
    return `${this.config.redisKeyPrefix}:rl:${name}:${scope}:${tracker}`;
  }

  protected override async throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const route = this.routeOf(context).routeLimit;
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
      'rate_limited',
      limitName === 'tenant'
        ? `Your organization's request budget is used up; retry in ${retryAfter} s.`
        : `Too many requests (${limitName} limit); retry in ${retryAfter} s.`,
      { limit: limitName },
    );
  }
}

/** A route's @RouteLimit name, and its throttlers resolved (null: some limit is a function). */
interface RouteInfo {
  plan: RoutePlan | null;
  routeLimit: string | undefined;
}

/** A route's throttlers with their limits resolved (ThrottlerGuard.handleRequest's input). */
type RoutePlan = {
  skip: boolean;
  skipIf: ThrottlerOptions['skipIf'];
  request: {
    limit: number;
    ttl: number;
    blockDuration: number;
    throttler: ThrottlerOptions;
    getTracker: ThrottlerGetTrackerFunction;
    generateKey: ThrottlerGenerateKeyFunction;
  };
}[];
