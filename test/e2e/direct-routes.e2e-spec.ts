import {
  Controller,
  Get,
  Injectable,
  Module,
  Query,
  UseGuards,
  ValidationPipe,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { APP_GUARD, NestFactory, Reflector } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { Type } from 'class-transformer';
import { ReadOnlyRoute } from 'src/core/database/tenant-transaction.interceptor';
import { HttpExceptionFilter } from 'src/core/errors/http-exception.filter';
import { directRoutesOf, installDirectRoutes, type DirectRoute } from 'src/core/http/direct-routes';

/**
 * The hot reads are dispatched directly (core/http/direct-routes): Nest's router machinery is
 * skipped, its guards, pipes, handler and filter are not. The boards suites check the routes'
 * behaviour end to end, and routes-snapshot.e2e-spec checks which routes the application
 * dispatches directly; this suite checks the dispatcher's own contract on a small application.
 */

class PageQuery {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10)
  limit?: number;
}

/** Lets a request through unless it carries `x-deny`; records the handler it was asked about. */
@Injectable()
class DenyGuard implements CanActivate {
  static readonly seen: string[] = [];

  canActivate(context: ExecutionContext): boolean {
    DenyGuard.seen.push(`${context.getClass().name}.${context.getHandler().name}`);
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string> }>();
    return request.headers['x-deny'] === undefined;
  }
}

@Controller('things')
class ThingsController {
  @Get()
  @ReadOnlyRoute()
  list(@Query() query: PageQuery): { limit: number | undefined; isDto: boolean } {
    return { limit: query.limit, isDto: query instanceof PageQuery };
  }

  @Get('boom')
  @ReadOnlyRoute()
  boom(): never {
    throw new Error('secret internal detail');
  }

  @Get('plain')
  plain(): string {
    return 'plain';
  }

  @Get('guarded')
  @ReadOnlyRoute()
  @UseGuards(DenyGuard)
  guarded(): string {
    return 'guarded';
  }
}

@Module({
  controllers: [ThingsController],
  providers: [Reflector, { provide: APP_GUARD, useClass: DenyGuard }],
})
class ThingsModule {}

const THINGS_ROUTES: DirectRoute<ThingsController>[] = [
  {
    method: 'GET',
    url: '/things',
    controller: ThingsController,
    handler: 'list',
    args: async (request, _reply, pipe) => [
      await pipe(request.query, { type: 'query', metatype: PageQuery, data: undefined }),
    ],
  },
  {
    method: 'GET',
    url: '/things/boom',
    controller: ThingsController,
    handler: 'boom',
    args: () => [],
  },
];

async function thingsApp(routes: readonly DirectRoute<unknown>[]): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(ThingsModule, new FastifyAdapter(), {
    logger: false,
    abortOnError: false,
  });
  app.useGlobalFilters(new HttpExceptionFilter());
  app.useGlobalPipes(
    new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }),
  );
  installDirectRoutes(app, routes);
  return app;
}

describe('the direct dispatcher', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await thingsApp(THINGS_ROUTES as readonly DirectRoute<unknown>[]);
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    expect(directRoutesOf(app)).toEqual(['GET /things', 'GET /things/boom']);
  });

  afterAll(async () => {
    await app?.close();
  });

  const inject = (url: string, headers: Record<string, string> = {}) =>
    app.getHttpAdapter().getInstance().inject({ method: 'GET', url, headers });

  it('runs the global guards with the controller and handler as context', async () => {
    DenyGuard.seen.length = 0;
    const response = await inject('/things?limit=3');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ limit: 3, isDto: true });
    expect(DenyGuard.seen).toEqual(['ThingsController.list']);
  });

  it('answers a refusing guard as Nest does: 403 with the error body', async () => {
    const response = await inject('/things', { 'x-deny': '1' });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ status: 403, error: expect.any(String) });
  });

  it('runs the global validation pipe: unknown or invalid parameters are 400', async () => {
    for (const url of ['/things?limit=0', '/things?limit=x', '/things?tenant_id=abc']) {
      const response = await inject(url);
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ status: 400 });
    }
  });

  it('sends a handler error through the exception filter: a 500 without internals', async () => {
    const response = await inject('/things/boom');
    expect(response.statusCode).toBe(500);
    expect(response.json()).toMatchObject({ status: 500 });
    expect(response.body).not.toContain('secret internal detail');
  });

  it.each([
    ['plain', 'the handler is not @ReadOnlyRoute()'],
    ['guarded', 'has __guards__ the dispatcher would skip'],
  ] as const)(
    'refuses to start when a listed route (%s) needs what it would skip',
    async (handler, message) => {
      const route: DirectRoute<ThingsController> = {
        method: 'GET',
        url: `/things/${handler}`,
        controller: ThingsController,
        handler,
        args: () => [],
      };
      const refused = await thingsApp([route as DirectRoute<unknown>]);
      try {
        await refused.init();
        await expect(refused.getHttpAdapter().getInstance().ready()).rejects.toThrow(message);
      } finally {
        await refused.close().catch(() => undefined);
      }
    },
  );

  it('refuses to start when a listed route is not registered by any controller', async () => {
    const stray = await thingsApp([
      ...(THINGS_ROUTES as readonly DirectRoute<unknown>[]),
      { ...THINGS_ROUTES[0], url: '/things/renamed' } as DirectRoute<unknown>,
    ]);
    try {
      await stray.init();
      await expect(stray.getHttpAdapter().getInstance().ready()).rejects.toThrow(
        'direct routes not registered by any controller: GET /things/renamed',
      );
    } finally {
      await stray.close().catch(() => undefined);
    }
  });
});
