/**
 * Requires answered on first use. A library that loads modules it may never call still pays for
 * them in every process: their source text stays in V8's heap (lazy functions compile from it)
 * and their top-level code runs. While `withDeferredRequires` runs, a require that matches a rule
 * gets an exports object that loads the real module, through Node's own loader with the same
 * parent, the first time anything asks it for anything; every other require is untouched, and
 * the loader is Node's again once `load` returns or throws.
 *
 * Safe only for a require whose exports the requiring module keeps and reads later (`mod.name`
 * at call time, as TypeScript's and Babel's CommonJS output does), never calls as a function,
 * and asks nothing at load time (not even `__esModule`, as `__importDefault` does). The rules in
 * deferred-libraries.ts are held to the installed libraries by deferred-requires.spec.ts.
 *
 * What the stand-in is not: the real exports object (`===`), a function, or an object that can
 * be frozen, sealed or given a fixed property (those throw: a proxy's empty target cannot vouch
 * for them); `Object.isExtensible`/`isFrozen` and `util.inspect` answer for the empty target. A
 * module that fails to load fails when first used, not at start-up, and every later use throws
 * the same error without running it again.
 */
import Module from 'node:module';

export interface DeferredRequire {
  /** The requiring module: matched against its file name (forward slashes). */
  readonly from: RegExp;
  /** The requests of that module that wait for first use (the string it passes to require). */
  readonly request: RegExp;
}

/** Node's CommonJS loader entry (internal, stable since Node 0.x; what require calls). */
type Load = (request: string, parent: NodeJS.Module | undefined, isMain: boolean) => unknown;
const loader = Module as unknown as { _load: Load };

/** An exports object that stands for `load()`'s and loads it when first asked anything. */
function deferredExports(load: () => unknown, request: string): Record<PropertyKey, unknown> {
  let real: object | undefined;
  let failure: { error: unknown } | undefined;
  const exports = (): object => {
    if (real) return real;
    if (failure) throw failure.error;
    let loaded: unknown;
    try {
      loaded = load();
    } catch (error) {
      failure = { error };
      throw error;
    }
    if (loaded === null || (typeof loaded !== 'object' && typeof loaded !== 'function')) {
      throw new TypeError(`deferred require '${request}': its exports are not an object`);
    }
    return (real = loaded);
  };
  return new Proxy(Object.create(null) as Record<PropertyKey, unknown>, {
    get: (_, key) => Reflect.get(exports(), key),
    has: (_, key) => Reflect.has(exports(), key),
    ownKeys: () => Reflect.ownKeys(exports()),
    // Reported configurable: a proxy may not report a property its (empty) target lacks as fixed.
    getOwnPropertyDescriptor: (_, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(exports(), key);
      return descriptor && { ...descriptor, configurable: true };
    },
    set: (_, key, value) => Reflect.set(exports(), key, value),
    deleteProperty: (_, key) => Reflect.deleteProperty(exports(), key),
    defineProperty: (_, key, descriptor) => Reflect.defineProperty(exports(), key, descriptor),
    getPrototypeOf: () => Reflect.getPrototypeOf(exports()),
  });
}

/** Runs `load` with the requires `rules` name deferred to their first use (see above). */
export function withDeferredRequires<T>(rules: readonly DeferredRequire[], load: () => T): T {
  const original = loader._load;
  const deferring: Load = function (this: unknown, request, parent, isMain) {
    const from = parent?.filename?.replaceAll('\\', '/') ?? '';
    const deferred = rules.some((rule) => rule.from.test(from) && rule.request.test(request));
    if (!deferred) return original.call(this, request, parent, isMain);
    return deferredExports(() => original.call(Module, request, parent, isMain), request);
  };
  loader._load = deferring;
  try {
    return load();
  } finally {
    loader._load = original;
  }
}
