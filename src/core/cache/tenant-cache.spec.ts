import type { BoardsConfig } from 'src/core/config/boards-config';
import type { RedisConnection } from 'src/core/redis/redis.module';
import { MetricsService } from 'src/core/metrics/metrics.service';
import { createHash } from 'node:crypto';
import {
  CONFIRMATION_MAX_AGE_MS,
  TENANT_CACHE_TTL_MS,
  TenantCache,
  USER_CACHE_TTL_MS,
  userKeyDigest,
} from './tenant-cache';

describe('TenantCache (in-process tier, no Redis)', () => {
  const config = {
    redisKeyPrefix: 'test',
    observability: { advancedMetrics: false },
  } as BoardsConfig;
  const metrics = new MetricsService(config);
  const cache = new TenantCache({ client: undefined } as RedisConnection, metrics, config);
  /** The cache's `user` hits counted so far. */
  const userHits = async () =>
    (await metrics.cacheRequests.get()).values.find(
      (value) => value.labels.cache === 'user' && value.labels.result === 'hit',
    )?.value ?? 0;

  it('remembers slugs that named no tenant until the tenant is forgotten (created or changed)', async () => {
    expect(cache.knownMissing('ghost')).toBe(false);
    cache.rememberMissing('ghost');
    expect(cache.knownMissing('ghost')).toBe(true);
    await cache.forgetTenant('ghost');
    expect(cache.knownMissing('ghost')).toBe(false);
  });

  it('serves a tenant it was given, and forgets it on request', async () => {
    await cache.setTenant({
      id: 't1',
      slug: 'acme',
      name: 'Acme',
      status: 'active',
      allowedIssuers: [],
      claimsAdmit: true,
    });
    expect(await cache.getTenant('acme')).toMatchObject({ id: 't1' });
    await cache.forgetTenant('acme');
    expect(await cache.getTenant('acme')).toBeUndefined();
  });

  it('answers cachedTenant and cachedUser from this process only, as the read-through would', async () => {
    const tenant = {
      id: 't9',
      slug: 'held',
      name: 'Held',
      status: 'active' as const,
      allowedIssuers: [],
      claimsAdmit: true,
    };
    const identity = { provider: 'jwt', subject: 'ann' };
    const user = {
      id: 'u9',
      tenantRole: 'member' as const,
      membershipSource: 'invitation' as const,
      email: null,
      displayName: null,
      avatarUrl: null,
    };
    const any = () => true;
    expect(cache.cachedTenant('held')).toBeUndefined();
    expect(cache.cachedUser('t9', identity, any)).toBeUndefined();
    await cache.setTenant(tenant);
    await cache.setUser('t9', 'jwt', 'ann', user);
    expect(cache.cachedTenant('held')).toBe(tenant);
    const hits = await userHits();
    expect(cache.cachedUser('t9', identity, any)).toBe(user);
    expect(await userHits()).toBe(hits + 1);
    // A cached user `usable` refuses is not the answer, and not counted: user() will look again.
    expect(cache.cachedUser('t9', identity, () => false)).toBeUndefined();
    expect(await userHits()).toBe(hits + 1);
    expect(
      cache.cachedUser('t9', { provider: 'oidc:idp.test', subject: 'ann' }, any),
    ).toBeUndefined();
    expect(cache.cachedUser('t8', identity, any)).toBeUndefined();
    await cache.forgetUser('t9', 'jwt', 'ann');
    await cache.forgetTenant('held');
    expect(cache.cachedTenant('held')).toBeUndefined();
    expect(cache.cachedUser('t9', identity, any)).toBeUndefined();
  });

  it('drops exactly the users whose cache-key digest the change log names', async () => {
    const user = (id: string) => ({
      id,
      tenantRole: 'member' as const,
      email: null,
      displayName: null,
      avatarUrl: null,
      membershipSource: 'claim' as const,
    });
    await cache.setUser('t1', 'jwt', 'alice', user('u1'));
    await cache.setUser('t1', 'jwt', 'bob', user('u2'));
    await cache.setUser('t2', 'jwt', 'alice', user('u3'));
    await cache.forgetUsersByDigest(
      new Set([userKeyDigest(TenantCache.userKey('t1', 'jwt', 'alice'))]),
    );
    expect(await cache.getUser('t1', 'jwt', 'alice')).toBeUndefined();
    expect(await cache.getUser('t1', 'jwt', 'bob')).toMatchObject({ id: 'u2' });
    expect(await cache.getUser('t2', 'jwt', 'alice')).toMatchObject({ id: 'u3' });

    await cache.forgetAllUsers();
    expect(await cache.getUser('t1', 'jwt', 'bob')).toBeUndefined();
    expect(await cache.getUser('t2', 'jwt', 'alice')).toBeUndefined();
  });

  describe('read-through', () => {
    const record = (slug: string) => ({
      id: `id-${slug}`,
      slug,
      name: slug,
      status: 'active' as const,
      allowedIssuers: [],
      claimsAdmit: true,
    });
    const member = (id: string) => ({
      id,
      tenantRole: 'member' as const,
      email: null,
      displayName: null,
      avatarUrl: null,
      membershipSource: 'claim' as const,
    });

    it('loads a tenant once, then serves it from the cache', async () => {
      const load = jest.fn(async () => record('reader'));
      expect(await cache.tenant('reader', load)).toMatchObject({ id: 'id-reader' });
      expect(await cache.tenant('reader', load)).toMatchObject({ id: 'id-reader' });
      expect(load).toHaveBeenCalledTimes(1);
    });

    it('remembers a slug that named nothing: the next lookup does not load', async () => {
      const load = jest.fn(async () => undefined);
      expect(await cache.tenant('nobody', load)).toBeUndefined();
      expect(await cache.tenant('nobody', load)).toBeUndefined();
      expect(load).toHaveBeenCalledTimes(1);
    });

    it('does not store a tenant loaded while an invalidation arrived', async () => {
      const load = jest.fn(async () => {
        await cache.forgetTenant('racing');
        return record('racing');
      });
      expect(await cache.tenant('racing', load)).toMatchObject({ id: 'id-racing' });
      expect(await cache.getTenant('racing')).toBeUndefined();
    });

    it('serves a cached user only when `usable` accepts it; otherwise loads with the cached record', async () => {
      const identity = { provider: 'jwt', subject: 'carol' };
      const first = jest.fn(async () => member('u-carol'));
      expect(await cache.user('t9', identity, () => true, first)).toMatchObject({ id: 'u-carol' });
      const accepted = jest.fn(async () => member('other'));
      expect(await cache.user('t9', identity, () => true, accepted)).toMatchObject({
        id: 'u-carol',
      });
      expect(accepted).not.toHaveBeenCalled();
      const refused = jest.fn(async (cached: unknown) => ({
        ...member('u-carol-2'),
        seen: cached,
      }));
      const user = await cache.user('t9', identity, () => false, refused);
      expect(refused).toHaveBeenCalledWith(expect.objectContaining({ id: 'u-carol' }));
      expect(user).toMatchObject({ id: 'u-carol-2' });
      expect(await cache.getUser('t9', 'jwt', 'carol')).toMatchObject({ id: 'u-carol-2' });
    });

    it('an invalidation of anyone during a refresh drops the refreshed user’s old entry too', async () => {
      const identity = { provider: 'jwt', subject: 'frank' };
      await cache.user(
        't9',
        identity,
        () => true,
        async () => member('u-frank-old'),
      );
      // A refresh (the cached record is not usable) overtaken by another user's invalidation:
      // the refreshed record is not stored, and the old one must not be served again.
      await cache.user(
        't9',
        identity,
        () => false,
        async () => {
          await cache.forgetUsersByDigest(new Set(['digest-of-someone-else']));
          return member('u-frank-new');
        },
      );
      expect(await cache.getUser('t9', 'jwt', 'frank')).toBeUndefined();
    });

    it('does not store a user loaded while an invalidation arrived, nor an absent one', async () => {
      const identity = { provider: 'jwt', subject: 'dave' };
      await cache.user(
        't9',
        identity,
        () => true,
        async () => {
          await cache.forgetUser('t9', 'jwt', 'dave');
          return member('u-dave');
        },
      );
      expect(await cache.getUser('t9', 'jwt', 'dave')).toBeUndefined();
      await cache.user(
        't9',
        { provider: 'jwt', subject: 'erin' },
        () => true,
        async () => undefined,
      );
      expect(await cache.getUser('t9', 'jwt', 'erin')).toBeUndefined();
    });
  });

  it('digests a cache key as the SQL trigger does: SHA-256 of the UTF-8 key, in hex', () => {
    const key = TenantCache.userKey('0b7c…', 'oidc:https://idp.example', 'zoë');
    expect(key).toBe('tenant:0b7c…:user:oidc:https://idp.example:zoë');
    expect(userKeyDigest(key)).toBe(
      createHash('sha256').update(Buffer.from(key, 'utf8')).digest('hex'),
    );
    expect(userKeyDigest(key)).toMatch(/^[0-9a-f]{64}$/);
  });

  describe('renewal while the registry watcher confirms', () => {
    const user = {
      id: 'u1',
      tenantRole: 'member' as const,
      email: null,
      displayName: null,
      avatarUrl: null,
      membershipSource: 'claim' as const,
    };
    const tenant = {
      id: 't1',
      slug: 'acme',
      name: 'Acme',
      status: 'active' as const,
      allowedIssuers: [],
      claimsAdmit: true,
    };
    let fresh: TenantCache;
    let clock: number;
    /** The watcher checks twice a second; this moves time on and confirms every check. */
    const confirmedFor = (ms: number) => {
      for (let step = 0; step < ms; step += 1_000) {
        clock += Math.min(1_000, ms - step);
        jest.setSystemTime(clock);
        fresh.confirmFresh(clock - 10);
      }
    };
    const idleFor = (ms: number) => {
      clock += ms;
      jest.setSystemTime(clock);
    };

    beforeEach(() => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
      clock = 1_700_000_000_000;
      jest.setSystemTime(clock);
      fresh = new TenantCache(
        { client: undefined } as RedisConnection,
        new MetricsService(config),
        config,
      );
    });
    afterEach(() => jest.useRealTimers());

    it('keeps a tenant and a user in use past their TTL while every check is confirmed', async () => {
      await fresh.setTenant(tenant, fresh.tenantVersion());
      await fresh.setUser('t1', 'jwt', 'alice', user, fresh.userVersion());
      for (let minute = 0; minute < 15; minute++) {
        confirmedFor(60_000);
        expect(await fresh.getTenant('acme')).toMatchObject({ id: 't1' });
        expect(await fresh.getUser('t1', 'jwt', 'alice')).toMatchObject({ id: 'u1' });
      }
      expect(15 * 60_000).toBeGreaterThanOrEqual(
        3 * Math.max(TENANT_CACHE_TTL_MS, USER_CACHE_TTL_MS),
      );
    });

    it('lets entries run out their TTL once confirmations stop (the watcher cannot read the database)', async () => {
      await fresh.setUser('t1', 'jwt', 'alice', user, fresh.userVersion());
      confirmedFor(60_000);
      expect(await fresh.getUser('t1', 'jwt', 'alice')).toBeDefined(); // renewed: a full TTL from here
      idleFor(CONFIRMATION_MAX_AGE_MS + 1);
      for (let t = CONFIRMATION_MAX_AGE_MS + 1; t < USER_CACHE_TTL_MS - 60_000; t += 60_000) {
        expect(await fresh.getUser('t1', 'jwt', 'alice')).toBeDefined(); // served, not renewed
        idleFor(60_000);
      }
      idleFor(60_000);
      expect(await fresh.getUser('t1', 'jwt', 'alice')).toBeUndefined();
    });

    it('never renews an entry that is not in use, nor one stored without a version', async () => {
      await fresh.setUser('t1', 'jwt', 'idle', user, fresh.userVersion());
      await fresh.setUser('t1', 'jwt', 'unversioned', user);
      confirmedFor(USER_CACHE_TTL_MS - 1_000);
      expect(await fresh.getUser('t1', 'jwt', 'unversioned')).toBeDefined();
      confirmedFor(1_000);
      expect(await fresh.getUser('t1', 'jwt', 'idle')).toBeUndefined();
      expect(await fresh.getUser('t1', 'jwt', 'unversioned')).toBeUndefined();
    });

    it('does not store a lookup that an invalidation overtook (read before, stored after it)', async () => {
      const userRead = fresh.userVersion();
      const tenantRead = fresh.tenantVersion();
      // A change to some user and to the registry is applied while both reads are under way.
      await fresh.forgetUsersByDigest(new Set(['0'.repeat(64)]));
      await fresh.forgetAllTenants();
      await fresh.setUser('t1', 'jwt', 'alice', user, userRead);
      await fresh.setTenant(tenant, tenantRead);
      expect(await fresh.getUser('t1', 'jwt', 'alice')).toBeUndefined();
      expect(await fresh.getTenant('acme')).toBeUndefined();
      // A later lookup of another user, started after the invalidation, is stored and renewable.
      await fresh.setUser('t1', 'jwt', 'bob', { ...user, id: 'u2' }, fresh.userVersion());
      for (let t = 0; t < USER_CACHE_TTL_MS; t += 60_000) {
        confirmedFor(60_000);
        await fresh.getUser('t1', 'jwt', 'alice');
        await fresh.getUser('t1', 'jwt', 'bob');
        await fresh.getTenant('acme');
      }
      expect(await fresh.getUser('t1', 'jwt', 'alice')).toBeUndefined();
      expect(await fresh.getTenant('acme')).toBeUndefined();
      expect(await fresh.getUser('t1', 'jwt', 'bob')).toMatchObject({ id: 'u2' });
    });
  });
});
