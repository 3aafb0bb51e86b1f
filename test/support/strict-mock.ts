/**
 * A strict fake: only the given methods exist; any other property read throws `unexpected call`,
 * so a unit test fails when the code under test reaches for a collaborator it should not use.
 */
export function strictMock<T>(methods: Partial<Record<keyof T, unknown>> = {}): T {
  return new Proxy(methods, {
    get(target, name) {
      if (name in target) return target[name as keyof typeof target];
      if (name === 'then') return undefined;
      throw new Error(`unexpected call: ${String(name)}`);
    },
  }) as T;
}
