import { AsyncLocalStorage, AsyncResource, executionAsyncResource } from 'node:async_hooks';
import { installLightAsyncResourceBind, restoreNodeAsyncResourceBind } from './async-resource-bind';

/** Node's own bind (its source names Node's internal argument check), whatever ran before. */
const isNodeBind = (bind: unknown) => String(bind).includes('validateFunction');

describe.each([
  ['Node 20', () => restoreNodeAsyncResourceBind(), isNodeBind],
  ['the light bind', () => installLightAsyncResourceBind(), (bind: unknown) => !isNodeBind(bind)],
])('AsyncResource.prototype.bind (%s)', (_, install, installed) => {
  const store = new AsyncLocalStorage<string>();
  beforeEach(() => {
    install();
    expect(installed(AsyncResource.prototype.bind)).toBe(true);
  });
  afterAll(restoreNodeAsyncResourceBind);

  it('runs the function in the async scope of the resource, not of its caller', () => {
    const resource = store.run('at creation', () => new AsyncResource('test'));
    const bound = resource.bind(() => [store.getStore(), executionAsyncResource()]);
    const [seen, current] = store.run('at the call', bound);
    expect(seen).toBe('at creation');
    expect(current).toBe(resource);
  });

  it("passes the arguments, the caller's this (or thisArg) and the answer; errors propagate", () => {
    const resource = new AsyncResource('test');
    function own(this: unknown, a: number, b: number) {
      return { self: this, sum: a + b };
    }
    const target = { name: 'target' };
    const bound = resource.bind(own);
    expect(bound.call(target, 1, 2)).toEqual({ self: target, sum: 3 });
    // Node's thisArg, which @types/node leaves out of bind's signature.
    const bindWith = resource.bind as unknown as (
      this: AsyncResource,
      fn: typeof own,
      thisArg: unknown,
    ) => typeof own;
    const fixed = bindWith.call(resource, own, { name: 'fixed' });
    expect(fixed.call(target, 2, 3)).toEqual({ self: { name: 'fixed' }, sum: 5 });
    expect(bound.length).toBe(2);
    const failing = resource.bind(() => {
      throw new Error('inside');
    });
    expect(failing).toThrow('inside');
  });

  it('keeps asyncResource: it reads the resource and can be set', () => {
    const resource = new AsyncResource('test');
    const bound = resource.bind(() => undefined) as (() => void) & { asyncResource: unknown };
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      expect(bound.asyncResource).toBe(resource);
      const other = new AsyncResource('other');
      bound.asyncResource = other;
      expect(bound.asyncResource).toBe(other);
      expect(Object.keys(bound)).toContain('asyncResource');
    } finally {
      warn.mockRestore();
    }
  });

  it('refuses what is not a function as Node does', () => {
    const resource = new AsyncResource('test');
    expect(() => resource.bind('not a function' as unknown as () => void)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }) as Error,
    );
  });
});

describe('installLightAsyncResourceBind', () => {
  afterAll(restoreNodeAsyncResourceBind);

  it('replaces Node 20 bind once, and restoreNodeAsyncResourceBind puts it back', () => {
    restoreNodeAsyncResourceBind();
    const nodeBind = AsyncResource.prototype.bind;
    expect(isNodeBind(nodeBind)).toBe(true);
    installLightAsyncResourceBind();
    const light = AsyncResource.prototype.bind;
    expect(light.name).toBe('lightBind');
    installLightAsyncResourceBind();
    expect(AsyncResource.prototype.bind).toBe(light);
    restoreNodeAsyncResourceBind();
    expect(AsyncResource.prototype.bind).toBe(nodeBind);
  });
});
