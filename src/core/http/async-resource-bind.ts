import { AsyncResource } from 'node:async_hooks';

type Bind = typeof AsyncResource.prototype.bind;
const NODE_BIND = Symbol.for('boards.nodeAsyncResourceBind');
const prototype = AsyncResource.prototype as AsyncResource & { [NODE_BIND]?: Bind };
// Node's own bind, kept on the prototype when first replaced: every copy of this module (a test
// runner loads one per test file, all sharing node:async_hooks) finds the same one.
prototype[NODE_BIND] ??= prototype.bind;
const nodeBind: Bind = prototype[NODE_BIND];

/**
 * A lighter `AsyncResource.prototype.bind`, installed for the whole process by createApp.
 *
 * Node 20's bind defines the bound function's deprecated `asyncResource` accessor (DEP0172) through
 * two `util.deprecate` wrappers per call, and each wrapper takes a fresh function as its prototype:
 * new hidden classes on every call. In a loop that bind costs about 9 µs against 1 µs for this
 * one; under the create load the server spent 20–50 µs less CPU per request with this one
 * (bench/ab.mjs). Fastify binds one per request body (its content-type parser), so every
 * POST paid it. This bind does what Node's does — the bound function runs `fn` in the resource's
 * async scope, with the caller's `this` or `thisArg`, has `fn`'s length, and its `asyncResource`
 * reads (and sets) the resource as before: a plain property now, without the deprecation warning.
 * Anything that is not a function goes to Node's own bind, which refuses it as Node does.
 */
export function installLightAsyncResourceBind(): void {
  if (prototype.bind !== nodeBind) return;
  prototype.bind = lightBind as Bind;
}

type AnyFunction = (...args: unknown[]) => unknown;

function lightBind(this: AsyncResource, fn: AnyFunction, thisArg?: unknown): AnyFunction {
  if (typeof fn !== 'function')
    return (nodeBind as AnyFunction).call(this, fn, thisArg) as AnyFunction;
  return boundTo(this, fn, thisArg);
}

function boundTo(resource: AsyncResource, fn: AnyFunction, thisArg: unknown): AnyFunction {
  const bound =
    thisArg === undefined
      ? function (this: unknown, ...args: unknown[]) {
          return resource.runInAsyncScope(fn, this, ...args);
        }
      : function (...args: unknown[]) {
          return resource.runInAsyncScope(fn, thisArg, ...args);
        };
  // Plain properties with the same attributes on every call: every bound function shares its
  // hidden class (an accessor pair of its own per call would give each one a class of its own).
  Object.defineProperties(bound, {
    length: { configurable: true, enumerable: false, value: fn.length, writable: false },
    asyncResource: { configurable: true, enumerable: true, value: resource, writable: true },
  });
  return bound;
}

/** Node's own bind back in place (tests). */
export function restoreNodeAsyncResourceBind(): void {
  prototype.bind = nodeBind;
}
