import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { estimateHeapBytes } from 'src/core/cache/heap-bytes';
import { loadConfig } from 'src/core/config/boards-config';
import { DomainError } from 'src/core/errors/domain-error';
import { hs256Token, jwtAuthEnv } from 'test/factories/tokens';
import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Principal, TenantContext } from 'src/core/context/tenant-context';
import { AuthProviderChain } from './auth-provider.chain';
import { AuthStrategyRegistry } from './auth-strategies';
import { AuthenticationGuard } from './authentication.guard';
import { JwtStrategy } from './jwt.strategy';

/**
 * The verified-token cache of the provider chain, in the real guard with the real passport-jwt
 * HS256 strategy (one passport attempt is one verification): a repeated token is verified once, and the cache stays within BOARDS_AUTH_TOKEN_CACHE_MAX_ENTRIES and _MAX_BYTES
 * however many large valid tokens arrive.
 */

const MIB = 1_048_576;

interface Harness {
  authenticate(authorization: string): Promise<Principal>;
  readonly cacheUsage: { entries: number; bytes: number };
}

const registries: AuthStrategyRegistry[] = [];
afterAll(() => registries.forEach((registry) => registry.onApplicationShutdown()));

/** The AuthenticationGuard with the jwt strategy, on a request holding only its header. */
function chainWith(env: Record<string, string> = {}): Harness {
  const config = loadConfig(jwtAuthEnv(env));
  const chain = new AuthProviderChain(config);
  const registry = new AuthStrategyRegistry();
  registries.push(registry);
  let principal: Principal | undefined;
  const context = { setPrincipal: (p: Principal) => (principal = p) } as unknown as TenantContext;
  const guard = new AuthenticationGuard(new Reflector(), chain, context, [
    new JwtStrategy(config.auth, registry),
  ]);
  return {
    async authenticate(authorization) {
      const request = { headers: { authorization } };
      const execution = {
        getHandler: () => chainWith,
        getClass: () => AuthProviderChain,
        switchToHttp: () => ({ getRequest: () => request, getResponse: () => ({}) }),
      } as unknown as ExecutionContext;
      await guard.canActivate(execution);
      return principal as Principal;
    },
    get cacheUsage() {
      return chain.cacheUsage;
    },
  };
}

describe('AuthProviderChain verified-token cache', () => {
  let verify: jest.SpyInstance;

  beforeEach(() => {
    verify = jest.spyOn(JwtStrategy.prototype, 'authenticate');
  });

  afterEach(() => {
    verify.mockRestore();
  });

  it('verifies a repeated token once, keyed by its 43-character digest rather than its text', async () => {
    const chain = chainWith();
    const token = hs256Token({ sub: 'alice', blob: 'x'.repeat(4_000) });
    const first = await chain.authenticate(`Bearer ${token}`);
    const again = await chain.authenticate(`Bearer ${token}`);
    expect(again).toBe(first);
    expect(verify).toHaveBeenCalledTimes(1);
    // The weight is the digest, the fixed overhead and the claims: the token's own 5,000-odd
    // characters are not held.
    expect(chain.cacheUsage).toEqual({
      entries: 1,
      bytes: 43 + 256 + estimateHeapBytes(first.claims),
    });
  });

  it('2,000 valid tokens with an 8 KB claim each: the byte count never passes the cap, the oldest are evicted', async () => {
    const maxBytes = 4 * MIB;
    const chain = chainWith({ BOARDS_AUTH_TOKEN_CACHE_MAX_BYTES: String(maxBytes) });
    const tokens = Array.from({ length: 2_000 }, (_, i) =>
      hs256Token({ sub: `user-${i}`, blob: `${i}:`.padEnd(8_192, 'x') }),
    );
    let peak = 0;
    for (const [i, token] of tokens.entries()) {
      expect((await chain.authenticate(`Bearer ${token}`)).subject).toBe(`user-${i}`);
      peak = Math.max(peak, chain.cacheUsage.bytes);
    }
    expect(verify).toHaveBeenCalledTimes(2_000);
    const { entries, bytes } = chain.cacheUsage;
    expect(peak).toBeLessThanOrEqual(maxBytes);
    // Each entry weighs about 8.6 KB: the cache is full (within one entry) and far from 2,000.
    const weight = bytes / entries;
    expect(weight).toBeGreaterThan(8_192);
    expect(weight).toBeLessThan(10_000);
    expect(bytes).toBeGreaterThan(maxBytes - weight);
    expect(entries).toBeLessThan(500);

    // The newest token is still cached, the first one was evicted and is verified again.
    verify.mockClear();
    await chain.authenticate(`Bearer ${tokens[1_999]}`);
    expect(verify).not.toHaveBeenCalled();
    await chain.authenticate(`Bearer ${tokens[0]}`);
    expect(verify).toHaveBeenCalledTimes(1);
    expect(chain.cacheUsage.bytes).toBeLessThanOrEqual(maxBytes);
  });

  it('the default budget holds 32 MiB, and the entry bound applies to small tokens', async () => {
    const defaults = loadConfig(jwtAuthEnv()).auth.tokenCache;
    expect(defaults).toEqual({ maxEntries: 50_000, maxBytes: 32 * MIB });

    const chain = chainWith({ BOARDS_AUTH_TOKEN_CACHE_MAX_ENTRIES: '10' });
    for (let i = 0; i < 25; i++)
      await chain.authenticate(`Bearer ${hs256Token({ sub: `s-${i}` })}`);
    expect(chain.cacheUsage.entries).toBe(10);
  });

  it('a principal heavier than the per-entry cap is verified every time, never cached', async () => {
    const chain = chainWith();
    // 2,000 empty objects: a 10 KB token whose claims weigh about 130 KB on the heap.
    const token = hs256Token({ sub: 'odd', shapes: Array.from({ length: 2_000 }, () => ({})) });
    for (let i = 0; i < 3; i++) await chain.authenticate(`Bearer ${token}`);
    expect(verify).toHaveBeenCalledTimes(3);
    expect(chain.cacheUsage).toEqual({ entries: 0, bytes: 0 });
  });

  it('a refused token is not cached', async () => {
    const chain = chainWith();
    const forged = hs256Token({ sub: 'mallory' }, 'another-secret-0123456789abcdef-0123');
    for (let i = 0; i < 2; i++) {
      await expect(chain.authenticate(`Bearer ${forged}`)).rejects.toBeInstanceOf(DomainError);
    }
    expect(verify).toHaveBeenCalledTimes(2);
    expect(chain.cacheUsage).toEqual({ entries: 0, bytes: 0 });
  });
});

describe('AuthProviderChain heap under large tokens', () => {
  it('retains about its byte budget, not what the tokens would take', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const maxBytes = 4 * MIB;
    const chain = chainWith({ BOARDS_AUTH_TOKEN_CACHE_MAX_BYTES: String(maxBytes) });
    gc();
    const before = process.memoryUsage().heapUsed;
    // 2,000 principals of ~8.6 KB would hold ~17 MB; tokens are minted one at a time and dropped.
    for (let i = 0; i < 2_000; i++) {
      const token = hs256Token({ sub: `heavy-${i}`, blob: `${i}:`.padEnd(8_192, 'x') });
      await chain.authenticate(`Bearer ${token}`);
    }
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    expect(chain.cacheUsage.bytes).toBeLessThanOrEqual(maxBytes);
    expect(grown).toBeLessThan(2 * maxBytes);
  });
});
