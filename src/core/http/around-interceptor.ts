import type { ExecutionContext, NestInterceptor } from '@nestjs/common';

/**
 * An interceptor that can also run around a promise: `around(context, proceed)` does what its
 * `intercept(context, next)` does, with the rest of the chain (later interceptors, the handler)
 * as `proceed()`, called where `intercept` would call `next.handle()`, so in the same async
 * context. Its `intercept` must stay equivalent (Nest's router uses that one). The direct
 * dispatcher (direct-routes.ts) runs a route whose interceptors all have `around` without
 * observables: no subscriber, operator or AsyncResource per step.
 */
export interface AroundInterceptor extends NestInterceptor {
  around(context: ExecutionContext, proceed: () => Promise<unknown>): Promise<unknown>;
}

export function runsAround(interceptor: NestInterceptor): interceptor is AroundInterceptor {
  return typeof (interceptor as Partial<AroundInterceptor>).around === 'function';
}
