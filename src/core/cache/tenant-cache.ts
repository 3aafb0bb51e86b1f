import { createHash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { BoardsConfig } from 'src/core/config/boards-config';
import { RedisConnection } from 'src/core/redis/redis.module';
import { MetricsService } from 'src/core/metrics/metrics.service';
import type { TenantRecord, UserRecord } from 'src/core/context/records';
import { LruTtlCache } from './lru-ttl-cache';

/**
 * Long, because TenantRegistryWatcher drops cached tenants, and changed users, within a second of
 * any change; the TTLs only bound staleness while the watcher cannot reach the database. While it
 * can, an entry in use is renewed on every hit (see confirmFresh), so active tenants and users
 * do not all expire together and cost a lookup each at once.
 */
export const TENANT_CACHE_TTL_MS = 300_000;
export const USER_CACHE_TTL_MS = 300_000;
/**
 * Hits renew entries only while the watcher's last complete check started at most this long ago
 * (it checks twice a second); after that, entries run out their TTL as if never renewed.
 */
export const CONFIRMATION_MAX_AGE_MS = 3_000;
/** How long a slug that named no tenant is answered from memory (probing costs no query). */
export const MISSING_TENANT_TTL_MS = 5_000;
const SHARED_TTL_MS = 60_000;

/**
 * The hot-path lookups (tenant by slug, user by identity) in two tiers: an in-process LRU with a
 * short TTL, then Redis (BOARDS_REDIS_URL) shared by all replicas. Keys are tenant-aware:
 * `tenant:{tenant_id}:user:{provider}:{subject}`; tenants by slug are `tenants:slug:{slug}`.
 *
 * forget*() drops the key here and in Redis; other processes drop their in-process tenants when
 * TenantRegistryWatcher sees the registry change, and changed users when it sees them in the
 * `user_changes` log (both within about a second). A Redis failure never fails a request: it counts as a miss (metric
 * boards_cache_requests_total{cache="redis",result="error"}) and the database answers.
 */
@Injectable()
export class TenantCache {
  private readonly logger = new Logger('TenantCache');
  private readonly tenants = new LruTtlCache<TenantRecord>(20_000, TENANT_CACHE_TTL_MS);
  private readonly users = new LruTtlCache<UserRecord>(50_000, USER_CACHE_TTL_MS);
  private readonly missingTenants = new LruTtlCache<true>(10_000, MISSING_TENANT_TTL_MS);
  private lastRedisWarning = 0;
  private readonly keyPrefix: string;
  /** When the last complete watcher check started (Date.now()); see confirmFresh. */
  private confirmedAt = Number.NEGATIVE_INFINITY;
  /** Bumped whenever cached tenants (users) are dropped, so a lookup that raced it is not renewed. */
  private tenantsVersion = 0;
  private usersVersion = 0;

  constructor(
    private readonly redis: RedisConnection,
    private readonly metrics: MetricsService,
    config: BoardsConfig,
  ) {
    this.keyPrefix = `${config.redisKeyPrefix}:cache:`;
  }

  static tenantKey(slug: string): string {
    return `tenants:slug:${slug}`;
  }

  static userKey(tenantId: string, provider: string, subject: string): string {
    return `${TenantCache.userKeyPrefix(tenantId)}${provider}:${subject}`;
  }

  /** What every cached user of one tenant's key starts with. */
  static userKeyPrefix(tenantId: string): string {
    return `tenant:${tenantId}:user:`;
  }

  /**
   * TenantRegistryWatcher completed a check that started at `startedAt`: every tenant and user
   * change committed before then has been applied to this cache. Until CONFIRMATION_MAX_AGE_MS
   * after that, a hit renews its entry's TTL, if the entry was read from the database with no
   * invalidation in between (the `version` given to setTenant or setUser). A change after the
   * read reaches the entry through the next check, like any other; a lookup that a change
   * overtook (applied while the read was under way, before the entry was stored) is not stored at
   * all, in neither tier: what it read may be the state before the change.
   */
  confirmFresh(startedAt: number): void {
    this.confirmedAt = Math.max(this.confirmedAt, startedAt);
  }

  /** Take before reading a tenant from the database; give it to setTenant. */
  tenantVersion(): number {
    return this.tenantsVersion;
  }

  /** Take before reading a user from the database; give it to setUser. */
  userVersion(): number {
    return this.usersVersion;
  }

  /**
   * The tenant named `slug`, read through the cache: a cached record, else (unless the slug is
   * known to name nothing) `load()`, whose answer is stored — or remembered as missing for a few
   * seconds — unless an invalidation arrived while it loaded.
   */
  async tenant(
    slug: string,
    load: () => Promise<TenantRecord | undefined>,
  ): Promise<TenantRecord | undefined> {
    const cached = await this.getTenant(slug);
    if (cached) return cached;
    // Unknown slugs (typos, probing through X-Tenant) are answered from memory for a few seconds.
    if (this.knownMissing(slug)) return undefined;
    const version = this.tenantVersion();
    const record = await load();
    if (!record) {
      this.rememberMissing(slug);
      return undefined;
    }
    await this.setTenant(record, version);
    return record;
  }

  /**
   * The user of `identity` in `tenantId`, read through the cache: a cached record that `usable`
   * accepts, else `load(cached)` (which may refresh or create the row), whose answer is stored
   * unless an invalidation arrived while it loaded.
   */
  async user(
    tenantId: string,
    identity: { readonly provider: string; readonly subject: string },
    usable: (cached: UserRecord) => boolean,
    load: (cached: UserRecord | undefined) => Promise<UserRecord | undefined>,
  ): Promise<UserRecord | undefined> {
    const cached = await this.getUser(tenantId, identity.provider, identity.subject);
    if (cached && usable(cached)) return cached;
    const version = this.userVersion();
    const user = await load(cached);
    if (user) await this.setUser(tenantId, identity.provider, identity.subject, user, version);
    return user;
  }

  /**
   * The tenant named `slug` when this process holds it; undefined otherwise, and then `tenant()`
   * looks further (Redis, the database). Counted as a hit; a miss is counted by `tenant()`.
   */
  cachedTenant(slug: string): TenantRecord | undefined {
    return this.held(this.tenants, 'tenant', TenantCache.tenantKey(slug));
  }

  /**
   * The user of `identity` in `tenantId` when this process holds it and `usable` accepts it, as
   * `user()` would answer at once; undefined otherwise (then `user()` looks, and counts, itself).
   */
  cachedUser(
    tenantId: string,
    identity: { readonly provider: string; readonly subject: string },
    usable: (cached: UserRecord) => boolean,
  ): UserRecord | undefined {
    const key = TenantCache.userKey(tenantId, identity.provider, identity.subject);
    return this.held(this.users, 'user', key, usable);
  }

  getTenant(slug: string): Promise<TenantRecord | undefined> {
    return this.get(this.tenants, 'tenant', TenantCache.tenantKey(slug));
  }

  /**
   * `version`: tenantVersion() taken before the read; an invalidation since then means the read
   * may be stale, and nothing is stored. Without a version the entry is stored, never renewed.
   */
  setTenant(tenant: TenantRecord, version?: number): Promise<void> {
    // Something was invalidated while `tenant` was read: it may be stale, and so may the entry
    // it would have replaced. Neither is kept.
    if (version !== undefined && version !== this.tenantsVersion)
      return this.forget(this.tenants, TenantCache.tenantKey(tenant.slug));
    return this.set(
      this.tenants,
      TenantCache.tenantKey(tenant.slug),
      tenant,
      version !== undefined,
    );
  }

  forgetTenant(slug: string): Promise<void> {
    this.tenantsVersion++;
    this.missingTenants.delete(slug);
    return this.forget(this.tenants, TenantCache.tenantKey(slug));
  }

  /** True while `slug` is known to name no tenant (in-process, MISSING_TENANT_TTL_MS). */
  knownMissing(slug: string): boolean {
    return this.missingTenants.get(slug) === true;
  }

  rememberMissing(slug: string): void {
    this.missingTenants.set(slug, true);
  }

  getUser(tenantId: string, provider: string, subject: string): Promise<UserRecord | undefined> {
    return this.get(this.users, 'user', TenantCache.userKey(tenantId, provider, subject));
  }

  /** `version`: userVersion() taken before the read, as for setTenant. */
  setUser(
    tenantId: string,
    provider: string,
    subject: string,
    user: UserRecord,
    version?: number,
  ): Promise<void> {
    // As for setTenant: an invalidation during the read keeps neither the read nor the old entry.
    if (version !== undefined && version !== this.usersVersion)
      return this.forget(this.users, TenantCache.userKey(tenantId, provider, subject));
    return this.set(
      this.users,
      TenantCache.userKey(tenantId, provider, subject),
      user,
      version !== undefined,
    );
  }

  /**
   * Drops one user here and in Redis, at once; other replicas drop it when they read the change
   * in the `user_changes` log (within about a second).
   */
  forgetUser(tenantId: string, provider: string, subject: string): Promise<void> {
    this.usersVersion++;
    return this.forget(this.users, TenantCache.userKey(tenantId, provider, subject));
  }

  /**
   * The registry changed somewhere (another replica, the CLI, SQL): drops every cached tenant, in
   * process and in Redis (an incremental SCAN of this installation's tenant keys), so no tier
   * serves the old record. Unknown slugs are forgotten too.
   */
  async forgetAllTenants(): Promise<void> {
    this.tenantsVersion++;
    // Redis first: a request between the two steps must not copy the old value back in.
    await this.deleteShared(TenantCache.tenantKey('*'), () => true);
    this.tenants.clear();
    this.missingTenants.clear();
  }

  /**
   * Users changed somewhere (the `user_changes` log): drops those whose cache key has one of these
   * SHA-256 digests (see userKeyDigest), in Redis (a SCAN of this installation's user keys), then
   * in process. Each key is hashed once per call; TenantRegistryWatcher calls this at most once a
   * second, and only when users changed.
   */
  async forgetUsersByDigest(digests: ReadonlySet<string>): Promise<void> {
    this.usersVersion++;
    const changed = (key: string) => digests.has(userKeyDigest(key));
    await this.deleteShared(TenantCache.userKey('*', '*', '*'), changed);
    this.users.deleteWhere(changed);
  }

  /**
   * Drops one tenant's cached users: in process, and with `shared` in Redis too (a SCAN of that
   * tenant's keys). With a database per tenant, a process that closes a tenant's data source
   * stops reading its change log, so it forgets that tenant's users (in process) until it opens
   * it again; a tenant whose log said "everything changed" loses them in both tiers.
   */
  async forgetTenantUsers(tenantId: string, shared: boolean): Promise<void> {
    this.usersVersion++;
    const prefix = TenantCache.userKeyPrefix(tenantId);
    if (shared) await this.deleteShared(`${prefix}*`, () => true);
    this.users.deleteWhere((key) => key.startsWith(prefix));
  }

  /** Too many users changed at once to pick them out: drops every cached user. */
  async forgetAllUsers(): Promise<void> {
    this.usersVersion++;
    await this.deleteShared(TenantCache.userKey('*', '*', '*'), () => true);
    this.users.clear();
  }

  /** Drops the in-process tier (tests, and operators after bulk changes). */
  async clear(): Promise<void> {
    this.tenantsVersion++;
    this.usersVersion++;
    this.tenants.clear();
    this.users.clear();
    this.missingTenants.clear();
  }

  /**
   * The in-process tier's entry (renewed while the registry checks are recent) when `usable`
   * takes it, counted as a hit; undefined, and not counted, otherwise.
   */
  private held<V>(
    local: LruTtlCache<V>,
    name: string,
    key: string,
    usable: (value: V) => boolean = () => true,
  ): V | undefined {
    const hit = local.get(key, Date.now() - this.confirmedAt <= CONFIRMATION_MAX_AGE_MS);
    if (hit === undefined || !usable(hit)) return undefined;
    this.metrics.cacheRequests.inc({ cache: name, result: 'hit' });
    return hit;
  }

  private async get<V>(local: LruTtlCache<V>, name: string, key: string): Promise<V | undefined> {
    const hit = this.held(local, name, key);
    if (hit !== undefined) return hit;
    const client = this.redis.client;
    if (client) {
      try {
        const shared = await client.get(this.keyPrefix + key);
        if (shared !== null) {
          const value = JSON.parse(shared) as V;
          // No longer than Redis would have kept it: a copy read just before an invalidation
          // deleted the key must not outlive the shared tier by minutes.
          local.set(key, value, SHARED_TTL_MS);
          this.metrics.cacheRequests.inc({ cache: 'redis', result: 'hit' });
          return value;
        }
        this.metrics.cacheRequests.inc({ cache: 'redis', result: 'miss' });
      } catch (err) {
        this.redisFailed(err);
      }
    }
    this.metrics.cacheRequests.inc({ cache: name, result: 'miss' });
    return undefined;
  }

  private async set<V>(
    local: LruTtlCache<V>,
    key: string,
    value: V,
    renewable: boolean,
  ): Promise<void> {
    local.set(key, value, undefined, renewable);
    const client = this.redis.client;
    if (!client) return;
    try {
      await client.set(this.keyPrefix + key, JSON.stringify(value), 'PX', SHARED_TTL_MS);
    } catch (err) {
      this.redisFailed(err);
    }
  }

  private async forget<V>(local: LruTtlCache<V>, key: string): Promise<void> {
    const client = this.redis.client;
    try {
      await client?.del(this.keyPrefix + key);
    } catch (err) {
      this.redisFailed(err);
    }
    local.delete(key);
  }

  /** Deletes this installation's Redis keys matching `pattern` (SCAN) whose key passes `test`. */
  private async deleteShared(pattern: string, test: (key: string) => boolean): Promise<void> {
    const client = this.redis.client;
    if (!client) return;
    try {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(
          cursor,
          'MATCH',
          this.keyPrefix + pattern,
          'COUNT',
          1000,
        );
        const doomed = keys.filter((key) => test(key.slice(this.keyPrefix.length)));
        if (doomed.length > 0) await client.del(...doomed);
        cursor = next;
      } while (cursor !== '0');
    } catch (err) {
      this.redisFailed(err);
    }
  }

  private redisFailed(err: unknown): void {
    this.metrics.cacheRequests.inc({ cache: 'redis', result: 'error' });
    const now = Date.now();
    if (now - this.lastRedisWarning > 60_000) {
      this.lastRedisWarning = now;
      this.logger.warn(
        `Redis cache unavailable, serving from the database: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
}

/**
 * The digest the `user_changes` log records for a changed user (migration 1764806400000): the
 * SHA-256, in hex, of the user's cache key `tenant:{tenant_id}:user:{provider}:{subject}`.
 */
export function userKeyDigest(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}
