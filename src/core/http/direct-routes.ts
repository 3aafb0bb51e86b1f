import type {
  ArgumentMetadata,
  CanActivate,
  ExceptionFilter,
  NestInterceptor,
} from '@nestjs/common';
import { ForbiddenException, type Type } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import {
  EXCEPTION_FILTERS_METADATA,
  globalEnhancersOf,
  GUARDS_METADATA,
  httpExecutionContext,
  INTERCEPTORS_METADATA,
  isClsPassThroughInterceptor,
  PIPES_METADATA,
} from 'src/core/database/driver-internals';
import {
  isReadOnlyRoute,
  TenantTransactionInterceptor,
} from 'src/core/database/tenant-transaction.interceptor';

/**
 * A hot route dispatched directly: the same controller method, the same global guards (in Nest's
 * order), the same global pipes and exception filter, without Nest's per-request router machinery
 * (observables, interceptor chain, parameter factories). Only for routes that need no
 * interceptor: @ReadOnlyRoute handlers, which open no request transaction.
 */
export interface DirectRoute<C> {
  readonly method: 'GET';
  /** The route as Fastify registers it, global prefix included: `/api/boards/:board_id`. */
  readonly url: string;
  readonly controller: Type<C>;
  readonly handler: keyof C & string;
  /** The handler's arguments; `pipe` runs the global pipes (validation) as Nest would. */
  readonly args: (
    request: FastifyRequest,
    reply: FastifyReply,
    pipe: (value: unknown, metadata: ArgumentMetadata) => Promise<unknown>,
  ) => Promise<unknown[]> | unknown[];
}

interface Enhancers {
  readonly guards: CanActivate[];
  /** The global pipes in order, as one function. */
  readonly pipe: (value: unknown, metadata: ArgumentMetadata) => Promise<unknown>;
  readonly filter: ExceptionFilter;
}

/**
 * Replaces the Fastify handler Nest registers for each route with a direct dispatcher. Call before
 * app.init(): the replacement happens as Nest registers the route, so the route (its URL, its
 * OpenAPI description, its hooks and middleware) is otherwise the one Nest built.
 */
export function installDirectRoutes(
  app: NestFastifyApplication,
  routes: readonly DirectRoute<unknown>[],
): void {
  const fastify = app.getHttpAdapter().getInstance();
  let enhancers: Enhancers | undefined;
  const resolveEnhancers = (): Enhancers => {
    if (enhancers) return enhancers;
    const { guards, pipes, filters } = globalEnhancersOf(app);
    if (filters.length !== 1) throw new Error('direct routes expect exactly one global filter');
    enhancers = {
      guards,
      pipe: async (value, metadata) => {
        let transformed = value;
        for (const pipe of pipes) transformed = await pipe.transform(transformed, metadata);
        return transformed;
      },
      filter: filters[0],
    };
    return enhancers;
  };
  const installed = new Set<DirectRoute<unknown>>();
  installedRoutes.set(app, installed);
  fastify.addHook('onRoute', (options: RouteOptions) => {
    const route = routes.find(
      (candidate) => candidate.url === options.url && options.method === candidate.method,
    );
    if (!route) return;
    const handler = route.controller.prototype[route.handler as keyof object] as unknown;
    if (typeof handler !== 'function') {
      throw new Error(`direct route ${route.method} ${route.url}: no handler ${route.handler}`);
    }
    options.handler = directHandler(app, route, resolveEnhancers);
    installed.add(route);
  });
  // A renamed route must not silently fall back to the slow path (nor a typo go unnoticed), and
  // nothing the dispatcher does not run may apply to a listed route.
  fastify.addHook('onReady', (done) => {
    const missing = routes.filter((route) => !installed.has(route));
    if (missing.length > 0) {
      const names = missing.map((route) => `${route.method} ${route.url}`).join(', ');
      return done(new Error(`direct routes not registered by any controller: ${names}`));
    }
    try {
      for (const route of routes) checkDispatchable(app, route);
      done();
    } catch (err) {
      done(err as Error);
    }
  });
}

/**
 * The dispatcher runs the global guards, pipes and filter and the handler, nothing else: a route
 * with guards, interceptors, pipes or filters of its own, or a global interceptor other than the
 * tenant transaction one (which passes @ReadOnlyRoute handlers through), is refused.
 */
function checkDispatchable(app: NestFastifyApplication, route: DirectRoute<unknown>): void {
  const name = `direct route ${route.method} ${route.url}`;
  const handler = route.controller.prototype[route.handler as keyof object] as object;
  if (!isReadOnlyRoute(handler)) throw new Error(`${name}: the handler is not @ReadOnlyRoute()`);
  for (const key of [
    GUARDS_METADATA,
    INTERCEPTORS_METADATA,
    PIPES_METADATA,
    EXCEPTION_FILTERS_METADATA,
  ]) {
    for (const target of [route.controller, handler]) {
      const own = Reflect.getMetadata(key, target) as unknown[] | undefined;
      if (own && own.length > 0) throw new Error(`${name}: has ${key} the dispatcher would skip`);
    }
  }
  const interceptors = globalEnhancersOf(app).interceptors;
  if (interceptors.some((interceptor) => !passesThrough(interceptor))) {
    throw new Error(`${name}: a global interceptor the dispatcher would skip is installed`);
  }
}

/**
 * Interceptors that do nothing for a @ReadOnlyRoute handler: the tenant transaction one, and the
 * no-op that nestjs-cls registers when its interceptor is not mounted (`(_, next) => next.handle()`).
 */
function passesThrough(interceptor: NestInterceptor): boolean {
  return (
    interceptor instanceof TenantTransactionInterceptor || isClsPassThroughInterceptor(interceptor)
  );
}

const installedRoutes = new WeakMap<NestFastifyApplication, Set<DirectRoute<unknown>>>();

/** `METHOD url` of each route whose handler was replaced by a direct dispatcher. */
export function directRoutesOf(app: NestFastifyApplication): string[] {
  return [...(installedRoutes.get(app) ?? [])].map((route) => `${route.method} ${route.url}`);
}

function directHandler<C>(
  app: NestFastifyApplication,
  route: DirectRoute<C>,
  enhancers: () => Enhancers,
): RouteOptions['handler'] {
  let controller: C | undefined;
  const method = route.controller.prototype[route.handler] as (...args: unknown[]) => unknown;
  return async function direct(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const { guards, pipe, filter } = enhancers();
    const context = httpExecutionContext(request, reply, route.controller, method);
    try {
      for (const guard of guards) {
        // Nest's own answer to a guard that returns false.
        if (!(await guard.canActivate(context))) throw new ForbiddenException('Forbidden resource');
      }
      controller ??= app.get(route.controller, { strict: false });
      const args = await route.args(request, reply, pipe);
      const result = await method.apply(controller, args);
      if (!reply.sent) await reply.status(200).send(result);
    } catch (err) {
      filter.catch(err, context);
    }
  };
}
