import { AsyncResource } from 'node:async_hooks';
import {
  ForbiddenException,
  RequestMethod,
  SetMetadata,
  type ArgumentMetadata,
  type CanActivate,
  type ExceptionFilter,
  type NestInterceptor,
  type PipeTransform,
  type Type,
  ValidationPipe,
} from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { getMetadataStorage } from 'class-validator';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import {
  defer,
  from,
  isObservable,
  lastValueFrom,
  mergeAll,
  mergeMap,
  of,
  type Observable,
} from 'rxjs';
import {
  EXCEPTION_FILTERS_METADATA,
  globalEnhancersOf,
  globalPrefixOf,
  GUARDS_METADATA,
  HEADERS_METADATA,
  HTTP_CODE_METADATA,
  httpExecutionContext,
  INTERCEPTORS_METADATA,
  isClsPassThroughInterceptor,
  METHOD_METADATA,
  PATH_METADATA,
  PIPES_METADATA,
  REDIRECT_METADATA,
  RENDER_METADATA,
  RESPONSE_PASSTHROUGH_METADATA,
  routeArgumentsOf,
  RouteParamtypes,
  SSE_METADATA,
  type RouteArgument,
} from 'src/core/database/driver-internals';
import {
  isReadOnlyRoute,
  TenantTransactionInterceptor,
} from 'src/core/database/tenant-transaction.interceptor';

import { checkableValidationPipe, compileBodyCheck } from './body-check';
import { runsAround, type AroundInterceptor } from './around-interceptor';

export const DIRECT_ROUTE_KEY = 'boards:direct-route';

/**
 * Declares a hot handler dispatched directly (docs/adr/0001-direct-routes.md): the same global
 * guards (in Nest's order), global and parameter pipes, handler and exception filter, without
 * Nest's per-request router machinery (its observables and subjects, parameter factories). Its
 * arguments come from Nest's own parameter metadata (@Query, @Param with pipe instances, @Body,
 * @Res({ passthrough: true })). Two kinds:
 * - a @ReadOnlyRoute GET, which runs no interceptor: start-up refuses a global interceptor other
 *   than the pass-through ones, and any interceptor of its own;
 * - a POST (a write, not @ReadOnlyRoute), whose interceptors run as Nest runs them: the global
 *   ones, then the controller's, then the handler's, each `next.handle()` in the async context it
 *   was called in; its status is @HttpCode's or 201, set before the interceptors run.
 * At start, installDirectRoutes refuses any other method, and what the dispatcher would not
 * honour: parameter decorators of other kinds, @Header, @Redirect, @Render, @Sse, @HttpCode on a
 * GET, route-level guards, pipes or filters.
 */
export const DirectRoute = (): MethodDecorator => SetMetadata(DIRECT_ROUTE_KEY, true);

type Pipe = (value: unknown, metadata: ArgumentMetadata) => Promise<unknown>;

interface Enhancers {
  readonly guards: CanActivate[];
  /** The global interceptors, in order (run for write routes only). */
  readonly interceptors: NestInterceptor[];
  /** The global pipes in order, as one function. */
  readonly pipe: Pipe;
  /**
   * Whether the global pipes are Nest's ValidationPipe only: their answer for a query DTO is then
   * a function of the query string alone, and may be remembered (QueryMemo).
   */
  readonly pure: boolean;
  /**
   * Whether the global pipes are one ValidationPipe whose acceptance of a body compileBodyCheck
   * reproduces: a body its check accepts skips the pipe.
   */
  readonly checkedBodies: boolean;
  readonly filter: ExceptionFilter;
}

/** One handler's argument, from the request. */
type ArgumentSource = (
  request: FastifyRequest,
  reply: FastifyReply,
  enhancers: Enhancers,
) => unknown;

/** How many distinct query strings a route's QueryMemo remembers. */
const QUERY_MEMO_SIZE = 256;

/**
 * Validators whose values come from a closed set (numbers, booleans, enumerations): a remembered
 * query made only of these tells nobody anything about another caller's free text.
 */
const CLOSED_CONSTRAINTS = new Set(['isIn', 'isEnum', 'isInt', 'isNumber', 'isBoolean']);

/** A shallow copy of `dto`, of the same class. */
function copyOf(dto: object): object {
  return Object.assign(Object.create(Object.getPrototypeOf(dto) as object) as object, dto);
}

/**
 * The validated query DTOs of one route, by query string. Validation (class-transformer, then
 * class-validator under the global ValidationPipe) is a pure function of the query string, and
 * costs more than the rest of a cached read's own work; most requests repeat a few query
 * strings. Only successes are remembered, and only DTOs whose set values are all of properties
 * with a closed validator (a page size, a sort order, a role filter; not a search text or a
 * cursor): a faster answer then reveals no other caller's search. Each request gets its own
 * shallow copy, so a handler cannot change what the next one sees.
 */
export class QueryMemo {
  private readonly known = new Map<string, object>();
  private readonly closed: ReadonlySet<string>;

  constructor(dtoClass: Type<unknown>) {
    this.closed = new Set(
      getMetadataStorage()
        .getTargetValidationMetadatas(dtoClass, '', true, false)
        .filter((rule) => rule.name !== undefined && CLOSED_CONSTRAINTS.has(rule.name))
        .map((rule) => rule.propertyName),
    );
  }

  /** A fresh copy of the DTO validated for `key`, or undefined. */
  get(key: string): object | undefined {
    const dto = this.known.get(key);
    return dto && copyOf(dto);
  }

  remember(key: string, dto: unknown): void {
    if (typeof dto !== 'object' || dto === null) return;
    for (const [name, value] of Object.entries(dto)) {
      if (value === undefined) continue;
      if (!this.closed.has(name) || (typeof value === 'object' && value !== null)) return;
    }
    if (this.known.size >= QUERY_MEMO_SIZE)
      this.known.delete(this.known.keys().next().value as string);
    // A copy, so the handler's own (mutable) instance is not the remembered one.
    this.known.set(key, copyOf(dto));
  }
}

/** The query string of a request URL (after the first `?`), '' without one. */
function queryStringOf(url: string | undefined): string {
  const at = url?.indexOf('?') ?? -1;
  return at < 0 ? '' : (url as string).slice(at + 1);
}

interface DirectHandler {
  readonly method: 'GET' | 'POST';
  /** A @ReadOnlyRoute GET (no interceptors) or a write (interceptors run). */
  readonly readOnly: boolean;
  /**
   * The status it answers with: 200 for a read; for a write @HttpCode's or 201, unless an
   * interceptor or the handler sets another.
   */
  readonly status: number;
  /** The write's own interceptors (controller's, then handler's): classes or instances. */
  readonly interceptors: readonly (Type<NestInterceptor> | NestInterceptor)[];
  /** The route as Fastify registers it, global prefix included: `/api/boards/:board_id`. */
  readonly url: string;
  readonly controller: Type<unknown>;
  readonly name: string;
  readonly args: readonly ArgumentSource[];
}

/** `METHOD url` of the direct routes installed per application. */
const installedRoutes = new WeakMap<NestFastifyApplication, string[]>();

/** `METHOD url` of each route whose handler was replaced by a direct dispatcher. */
export function directRoutesOf(app: NestFastifyApplication): string[] {
  return [...(installedRoutes.get(app) ?? [])];
}

/**
 * Finds the @DirectRoute handlers of the application's controllers and replaces the Fastify
 * handler Nest registers for each with a direct dispatcher. Call before app.init(): the
 * replacement happens as Nest registers the route, so the route (its URL, its OpenAPI
 * description, its hooks) is otherwise the one Nest built. Throws for a handler it cannot honour;
 * start-up fails when a declared route was not registered.
 */
export function installDirectRoutes(app: NestFastifyApplication): void {
  const handlers = discover(app);
  const fastify = app.getHttpAdapter().getInstance();
  let enhancers: Enhancers | undefined;
  const resolveEnhancers = (): Enhancers => {
    if (enhancers) return enhancers;
    const { guards, interceptors, pipes, filters } = globalEnhancersOf(app);
    if (filters.length !== 1) throw new Error('direct routes expect exactly one global filter');
    enhancers = {
      guards,
      interceptors,
      pipe: chain(pipes),
      pure: pipes.every((pipe) => pipe instanceof ValidationPipe),
      checkedBodies: pipes.length === 1 && checkableValidationPipe(pipes[0]),
      filter: filters[0],
    };
    return enhancers;
  };
  const installed: string[] = [];
  installedRoutes.set(app, installed);
  fastify.addHook('onRoute', (options: RouteOptions) => {
    const handler = handlers.find(
      (candidate) => candidate.url === options.url && options.method === candidate.method,
    );
    if (!handler) return;
    options.handler = dispatcher(app, handler, resolveEnhancers);
    installed.push(`${handler.method} ${handler.url}`);
  });
  fastify.addHook('onReady', (done) => {
    const missing = handlers
      .map((handler) => `${handler.method} ${handler.url}`)
      .filter((route) => !installed.includes(route));
    if (missing.length > 0) {
      return done(new Error(`direct routes not registered as computed: ${missing.join(', ')}`));
    }
    try {
      if (handlers.length > 0 && globalEnhancersOf(app).requestScoped > 0) {
        throw new Error(
          'direct routes cannot run request-scoped global guards, interceptors, pipes or filters',
        );
      }
      checkGlobalInterceptors(app, handlers);
      done();
    } catch (err) {
      done(err as Error);
    }
  });
}

/** Every @DirectRoute handler of the application's controllers, checked and bound. */
function discover(app: NestFastifyApplication): DirectHandler[] {
  const prefix = globalPrefixOf(app);
  const found: DirectHandler[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as Type<unknown> | null;
      if (!controller) continue;
      const prototype = controller.prototype as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const handler = prototype[name];
        if (typeof handler !== 'function' || name === 'constructor') continue;
        if (Reflect.getMetadata(DIRECT_ROUTE_KEY, handler) !== true) continue;
        found.push(describeHandler(controller, name, handler as object, prefix));
      }
    }
  }
  return found;
}

function describeHandler(
  controller: Type<unknown>,
  name: string,
  handler: object,
  prefix: string,
): DirectHandler {
  const label = `@DirectRoute ${controller.name}.${name}`;
  const refuse = (why: string): never => {
    throw new Error(`${label}: ${why}`);
  };
  const verb = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
  if (verb !== RequestMethod.GET && verb !== RequestMethod.POST) refuse('not a GET or a POST');
  const readOnly = isReadOnlyRoute(handler);
  if (verb === RequestMethod.GET && !readOnly) refuse('the handler is not @ReadOnlyRoute()');
  if (verb === RequestMethod.POST && readOnly) refuse('a POST is a write, not @ReadOnlyRoute()');
  for (const [key, what] of [
    [HEADERS_METADATA, '@Header'],
    [REDIRECT_METADATA, '@Redirect'],
    [RENDER_METADATA, '@Render'],
    [SSE_METADATA, '@Sse'],
    ...(readOnly ? ([[HTTP_CODE_METADATA, '@HttpCode']] as const) : []),
  ] as const) {
    const value = Reflect.getMetadata(key, handler) as unknown;
    if (value !== undefined && !(Array.isArray(value) && value.length === 0)) {
      refuse(`${what} is not honoured by the direct dispatcher`);
    }
  }
  for (const key of [
    GUARDS_METADATA,
    ...(readOnly ? [INTERCEPTORS_METADATA] : []),
    PIPES_METADATA,
    EXCEPTION_FILTERS_METADATA,
  ]) {
    for (const target of [controller, handler]) {
      const own = Reflect.getMetadata(key, target) as unknown[] | undefined;
      if (own && own.length > 0) refuse(`has ${key} the dispatcher would skip`);
    }
  }
  const interceptors = readOnly
    ? []
    : [controller, handler].flatMap(
        (target) =>
          (Reflect.getMetadata(INTERCEPTORS_METADATA, target) ?? []) as (
            Type<NestInterceptor> | NestInterceptor
          )[],
      );
  const types = (Reflect.getMetadata('design:paramtypes', controller.prototype as object, name) ??
    []) as unknown[];
  const declared = routeArgumentsOf(controller, name);
  if (declared.length !== (handler as (...args: unknown[]) => unknown).length) {
    refuse(
      'every parameter needs a decorator the dispatcher can derive (@Query, @Param, @Body, @Res)',
    );
  }
  const passthrough = Reflect.getMetadata(RESPONSE_PASSTHROUGH_METADATA, controller, name) === true;
  const args: ArgumentSource[] = [];
  for (const argument of declared) {
    args[argument.index] = argumentSource(argument, types[argument.index], passthrough, refuse);
  }
  const httpCode = Reflect.getMetadata(HTTP_CODE_METADATA, handler) as number | undefined;
  return {
    method: verb === RequestMethod.GET ? 'GET' : 'POST',
    readOnly,
    status: httpCode ?? (verb === RequestMethod.POST ? 201 : 200),
    interceptors,
    url: joinPath(prefix, ...pathsOf(controller), ...pathsOf(handler)),
    controller,
    name,
    args,
  };
}

/** How one decorated parameter is read, exactly as Nest's parameter factories would. */
function argumentSource(
  argument: RouteArgument,
  metatype: unknown,
  passthrough: boolean,
  refuse: (why: string) => never,
): ArgumentSource {
  const pipes = argument.pipes.map((pipe) =>
    typeof (pipe as PipeTransform).transform === 'function'
      ? (pipe as PipeTransform)
      : refuse(`parameter ${argument.index}: only pipe instances are supported, not classes`),
  );
  const data = argument.data as string | undefined;
  const piped = (type: 'query' | 'param' | 'body') => {
    const metadata: ArgumentMetadata = { type, metatype: metatype as Type<unknown>, data };
    return async (value: unknown, pipe: Pipe) => {
      let result = await pipe(value, metadata);
      for (const own of pipes) result = await own.transform(result, metadata);
      return result;
    };
  };
  switch (argument.type) {
    case RouteParamtypes.QUERY: {
      const run = piped('query');
      // The whole query as a DTO class, with no pipes of its own: remembered per query string.
      const memo =
        data === undefined && pipes.length === 0 && isDtoClass(metatype)
          ? new QueryMemo(metatype as Type<unknown>)
          : undefined;
      return (request, _reply, { pipe, pure }) => {
        const query = request.query as Record<string, unknown>;
        if (!memo || !pure) return run(data === undefined ? query : query?.[data], pipe);
        const key = queryStringOf(request.raw.url);
        const known = memo.get(key);
        if (known) return known;
        return run(query, pipe).then((dto) => {
          memo.remember(key, dto);
          return dto;
        });
      };
    }
    case RouteParamtypes.PARAM: {
      const run = piped('param');
      return (request, _reply, { pipe }) => {
        const params = request.params as Record<string, unknown>;
        return run(data === undefined ? params : params[data], pipe);
      };
    }
    case RouteParamtypes.BODY: {
      const run = piped('body');
      // The whole body as a DTO class, with no pipes of its own: checked without the pipe when
      // the check is sure the pipe would accept it (compileBodyCheck).
      const check =
        data === undefined && pipes.length === 0 && isDtoClass(metatype)
          ? compileBodyCheck(metatype as Type<unknown>)
          : undefined;
      return (request, _reply, { pipe, checkedBodies }) => {
        const body = request.body as Record<string, unknown> | undefined;
        if (check && checkedBodies) {
          const dto = check(body);
          if (dto) return dto;
        }
        return run(data === undefined ? body : body?.[data], pipe);
      };
    }
    case RouteParamtypes.RESPONSE:
      if (!passthrough) return refuse('@Res() needs { passthrough: true }');
      if (pipes.length > 0) return refuse('@Res() with pipes');
      return (_request, reply) => reply;
    case 'custom':
    default:
      return refuse(
        `parameter ${argument.index}: only @Query, @Param, @Body and @Res({ passthrough: true }) are derived`,
      );
  }
}

/** A class of our own (a DTO), not a primitive's wrapper such as String or Number. */
function isDtoClass(metatype: unknown): boolean {
  return (
    typeof metatype === 'function' &&
    ![String, Number, Boolean, Object, Array].includes(metatype as StringConstructor)
  );
}

function pathsOf(target: object): string[] {
  const path = Reflect.getMetadata(PATH_METADATA, target) as string | string[] | undefined;
  if (Array.isArray(path)) {
    if (path.length !== 1) throw new Error('@DirectRoute: one path per controller and handler');
    return path;
  }
  return path === undefined ? [] : [path];
}

function joinPath(...parts: string[]): string {
  return `/${parts
    .flatMap((part) => part.split('/'))
    .filter((segment) => segment.length > 0)
    .join('/')}`;
}

function chain(pipes: readonly PipeTransform[]): Pipe {
  return async (value, metadata) => {
    let transformed = value;
    for (const pipe of pipes) transformed = await pipe.transform(transformed, metadata);
    return transformed;
  };
}

/**
 * The read dispatcher skips the interceptor chain: only the interceptors that do nothing for a
 * @ReadOnlyRoute handler may be installed globally while there is a direct read.
 */
function checkGlobalInterceptors(
  app: NestFastifyApplication,
  handlers: readonly DirectHandler[],
): void {
  const reads = handlers.filter((handler) => handler.readOnly);
  if (reads.length === 0) return;
  const interceptors = globalEnhancersOf(app).interceptors;
  if (interceptors.some((interceptor) => !passesThrough(interceptor))) {
    const names = reads.map((handler) => `${handler.method} ${handler.url}`).join(', ');
    throw new Error(`direct routes ${names}: a global interceptor the dispatcher would skip`);
  }
}

/**
 * Interceptors that do nothing for a @ReadOnlyRoute handler: the tenant transaction one, and the
 * no-op that nestjs-cls registers when its interceptor is not mounted.
 */
function passesThrough(interceptor: NestInterceptor): boolean {
  return (
    interceptor instanceof TenantTransactionInterceptor || isClsPassThroughInterceptor(interceptor)
  );
}

/**
 * The route's dispatcher. Both kinds run the guards (as Nest's GuardsConsumer), then:
 * - a read: its arguments through the pipes, the handler, and the reply with its status (200);
 * - a write, as Nest's router runs one: the status (@HttpCode or 201), then the interceptors
 *   around the pipes and the handler, then the reply with whatever status is set by then.
 * Errors go to the global exception filter.
 */
function dispatcher(
  app: NestFastifyApplication,
  route: DirectHandler,
  enhancers: () => Enhancers,
): RouteOptions['handler'] {
  let controller: unknown;
  let interceptors: NestInterceptor[] | undefined;
  const method = (route.controller.prototype as Record<string, (...args: unknown[]) => unknown>)[
    route.name
  ];
  const call = (args: unknown[]) => method.apply(controller, args);
  return async function direct(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const resolved = enhancers();
    const context = httpExecutionContext(request, reply, route.controller, method);
    try {
      const guarded = passGuards(resolved.guards, context);
      if (guarded) await guarded;
      controller ??= app.get(route.controller, { strict: false });
      if (route.readOnly) {
        const args = argumentsOf(route, request, reply, resolved);
        const result = await call(args instanceof Promise ? await args : args);
        // Sent, not awaited: Fastify needs no answer from a handler that has sent its reply, and
        // awaiting the reply would hold this handler until the socket has taken the response.
        if (!reply.sent) reply.status(route.status).send(result);
        return;
      }
      // nestjs-cls's pass-through interceptor (`(_, next) => next.handle()`) changes nothing in
      // the chain; left out, it does not keep a chain of AroundInterceptors on observables.
      interceptors ??= [
        ...resolved.interceptors,
        ...route.interceptors.map((interceptor) =>
          typeof interceptor === 'function'
            ? app.get<NestInterceptor>(interceptor, { strict: false })
            : interceptor,
        ),
      ].filter((interceptor) => !isClsPassThroughInterceptor(interceptor));
      void reply.status(route.status);
      const result = await intercepted(interceptors, context, async () => {
        const args = argumentsOf(route, request, reply, resolved);
        return call(args instanceof Promise ? await args : args);
      });
      if (!reply.sent) reply.send(result);
    } catch (err) {
      resolved.filter.catch(err, context);
    }
  };
}

/**
 * Runs the guards in order, as Nest's GuardsConsumer does: a boolean answers at once; anything
 * else is awaited, and an observable it gives is read to its last value. Nest's own answer to a
 * guard that says no. Costs no await while every guard answers with a boolean.
 */
function passGuards(
  guards: readonly CanActivate[],
  context: ReturnType<typeof httpExecutionContext>,
): Promise<void> | undefined {
  for (let index = 0; index < guards.length; index++) {
    const verdict: unknown = guards[index].canActivate(context);
    if (typeof verdict !== 'boolean') {
      return (async () => {
        const value: unknown = await verdict;
        const allowed: unknown = isObservable(value) ? await lastValueFrom(value) : value;
        if (!allowed) throw new ForbiddenException('Forbidden resource');
        await passGuards(guards.slice(index + 1), context);
      })();
    }
    if (!verdict) throw new ForbiddenException('Forbidden resource');
  }
  return undefined;
}

/**
 * The handler's arguments, in order, their pipes run side by side as Nest runs them. At once when
 * no source answers with a promise; only promises are awaited (the reply is a thenable that
 * settles when it is sent).
 */
function argumentsOf(
  route: DirectHandler,
  request: FastifyRequest,
  reply: FastifyReply,
  enhancers: Enhancers,
): unknown[] | Promise<unknown[]> {
  const values = route.args.map((source) => source(request, reply, enhancers));
  if (!values.some((value) => value instanceof Promise)) return values;
  return Promise.all(values.map((value) => (value instanceof Promise ? value : undefined))).then(
    (settled) => values.map((value, index) => (value instanceof Promise ? settled[index] : value)),
  );
}

/**
 * `handle` inside interceptors that all run around a promise (AroundInterceptor), in the same
 * order; a handler's observable answers with its last value, as through the observable chain.
 * A step that throws at once answers with a rejected promise, as a step of the chain would.
 */
function around(
  interceptors: readonly AroundInterceptor[],
  context: ReturnType<typeof httpExecutionContext>,
  handle: () => Promise<unknown>,
): Promise<unknown> {
  const step = (index: number): Promise<unknown> => {
    try {
      if (index < interceptors.length) {
        return interceptors[index].around(context, () => step(index + 1));
      }
      return handle().then((value) =>
        isObservable(value) ? lastValueFrom(value, { defaultValue: undefined }) : value,
      );
    } catch (err) {
      return Promise.reject(err as Error);
    }
  };
  return step(0);
}

/**
 * `handle` inside `interceptors`, as Nest's InterceptorsConsumer chains them: each gets a
 * `next.handle()` that runs the rest of the chain, on subscription, in the async context
 * `handle()` was called in. Nest binds that context with AsyncResource.bind, which on Node 20
 * also builds two deprecation wrappers per call; an AsyncResource of our own does the same
 * binding without them.
 */
function intercepted(
  interceptors: readonly NestInterceptor[],
  context: ReturnType<typeof httpExecutionContext>,
  handle: () => Promise<unknown>,
): Promise<unknown> {
  if (interceptors.length === 0) return handle();
  if (interceptors.every(runsAround)) return around(interceptors, context, handle);
  const nextFn = async (index: number): Promise<Observable<unknown>> => {
    if (index >= interceptors.length) {
      // The handler too runs, on subscription, in the context this step was reached in.
      const scope = new AsyncResource('boards:direct-route');
      return defer(() =>
        scope.runInAsyncScope(() =>
          from(handle()).pipe(mergeMap((value) => (isObservable(value) ? value : of(value)))),
        ),
      );
    }
    return interceptors[index].intercept(context, {
      handle: () => {
        const scope = new AsyncResource('boards:direct-route');
        return defer(() => scope.runInAsyncScope(() => nextFn(index + 1))).pipe(mergeAll());
      },
    });
  };
  return lastValueFrom(defer(() => nextFn(0)).pipe(mergeAll()));
}
