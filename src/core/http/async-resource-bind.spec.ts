import { AsyncLocalStorage, AsyncResource, executionAsyncResource } from 'node:async_hooks';
import { installLightAsyncResourceBind, restoreNodeAsyncResourceBind } from './async-resource-bind';

const nodeBind = AsyncResource.prototype.bind;

describe.each([
  ['Node 20', () => restoreNodeAsyncResourceBind()],
  ['the light bind', () => installLightAsyncResourceBind()],
])('AsyncResource.prototype.bind (%s)', (_, install) => {
  const store = new AsyncLocalStorage<string>();
  beforeEach(install);
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
    expect(AsyncResource.prototype.bind).toBe(nodeBind);
    installLightAsyncResourceBind();
    const light = AsyncResource.prototype.bind;
    expect(light).not.toBe(nodeBind);
    installLightAsyncResourceBind();
    expect(AsyncResource.prototype.bind).toBe(light);
    restoreNodeAsyncResourceBind();
    expect(AsyncResource.prototype.bind).toBe(nodeBind);
  });
});
