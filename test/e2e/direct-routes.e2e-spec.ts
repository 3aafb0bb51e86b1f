import { AsyncLocalStorage } from 'node:async_hooks';
import {
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  Injectable,
  Module,
  Param,
  ParseIntPipe,
  Post,
  Put,
  Query,
  Req,
  Res,
  UseGuards,
  UseInterceptors,
  ValidationPipe,
  type CallHandler,
  type CanActivate,
  type ExecutionContext,
  type NestInterceptor,
  type Type as ClassType,
} from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR, NestFactory, Reflector } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { Type } from 'class-transformer';
import type { FastifyReply } from 'fastify';
import { map, of, type Observable } from 'rxjs';
import { ReadOnlyRoute } from 'src/core/database/tenant-transaction.interceptor';
import { HttpExceptionFilter } from 'src/core/errors/http-exception.filter';
import type { AroundInterceptor } from 'src/core/http/around-interceptor';
import { DirectRoute, directRoutesOf, installDirectRoutes } from 'src/core/http/direct-routes';

/**
 * Handlers marked @DirectRoute are dispatched directly (core/http/direct-routes,
 * docs/adr/0001-direct-routes.md): Nest's router machinery is skipped, its guards, pipes, handler
 * and filter are not, and the arguments come from Nest's own parameter metadata. The boards
 * suites check the real routes end to end (with and without the dispatcher), routes-snapshot
 * marks which routes are direct; this suite checks the dispatcher's contract on a small
 * application, and that start-up refuses what it could not honour.
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
  @DirectRoute()
  list(@Query() query: PageQuery): { limit: number | undefined; isDto: boolean } {
    return { limit: query.limit, isDto: query instanceof PageQuery };
  }

  /** Changes its own query DTO: the next request must not see the change. */
  @Get('mutate')
  @ReadOnlyRoute()
  @DirectRoute()
  mutate(@Query() query: PageQuery): { limit: number | undefined; isDto: boolean } {
    const seen = { limit: query.limit, isDto: query instanceof PageQuery };
    query.limit = 99;
    return seen;
  }

  @Get('boom')
  @ReadOnlyRoute()
  @DirectRoute()
  boom(): never {
    throw new Error('secret internal detail');
  }

  @Get(':n/double')
  @ReadOnlyRoute()
  @DirectRoute()
  double(
    @Param('n', new ParseIntPipe()) n: number,
    @Query('label') label: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): { doubled: number; label: string | null } {
    void reply.header('x-doubled', String(n * 2));
    return { doubled: n * 2, label: label ?? null };
  }

  @Get('plain')
  plain(): string {
    return 'plain';
  }
}

@Module({
  controllers: [ThingsController],
  providers: [Reflector, { provide: APP_GUARD, useClass: DenyGuard }],
})
class ThingsModule {}

async function appOf(
  module: ClassType<unknown>,
  direct: boolean,
  providers: 'none' | 'interceptor' = 'none',
): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(module, new FastifyAdapter(), {
    logger: false,
    abortOnError: false,
  });
  app.useGlobalFilters(new HttpExceptionFilter());
  app.useGlobalPipes(
    new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }),
  );
  if (providers === 'interceptor') app.useGlobalInterceptors(new CountingInterceptor());
  if (direct) installDirectRoutes(app);
  return app;
}

/** `module`'s application started and ready, with the dispatcher (`direct`) or without. */
async function started(
  module: ClassType<unknown>,
  direct: boolean,
): Promise<NestFastifyApplication> {
  const app = await appOf(module, direct);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

class CountingInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle();
  }
}

describe('the direct dispatcher', () => {
  let app: NestFastifyApplication;
  let nest: NestFastifyApplication;

  beforeAll(async () => {
    app = await started(ThingsModule, true);
    // The same application without the dispatcher: every answer must be the same.
    nest = await started(ThingsModule, false);
  });

  afterAll(async () => {
    await app?.close();
    await nest?.close();
  });

  const inject = (target: NestFastifyApplication, url: string, headers = {}) =>
    target.getHttpAdapter().getInstance().inject({ method: 'GET', url, headers });

  it('finds the @DirectRoute handlers and only them', () => {
    expect(directRoutesOf(app).sort()).toEqual(
      ['GET /things', 'GET /things/:n/double', 'GET /things/boom', 'GET /things/mutate'].sort(),
    );
    expect(directRoutesOf(nest)).toEqual([]);
  });

  it('runs the global guards with the controller and handler as context', async () => {
    DenyGuard.seen.length = 0;
    const response = await inject(app, '/things?limit=3');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ limit: 3, isDto: true });
    expect(DenyGuard.seen).toEqual(['ThingsController.list']);
  });

  it.each([
    ['/things?limit=3', {}],
    ['/things', { 'x-deny': '1' }],
    ['/things?limit=0', {}],
    ['/things?limit=x', {}],
    ['/things?tenant_id=abc', {}],
    ['/things/boom', {}],
    ['/things/21/double?label=hi', {}],
    ['/things/21/double', {}],
    ['/things/abc/double', {}],
  ] as const)('answers %s %j exactly as Nest does', async (url, headers) => {
    const direct = await inject(app, url, headers);
    const viaNest = await inject(nest, url, headers);
    expect(direct.statusCode).toBe(viaNest.statusCode);
    const { request_id: directId, ...directBody } = direct.json<Record<string, unknown>>();
    const { request_id: nestId, ...nestBody } = viaNest.json<Record<string, unknown>>();
    expect(directBody).toEqual(nestBody);
    expect(typeof directId).toBe(typeof nestId);
    expect(direct.headers['x-doubled']).toBe(viaNest.headers['x-doubled']);
  });

  it('derives @Param with its pipe, @Query by key and @Res({ passthrough: true })', async () => {
    const response = await inject(app, '/things/21/double?label=hi');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ doubled: 42, label: 'hi' });
    expect(response.headers['x-doubled']).toBe('42');
    expect((await inject(app, '/things/abc/double')).statusCode).toBe(400);
  });

  it('remembers validated query DTOs per query string: each request its own copy, refusals every time', async () => {
    // The same query string again and again: the same DTO each time, even after a handler
    // changed its own copy.
    for (let i = 0; i < 3; i++) {
      const response = await inject(app, '/things/mutate?limit=3');
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ limit: 3, isDto: true });
    }
    expect((await inject(app, '/things/mutate')).json()).toEqual({ isDto: true });
    // Each query string its own answer, in any order.
    for (const limit of [1, 2, 3, 2, 1, 3]) {
      expect((await inject(app, `/things?limit=${limit}`)).json()).toEqual({ limit, isDto: true });
    }
    // A refused query string is refused every time, and a valid one after it still answers.
    for (let i = 0; i < 2; i++) {
      expect((await inject(app, '/things?limit=0')).statusCode).toBe(400);
      expect((await inject(app, '/things?limit=3&extra=1')).statusCode).toBe(400);
    }
    expect((await inject(app, '/things?limit=4')).json()).toEqual({ limit: 4, isDto: true });
  });

  it('sends a handler error through the exception filter: a 500 without internals', async () => {
    const response = await inject(app, '/things/boom');
    expect(response.statusCode).toBe(500);
    expect(response.json()).toMatchObject({ status: 500 });
    expect(response.body).not.toContain('secret internal detail');
  });
});

class NoteBody {
  @IsString()
  @MaxLength(20)
  text!: string;
}

/** The async context an interceptor opens around the rest of the chain. */
const requestScope = new AsyncLocalStorage<string>();

/** Records the order interceptors and handlers run in, per request (`x-trace` names it). */
const traces = new Map<string, string[]>();
const trace = (context: ExecutionContext, step: string) => {
  const request = context.switchToHttp().getRequest<{ headers: Record<string, string> }>();
  const id = request.headers['x-trace'];
  if (id) traces.set(id, [...(traces.get(id) ?? []), step]);
};

/** A global interceptor: runs the rest of the chain inside its own async context. */
class ScopeInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    trace(context, `global:${context.getClass().name}.${context.getHandler().name}`);
    return requestScope.run('scoped', () => next.handle());
  }
}

@Injectable()
class ControllerInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    trace(context, 'controller');
    return next.handle().pipe(map((value) => ({ wrapped: value })));
  }
}

@Injectable()
class HandlerInterceptor implements NestInterceptor {
  intercept(
    context: ExecutionContext,
    next: CallHandler,
  ): Observable<unknown> | Promise<Observable<unknown>> {
    trace(context, 'handler');
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string> }>();
    if (request.headers['x-refuse'] !== undefined) throw new Error('refused by an interceptor');
    // Resolves later, as an interceptor that looks something up first would.
    return new Promise((resolve) => setImmediate(() => resolve(next.handle())));
  }
}

/** A guard that answers with an observable, or a promise of one, when asked to by a header. */
@Injectable()
class LaterGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean | Observable<boolean> | Promise<boolean> {
    const headers = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, string> }>().headers;
    if (headers['x-deny-observable'] !== undefined) return of(false);
    // Nest's types do not describe this one, but its GuardsConsumer reads it (pickResult).
    if (headers['x-deny-promised'] !== undefined)
      return Promise.resolve(of(false)) as unknown as Promise<boolean>;
    if (headers['x-allow-observable'] !== undefined) return of(true);
    return true;
  }
}

@Controller('notes')
@UseInterceptors(ControllerInterceptor)
class NotesController {
  @Post()
  @DirectRoute()
  @UseInterceptors(HandlerInterceptor)
  create(
    @Body() body: NoteBody,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ text: string; isDto: boolean; scope: string | undefined }> {
    void reply.header('location', `/notes/${body.text}`);
    return Promise.resolve({
      text: body.text,
      isDto: body instanceof NoteBody,
      scope: requestScope.getStore(),
    });
  }

  @Post('accepted')
  @HttpCode(202)
  @DirectRoute()
  accept(@Body('text') text: string): { text: string } {
    if (text === 'boom') throw new Error('secret write detail');
    return { text };
  }
}

@Module({
  controllers: [NotesController],
  providers: [
    Reflector,
    ControllerInterceptor,
    HandlerInterceptor,
    { provide: APP_GUARD, useClass: DenyGuard },
    { provide: APP_GUARD, useClass: LaterGuard },
    { provide: APP_INTERCEPTOR, useClass: ScopeInterceptor },
  ],
})
class NotesModule {}

describe('the direct dispatcher for a write (POST)', () => {
  let app: NestFastifyApplication;
  let nest: NestFastifyApplication;

  beforeAll(async () => {
    app = await started(NotesModule, true);
    nest = await started(NotesModule, false);
  });

  afterAll(async () => {
    await app?.close();
    await nest?.close();
  });

  const post = (
    target: NestFastifyApplication,
    url: string,
    body: unknown,
    headers: Record<string, string> = {},
  ) =>
    target
      .getHttpAdapter()
      .getInstance()
      .inject({
        method: 'POST',
        url,
        payload: typeof body === 'string' ? body : JSON.stringify(body),
        headers: { 'content-type': 'application/json', ...headers },
      });

  it('is installed for the POST handlers, with a global interceptor (which a direct read refuses)', () => {
    expect(directRoutesOf(app).sort()).toEqual(['POST /notes', 'POST /notes/accepted']);
  });

  it('runs the global, controller and handler interceptors in order, the handler in their async context', async () => {
    const response = await post(app, '/notes', { text: 'hello' }, { 'x-trace': 'direct' });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual({ wrapped: { text: 'hello', isDto: true, scope: 'scoped' } });
    expect(response.headers.location).toBe('/notes/hello');
    await post(nest, '/notes', { text: 'hello' }, { 'x-trace': 'nest' });
    expect(traces.get('direct')).toEqual([
      'global:NotesController.create',
      'controller',
      'handler',
    ]);
    expect(traces.get('direct')).toEqual(traces.get('nest'));
  });

  it('validates the body inside the interceptors (inside the tenant transaction), as Nest does', async () => {
    const refused = await post(
      app,
      '/notes',
      { text: 'x'.repeat(21) },
      { 'x-trace': 'direct-400' },
    );
    expect(refused.statusCode).toBe(400);
    await post(nest, '/notes', { text: 'x'.repeat(21) }, { 'x-trace': 'nest-400' });
    expect(traces.get('direct-400')).toEqual([
      'global:NotesController.create',
      'controller',
      'handler',
    ]);
    expect(traces.get('direct-400')).toEqual(traces.get('nest-400'));
  });

  it.each([
    ['a valid body', '/notes', { text: 'hello' }, {}],
    ['a body that fails validation', '/notes', { text: 'x'.repeat(21) }, {}],
    ['an unknown field', '/notes', { text: 'a', tenant_id: 'b' }, {}],
    ['no body', '/notes', '', {}],
    ['malformed JSON', '/notes', '{"text":', {}],
    ['a guard that says no', '/notes', { text: 'a' }, { 'x-deny': '1' }],
    ['an interceptor that throws', '/notes', { text: 'a' }, { 'x-refuse': '1' }],
    ['a guard whose observable says no', '/notes', { text: 'a' }, { 'x-deny-observable': '1' }],
    [
      'a guard whose promised observable says no',
      '/notes',
      { text: 'a' },
      { 'x-deny-promised': '1' },
    ],
    ['a guard whose observable says yes', '/notes', { text: 'a' }, { 'x-allow-observable': '1' }],
    ['@HttpCode and @Body by key', '/notes/accepted', { text: 'later' }, {}],
    ['a handler that throws', '/notes/accepted', { text: 'boom' }, {}],
  ] as const)('answers %s exactly as Nest does', async (_name, url, body, headers) => {
    const direct = await post(app, url, body, headers);
    const viaNest = await post(nest, url, body, headers);
    expect(direct.statusCode).toBe(viaNest.statusCode);
    const strip = (text: string) => {
      const { request_id: _id, ...rest } = JSON.parse(text) as Record<string, unknown>;
      return rest;
    };
    expect(strip(direct.body)).toEqual(strip(viaNest.body));
    expect(direct.headers.location).toBe(viaNest.headers.location);
    expect(direct.body).not.toContain('secret write detail');
  });
});

/** How often each way of an AroundInterceptor ran (direct: `around`; Nest's router: `intercept`). */
const aroundCalls = { around: 0, intercept: 0 };

/** A global interceptor with both ways: the rest of the chain inside its own async context. */
class ScopeAround implements AroundInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    aroundCalls.intercept++;
    trace(context, 'global');
    return requestScope.run('around-scope', () => next.handle());
  }

  around(context: ExecutionContext, proceed: () => Promise<unknown>): Promise<unknown> {
    aroundCalls.around++;
    trace(context, 'global');
    return requestScope.run('around-scope', proceed);
  }
}

/** A handler interceptor with both ways: wraps the answer, or refuses at once (x-refuse). */
@Injectable()
class WrapAround implements AroundInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    this.check(context);
    return next.handle().pipe(map((value) => ({ wrapped: value })));
  }

  async around(context: ExecutionContext, proceed: () => Promise<unknown>): Promise<unknown> {
    this.check(context);
    return { wrapped: await proceed() };
  }

  private check(context: ExecutionContext): void {
    trace(context, 'handler');
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string> }>();
    if (request.headers['x-refuse'] !== undefined) throw new Error('refused by an interceptor');
  }
}

@Controller('around')
class AroundController {
  @Post()
  @DirectRoute()
  @UseInterceptors(WrapAround)
  create(@Body() body: NoteBody): { text: string; scope: string | undefined } {
    if (body.text === 'boom') throw new Error('secret write detail');
    return { text: body.text, scope: requestScope.getStore() };
  }
}

@Module({
  controllers: [AroundController],
  providers: [Reflector, WrapAround, { provide: APP_INTERCEPTOR, useClass: ScopeAround }],
})
class AroundModule {}

describe('the direct dispatcher with interceptors that run around a promise', () => {
  let app: NestFastifyApplication;
  let nest: NestFastifyApplication;

  beforeAll(async () => {
    app = await started(AroundModule, true);
    nest = await started(AroundModule, false);
  });

  afterAll(async () => {
    await app?.close();
    await nest?.close();
  });

  const post = (target: NestFastifyApplication, body: unknown, headers = {}) =>
    target
      .getHttpAdapter()
      .getInstance()
      .inject({
        method: 'POST',
        url: '/around',
        payload: JSON.stringify(body),
        headers: { 'content-type': 'application/json', ...headers },
      });

  it('calls `around`, in the same order and async context as Nest calls `intercept`', async () => {
    aroundCalls.around = aroundCalls.intercept = 0;
    const direct = await post(app, { text: 'hi' }, { 'x-trace': 'around-direct' });
    expect(aroundCalls).toEqual({ around: 1, intercept: 0 });
    const viaNest = await post(nest, { text: 'hi' }, { 'x-trace': 'around-nest' });
    expect(aroundCalls).toEqual({ around: 1, intercept: 1 });
    expect(direct.statusCode).toBe(201);
    expect(direct.json()).toEqual({ wrapped: { text: 'hi', scope: 'around-scope' } });
    expect(direct.json()).toEqual(viaNest.json());
    expect(traces.get('around-direct')).toEqual(['global', 'handler']);
    expect(traces.get('around-direct')).toEqual(traces.get('around-nest'));
  });

  it.each([
    ['a body that fails validation', { text: 'x'.repeat(21) }, {}],
    ['an interceptor that throws', { text: 'a' }, { 'x-refuse': '1' }],
    ['a handler that throws', { text: 'boom' }, {}],
  ] as const)('answers %s exactly as Nest does', async (_name, body, headers) => {
    const direct = await post(app, body, headers);
    const viaNest = await post(nest, body, headers);
    expect(direct.statusCode).toBe(viaNest.statusCode);
    expect(direct.statusCode).toBeGreaterThanOrEqual(400);
    const strip = (text: string) => {
      const { request_id: _id, ...rest } = JSON.parse(text) as Record<string, unknown>;
      return rest;
    };
    expect(strip(direct.body)).toEqual(strip(viaNest.body));
    expect(direct.body).not.toContain('secret write detail');
  });
});

/** A one-handler module whose handler is declared direct and has what is named. */
function moduleWith(decorate: (target: object, key: string) => void): ClassType<unknown> {
  @Controller('probe')
  class ProbeController {
    @Get()
    @ReadOnlyRoute()
    @DirectRoute()
    probe(_value?: unknown): string {
      return 'probe';
    }
  }
  decorate(ProbeController.prototype, 'probe');
  @Module({ controllers: [ProbeController], providers: [Reflector] })
  class ProbeModule {}
  return ProbeModule;
}

const methodDecorator =
  (decorator: MethodDecorator) =>
  (target: object, key: string): void => {
    const descriptor = Object.getOwnPropertyDescriptor(target, key)!;
    decorator(target, key, descriptor);
  };

const parameterDecorator =
  (decorator: ParameterDecorator) =>
  (target: object, key: string): void => {
    decorator(target, key, 0);
  };

@Injectable()
class PassGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

describe('start-up refuses a @DirectRoute it could not honour', () => {
  it('a parameter without a decorator it can derive', async () => {
    await expect(
      appOf(
        moduleWith(() => undefined),
        true,
      ),
    ).rejects.toThrow('every parameter needs a decorator');
  });

  it.each([
    [
      '@Header (answered 200 without it before)',
      methodDecorator(Header('x-probe', '1')),
      '@Header',
    ],
    ['@HttpCode', methodDecorator(HttpCode(203)), '@HttpCode'],
    ['a route guard', methodDecorator(UseGuards(PassGuard)), '__guards__'],
    [
      'a route interceptor',
      methodDecorator(UseInterceptors(CountingInterceptor)),
      '__interceptors__',
    ],
    ['@Req()', parameterDecorator(Req()), 'only @Query, @Param, @Body and @Res'],
    ['@Res() without passthrough', parameterDecorator(Res()), 'passthrough'],
    ['a pipe class', parameterDecorator(Param('id', ParseIntPipe)), 'only pipe instances'],
  ] as const)('%s', async (_name, decorate, message) => {
    await expect(appOf(moduleWith(decorate), true)).rejects.toThrow(message);
  });

  it.each([
    ['a GET that is not @ReadOnlyRoute', [Get(), DirectRoute()], 'not @ReadOnlyRoute()'],
    [
      'a POST that is @ReadOnlyRoute',
      [Post(), ReadOnlyRoute(), DirectRoute()],
      'a POST is a write',
    ],
    ['a method other than GET and POST', [Put(), DirectRoute()], 'not a GET or a POST'],
  ] as const)('%s', async (_name, decorators, message) => {
    @Controller('probe')
    class ProbeController {
      probe(): string {
        return 'probe';
      }
    }
    const descriptor = Object.getOwnPropertyDescriptor(ProbeController.prototype, 'probe')!;
    for (const decorator of decorators) decorator(ProbeController.prototype, 'probe', descriptor);
    @Module({ controllers: [ProbeController] })
    class ProbeModule {}
    await expect(appOf(ProbeModule, true)).rejects.toThrow(message);
  });

  it('a request-scoped global enhancer (which it would not see)', async () => {
    @Module({
      controllers: [NotesController],
      providers: [
        Reflector,
        ControllerInterceptor,
        HandlerInterceptor,
        // Scope.REQUEST by value: the codebase's lint refuses the name, and this is the one place
        // that needs it, to show start-up refusing it.
        { provide: APP_INTERCEPTOR, useClass: CountingInterceptor, scope: 2 },
      ],
    })
    class RequestScopedModule {}
    const app = await appOf(RequestScopedModule, true);
    try {
      await app.init();
      await expect(app.getHttpAdapter().getInstance().ready()).rejects.toThrow(
        'request-scoped global guards, interceptors, pipes or filters',
      );
    } finally {
      await app.close().catch(() => undefined);
    }
  });

  it('a global interceptor the dispatcher would skip', async () => {
    const app = await appOf(ThingsModule, true, 'interceptor');
    try {
      await app.init();
      await expect(app.getHttpAdapter().getInstance().ready()).rejects.toThrow(
        'a global interceptor the dispatcher would skip',
      );
    } finally {
      await app.close().catch(() => undefined);
    }
  });

  it('a global interceptor provider (APP_INTERCEPTOR) the dispatcher would skip', async () => {
    @Module({
      controllers: [ThingsController],
      providers: [Reflector, { provide: APP_INTERCEPTOR, useClass: CountingInterceptor }],
    })
    class InterceptedModule {}
    const app = await appOf(InterceptedModule, true);
    try {
      await app.init();
      await expect(app.getHttpAdapter().getInstance().ready()).rejects.toThrow(
        'a global interceptor the dispatcher would skip',
      );
    } finally {
      await app.close().catch(() => undefined);
    }
  });
});
