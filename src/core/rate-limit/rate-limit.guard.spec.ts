import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { ThrottlerModuleOptions } from '@nestjs/throttler';
import { THROTTLER_LIMIT, THROTTLER_SKIP } from 'src/core/database/driver-internals';
import type { BoardsConfig } from 'src/core/config/boards-config';
import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';
import { MetricsService } from 'src/core/metrics/metrics.service';
import { MemoryThrottlerStorage } from './memory-throttler.storage';
import { RateLimitGuard } from './rate-limit.guard';
import { ResilientThrottlerStorage } from './resilient-throttler.storage';
import { ROUTE_LIMIT_KEY } from './route-limit.decorator';

/**
 * RateLimitGuard resolves a route's limits once and then counts as ThrottlerGuard's handleRequest
 * does (at once, without a promise, while the counts are in memory); limits given as functions
 * take ThrottlerGuard's generic path. Both must answer the same: counts per caller, the route's
 * own limit and counter, skipped throttlers not counted.
 */
describe('RateLimitGuard', () => {
  const config = {
    redisKeyPrefix: 'rl-spec',
    observability: { advancedMetrics: false },
  } as BoardsConfig;
  let storage: MemoryThrottlerStorage;
  let headers: Record<string, unknown>;

  class Controller {
    plain(): void {}
    strict(): void {}
    skipped(): void {}
  }
  Reflect.defineMetadata(THROTTLER_LIMIT + 'default', 1, Controller.prototype.strict);
  Reflect.defineMetadata(ROUTE_LIMIT_KEY, 'strict', Controller.prototype.strict);
  Reflect.defineMetadata(THROTTLER_SKIP + 'default', true, Controller.prototype.skipped);

  const context = (handler: () => void, caller: string): ExecutionContext =>
    ({
      getHandler: () => handler,
      getClass: () => Controller,
      switchToHttp: () => ({
        getRequest: () => ({ headers: {}, caller }),
        getResponse: () => ({
          header: (name: string, value: unknown) => {
            headers[name.toLowerCase()] = value;
          },
        }),
      }),
    }) as unknown as ExecutionContext;

  async function guardWith(
    limit: number | (() => number),
    reflector = new Reflector(),
  ): Promise<RateLimitGuard> {
    const options: ThrottlerModuleOptions = {
      throttlers: [
        {
          name: 'default',
          ttl: 60_000,
          limit,
          getTracker: (req: Record<string, unknown>) => `user:${String(req.caller)}`,
        },
      ],
    };
    const guard = new RateLimitGuard(
      options,
      storage,
      reflector,
      new MetricsService(config),
      config,
    );
    await guard.onModuleInit();
    return guard;
  }

  /** The outcomes of `n` calls: 200, or the DomainError's code. */
  async function calls(guard: RateLimitGuard, handler: () => void, caller: string, n: number) {
    const statuses: (number | string)[] = [];
    for (let i = 0; i < n; i++) {
      try {
        await guard.canActivate(context(handler, caller));
        statuses.push(200);
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        statuses.push(err.code);
      }
    }
    return statuses;
  }

  beforeEach(() => {
    storage = new MemoryThrottlerStorage();
    headers = {};
  });

  afterEach(() => storage.onApplicationShutdown());

  describe.each([
    ['plain limits (resolved once per route)', 2],
    ['limits given as functions (generic path)', () => 2],
  ] as const)('%s', (_label, limit) => {
    it('counts per caller, across calls, and refuses past the limit (rate_limited, 429)', async () => {
      const guard = await guardWith(limit);
      expect(await calls(guard, Controller.prototype.plain, 'ada', 3)).toEqual([
        200,
        200,
        ErrorCode.RateLimited,
      ]);
      expect(await calls(guard, Controller.prototype.plain, 'bob', 2)).toEqual([200, 200]);
    });

    it('sets X-RateLimit-* from the limit that applies', async () => {
      const guard = await guardWith(limit);
      await calls(guard, Controller.prototype.plain, 'ada', 1);
      expect(headers).toMatchObject({ 'x-ratelimit-limit': 2, 'x-ratelimit-remaining': 1 });
    });

    it('gives a route with a limit of its own that limit and a counter of its own', async () => {
      const guard = await guardWith(limit);
      expect(await calls(guard, Controller.prototype.strict, 'ada', 2)).toEqual([
        200,
        ErrorCode.RateLimited,
      ]);
      expect(await calls(guard, Controller.prototype.plain, 'ada', 2)).toEqual([200, 200]);
    });

    it('does not count a route that skips the throttler', async () => {
      const guard = await guardWith(limit);
      expect(await calls(guard, Controller.prototype.skipped, 'ada', 5)).toEqual([
        200, 200, 200, 200, 200,
      ]);
      expect(await calls(guard, Controller.prototype.plain, 'ada', 3)).toEqual([
        200,
        200,
        ErrorCode.RateLimited,
      ]);
    });
  });

  it('answers at once, without a promise, while the counts are kept in memory', async () => {
    const guard = await guardWith(2);
    expect(guard.canActivate(context(Controller.prototype.plain, 'ada'))).toBe(true);
    expect(headers).toMatchObject({ 'x-ratelimit-limit': 2, 'x-ratelimit-remaining': 1 });
    expect(guard.canActivate(context(Controller.prototype.plain, 'ada'))).toBe(true);
    const refused = guard.canActivate(context(Controller.prototype.plain, 'ada'));
    expect(refused).toBeInstanceOf(Promise);
    await expect(refused).rejects.toMatchObject({ code: ErrorCode.RateLimited });
    expect(headers).toMatchObject({ 'retry-after': 60, 'x-ratelimit-remaining': 0 });
  });

  it('counts through a shared store with a promise, with the same answers and headers', async () => {
    const shared = new MemoryThrottlerStorage();
    const increment = jest.spyOn(shared, 'increment');
    storage = new ResilientThrottlerStorage(shared, () => undefined) as never;
    const guard = await guardWith(2);
    const first = guard.canActivate(context(Controller.prototype.plain, 'ada'));
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toBe(true);
    expect(headers).toMatchObject({ 'x-ratelimit-limit': 2, 'x-ratelimit-remaining': 1 });
    expect(await calls(guard, Controller.prototype.plain, 'ada', 2)).toEqual([
      200,
      ErrorCode.RateLimited,
    ]);
    expect(increment).toHaveBeenCalledTimes(3);
    shared.onApplicationShutdown();
  });

  it("a subclass's own handleRequest is called, on the promise path", async () => {
    class Counting extends RateLimitGuard {
      handled = 0;
      protected override handleRequest(
        ...args: Parameters<RateLimitGuard['handleRequest']>
      ): Promise<boolean> {
        this.handled++;
        return super.handleRequest(...args);
      }
    }
    const guard = new Counting(
      { throttlers: [{ name: 'default', ttl: 60_000, limit: 5 }] },
      storage,
      new Reflector(),
      new MetricsService(config),
      config,
    );
    await guard.onModuleInit();
    const answer = guard.canActivate(context(Controller.prototype.plain, 'ada'));
    expect(answer).toBeInstanceOf(Promise);
    expect(await answer).toBe(true);
    expect(guard.handled).toBe(1);
  });

  it('takes the promise path for a tracker that answers with a promise', async () => {
    const guard = new RateLimitGuard(
      {
        throttlers: [
          {
            name: 'default',
            ttl: 60_000,
            limit: 1,
            getTracker: (req: Record<string, unknown>) =>
              Promise.resolve(`user:${String(req.caller)}`),
          },
        ],
      },
      storage,
      new Reflector(),
      new MetricsService(config),
      config,
    );
    await guard.onModuleInit();
    const first = guard.canActivate(context(Controller.prototype.plain, 'ada'));
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toBe(true);
    expect(await calls(guard, Controller.prototype.plain, 'ada', 1)).toEqual([
      ErrorCode.RateLimited,
    ]);
  });

  it("reads a route's metadata on its first call only when its limits are plain values", async () => {
    const reflector = new Reflector();
    const reads = jest.spyOn(reflector, 'getAllAndOverride');
    const guard = await guardWith(5, reflector);
    await calls(guard, Controller.prototype.plain, 'ada', 1);
    expect(reads).toHaveBeenCalled();
    reads.mockClear();
    expect(await calls(guard, Controller.prototype.plain, 'ada', 3)).toEqual([200, 200, 200]);
    expect(reads).not.toHaveBeenCalled();

    const generic = new Reflector();
    const genericReads = jest.spyOn(generic, 'getAllAndOverride');
    const fallback = await guardWith(() => 5, generic);
    await calls(fallback, Controller.prototype.plain, 'ada', 2);
    genericReads.mockClear();
    await calls(fallback, Controller.prototype.plain, 'ada', 1);
    expect(genericReads).toHaveBeenCalled();
  });
});
