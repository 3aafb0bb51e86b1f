import type { BoardsConfig } from 'src/core/config/boards-config';
import type { RedisConnection } from 'src/core/redis/redis.module';
import { MetricsService } from 'src/modules/metrics/metrics.service';
import { TenantCache } from './tenant-cache';

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
});
