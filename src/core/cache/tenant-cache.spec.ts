import type { BoardsConfig } from 'src/core/config/boards-config';
import type { RedisConnection } from 'src/core/redis/redis.module';
import { MetricsService } from 'src/modules/metrics/metrics.service';
import { createHash } from 'node:crypto';
import { TenantCache, userKeyDigest } from './tenant-cache';

describe('TenantCache (in-process tier, no Redis)', () => {
  const config = {
    redisKeyPrefix: 'test',
    observability: { advancedMetrics: false },
  } as BoardsConfig;
  const cache = new TenantCache(
    { client: undefined } as RedisConnection,
    new MetricsService(config),
    config,
  );

  it('remembers slugs that named no tenant until the tenant is forgotten (created or changed)', async () => {
    expect(cache.knownMissing('ghost')).toBe(false);
    cache.rememberMissing('ghost');
    expect(cache.knownMissing('ghost')).toBe(true);
    await cache.forgetTenant('ghost');
    expect(cache.knownMissing('ghost')).toBe(false);
  });

  it('serves a tenant it was given, and forgets it on request', async () => {
    await cache.setTenant({ id: 't1', slug: 'acme', name: 'Acme', status: 'active' });
    expect(await cache.getTenant('acme')).toMatchObject({ id: 't1' });
    await cache.forgetTenant('acme');
    expect(await cache.getTenant('acme')).toBeUndefined();
  });

  it('drops exactly the users whose cache-key digest the change log names', async () => {
    const user = (id: string) => ({
      id,
      tenantRole: 'member' as const,
      email: null,
      displayName: null,
      avatarUrl: null,
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

  it('digests a cache key as the SQL trigger does: SHA-256 of the UTF-8 key, in hex', () => {
    const key = TenantCache.userKey('0b7c…', 'oidc:https://idp.example', 'zoë');
    expect(key).toBe('tenant:0b7c…:user:oidc:https://idp.example:zoë');
    expect(userKeyDigest(key)).toBe(
      createHash('sha256').update(Buffer.from(key, 'utf8')).digest('hex'),
    );
    expect(userKeyDigest(key)).toMatch(/^[0-9a-f]{64}$/);
  });
});
