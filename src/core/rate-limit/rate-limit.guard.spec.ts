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
import { ROUTE_LIMIT_KEY } from './route-limit.decorator';

/**
 * RateLimitGuard resolves a route's limits once and then counts with ThrottlerGuard's own
 * handleRequest; limits given as functions take ThrottlerGuard's generic path. Both must answer
 * the same: counts per caller, the route's own limit and counter, skipped throttlers not counted.
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
