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
  type ThrottlerStorageRecord,
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
   * While the counts are kept in this replica's memory (no Redis) and the trackers answer at once,
   * the answer is `true` at once, with no promise (a refusal is a rejected promise, as before).
   */
  // @ts-expect-error Nest's CanActivate allows a boolean; ThrottlerGuard declares only a promise.
  override canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const { plan } = this.routeOf(context);
    // A subclass's own shouldSkip or handleRequest takes ThrottlerGuard's steps, with promises.
    if (
      !plan ||
      this.shouldSkip !== RateLimitGuard.prototype.shouldSkip ||
      this.handleRequest !== RateLimitGuard.prototype.handleRequest
    ) {
      return this.canActivateLater(context, plan);
    }
    return this.countFrom(context, plan, 0);
  }

  private async canActivateLater(
    context: ExecutionContext,
    plan: RoutePlan | null,
  ): Promise<boolean> {
    if (!plan) return super.canActivate(context);
    if (await this.shouldSkip(context)) return true;
    for (const step of plan) {
      if (step.skip || step.skipIf?.(context)) continue;
      await this.handleRequest({ context, ...step.request });
    }
    return true;
  }

  /** Counts the plan's throttlers from `first` on: at once until one needs a promise. */
  private countFrom(
    context: ExecutionContext,
    plan: RoutePlan,
    first: number,
  ): boolean | Promise<boolean> {
    for (let index = first; index < plan.length; index++) {
      const step = plan[index];
      if (step.skip || step.skipIf?.(context)) continue;
      let counted: true | Promise<unknown>;
      try {
        counted = this.count(context, step.request);
      } catch (err) {
        return Promise.reject(err as Error);
      }
      if (counted !== true) return counted.then(() => this.countFrom(context, plan, index + 1));
    }
    return true;
  }

  /**
   * ThrottlerGuard.handleRequest for one resolved throttler, the same steps and headers: `true`
   * when it was counted at once, else a promise of the count.
   */
  private count(context: ExecutionContext, request: ResolvedThrottler): true | Promise<unknown> {
    const { req, res } = this.getRequestResponse(context);
    const ignoreUserAgents =
      request.throttler.ignoreUserAgents ?? this.commonOptions.ignoreUserAgents;
    if (Array.isArray(ignoreUserAgents)) {
      const agent = (req.headers as Record<string, string>)['user-agent'];
      for (const pattern of ignoreUserAgents) if (pattern.test(agent)) return true;
    }
    const tracker = request.getTracker(req, context);
    if (typeof tracker !== 'string') {
      return Promise.resolve(tracker).then((value) => this.countFor(context, request, res, value));
    }
    return this.countFor(context, request, res, tracker);
  }

  private countFor(
    context: ExecutionContext,
    request: ResolvedThrottler,
    res: Record<string, unknown>,
    tracker: string,
  ): true | Promise<unknown> {
    const { throttler, ttl, limit, blockDuration } = request;
    const key = request.generateKey(context, tracker, throttler.name!);
    const storage = this.storageService as ThrottlerStorage & Partial<CountsInMemory>;
    const record = storage.incrementNow?.(key, ttl, limit, blockDuration, throttler.name!);
    const answer = (counted: ThrottlerStorageRecord) => {
      const setHeaders = throttler.setHeaders ?? this.commonOptions.setHeaders ?? true;
      const suffix = throttler.name === 'default' ? '' : `-${throttler.name}`;
      const headers = () => {
        if (!setHeaders) return true as const;
        this.setResponseHeader(res, `${this.headerPrefix}-Limit${suffix}`, limit);
        this.setResponseHeader(
          res,
          `${this.headerPrefix}-Remaining${suffix}`,
          Math.max(0, limit - counted.totalHits),
        );
        this.setResponseHeader(res, `${this.headerPrefix}-Reset${suffix}`, counted.timeToExpire);
        return true as const;
      };
      if (!counted.isBlocked) return headers();
      if (setHeaders) {
        this.setResponseHeader(res, `Retry-After${suffix}`, counted.timeToBlockExpire);
      }
      return this.throwThrottlingException(context, { limit, ttl, key, tracker, ...counted }).then(
        headers,
      );
    };
    if (record) return answer(record);
    return this.storageService
      .increment(key, ttl, limit, blockDuration, throttler.name!)
      .then(answer);
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

/** A throttler with its limits resolved (ThrottlerGuard.handleRequest's input). */
interface ResolvedThrottler {
  limit: number;
  ttl: number;
  blockDuration: number;
  throttler: ThrottlerOptions;
  getTracker: ThrottlerGetTrackerFunction;
  generateKey: ThrottlerGenerateKeyFunction;
}

/** A route's throttlers with their limits resolved. */
type RoutePlan = {
  skip: boolean;
  skipIf: ThrottlerOptions['skipIf'];
  request: ResolvedThrottler;
}[];

/** A storage that can count in memory without a promise (undefined: it must go to Redis). */
interface CountsInMemory {
  incrementNow(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    name: string,
  ): ThrottlerStorageRecord | undefined;
}
