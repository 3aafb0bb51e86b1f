import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { BoardsConfig } from 'src/core/config/boards-config';
import {
  TENANT_CHANGES_SQL,
  REGISTRY_POLL_INTERVAL_MS,
  TenantRegistryWatcher,
} from 'src/core/cache/tenant-registry.watcher';
import { HOLDS_ONLY_SQL } from 'src/core/database/database.module';
import { PLACE_SQL } from 'src/core/database/tenant-database-locator';
import { inTenant, uniqueMarker, type SeededTenant } from 'test/factories/seed';
import { TOKENS, bearer, hs256Token, jwtAuthEnv } from 'test/factories/tokens';
import { REDIS_URL, describeWithRedis } from 'test/support/environment';
import { freePort, startApp, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * The hot-path cache of tenants and users with Redis (BOARDS_REDIS_URL): a repeated request reads
 * neither the tenants nor the users table (queries counted on the app's own TypeORM logger, and
 * the cache counters of /metrics), Redis keys are tenant-aware and shared by every replica, a
 * change through the setup API (suspend, activate) takes effect on the next request, and with
 * Redis unreachable requests still succeed from the database.
 */

/** SQL that reaches the app's runtime data source, as its logger sees it. */
function recordQueries(server: RunningApp): string[] {
  const queries: string[] = [];
  const { logger } = server.app.get(DataSource);
  const logQuery = logger.logQuery.bind(logger);
  logger.logQuery = (query, parameters, runner) => {
    // The registry watcher's once-a-second read of the tenant-change log is not a lookup.
    if (query !== TENANT_CHANGES_SQL) queries.push(query);
    return logQuery(query, parameters, runner);
  };
  return queries;
}

const touching = (queries: string[], table: string) =>
  queries.filter((q) => new RegExp(`\\b(FROM|INTO|UPDATE)\\s+"?${table}"?\\b`, 'i').test(q));

/** boards_cache_requests_total{cache,result} from /metrics. */
async function cacheCount(server: RunningApp, cache: string, result: string): Promise<number> {
  const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`boards_cache_requests_total{cache="${cache}",result="${result}"} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

async function me(server: RunningApp, token: string) {
  const response = await fetch(`${server.baseUrl}/api/auth/me`, { headers: bearer(token) });
  return {
    status: response.status,
    body: (await response.json()) as {
      user: { id: string; tenant_role: string };
      tenant: { id: string };
    },
  };
}

/**
 * Polls every server until `arrived(server)` holds on each, and returns how long that took (ms,
 * from the call); fails after 10 s naming `what`.
 */
async function msUntil(
  what: string,
  servers: RunningApp[],
  arrived: (server: RunningApp) => Promise<boolean>,
): Promise<number> {
  const started = Date.now();
  for (const server of servers) {
    while (!(await arrived(server))) {
      if (Date.now() - started > 10_000) throw new Error(`${what} never arrived`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return Date.now() - started;
}

describeWithRedis('tenant cache with Redis', () => {
  let db: TestDatabase;
  let redis: Redis;
  let first: RunningApp;
  let second: RunningApp;
  let tenant: SeededTenant;
  const subject = uniqueMarker('cached');
  let token: string;
  /** `<BOARDS_REDIS_KEY_PREFIX>:cache:`; the test database gives each suite its own prefix. */
  let CACHE_PREFIX: string;
  const start = (overrides: Record<string, string> = {}) =>
    startApp(
      db.config(jwtAuthEnv({ BOARDS_REDIS_URL: REDIS_URL, ...overrides })),
      db.embedded ? { databaseTarget: db.target } : {},
    );

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    tenant = await db.createTenant(uniqueMarker('cache'));
    token = hs256Token({ sub: subject, tenant: tenant.slug });
    first = await start();
    second = await start();
    CACHE_PREFIX = `${first.app.get(BoardsConfig).redisKeyPrefix}:cache:`;
  }, 60_000);

  afterAll(async () => {
    await first?.close();
    await second?.close();
    if (redis) {
      // Everything this suite's apps wrote (cache entries, rate-limit counters) shares its prefix.
      const keys = CACHE_PREFIX ? await redis.keys(`${CACHE_PREFIX.split(':')[0]}:*`) : [];
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
    await db?.drop();
  });

  it('a repeated request reads neither tenants nor users from the database', async () => {
    const queries = recordQueries(first);
    const initial = await me(first, token);
    expect(initial.status).toBe(200);
    expect(touching(queries, 'tenants').length).toBeGreaterThan(0);
    expect(touching(queries, 'users').length).toBeGreaterThan(0);

    // Tenants created meanwhile must not make the registry watcher drop the cache mid-way: two
    // awaited checks leave it with the current fingerprint; then the cache is warmed again.
    const watcher = first.app.get(TenantRegistryWatcher);
    await watcher.poll();
    await watcher.poll();
    expect((await me(first, token)).status).toBe(200);
    queries.length = 0;
    const before = {
      tenantHits: await cacheCount(first, 'tenant', 'hit'),
      tenantMisses: await cacheCount(first, 'tenant', 'miss'),
      userHits: await cacheCount(first, 'user', 'hit'),
      userMisses: await cacheCount(first, 'user', 'miss'),
    };
    for (let i = 0; i < 3; i++) {
      const again = await me(first, token);
      expect(again.status).toBe(200);
      expect(again.body.user.id).toBe(initial.body.user.id);
    }
    expect(touching(queries, 'tenants')).toEqual([]);
    expect(touching(queries, 'users')).toEqual([]);
    // Every lookup of the three requests was a hit of the in-process tier.
    expect(await cacheCount(first, 'tenant', 'hit')).toBeGreaterThanOrEqual(before.tenantHits + 3);
    expect(await cacheCount(first, 'user', 'hit')).toBeGreaterThanOrEqual(before.userHits + 3);
    expect(await cacheCount(first, 'tenant', 'miss')).toBe(before.tenantMisses);
    expect(await cacheCount(first, 'user', 'miss')).toBe(before.userMisses);
  });

  it('Redis holds tenant-aware keys: boards:cache:tenant:<tenant_id>:user:<provider>:<subject>', async () => {
    const { body } = await me(first, token);
    const userKeys = await redis.keys(`${CACHE_PREFIX}tenant:${tenant.id}:user:*`);
    expect(userKeys).toEqual([`${CACHE_PREFIX}tenant:${tenant.id}:user:jwt:${subject}`]);
    const user = JSON.parse(String(await redis.get(userKeys[0]))) as { id: string };
    expect(user.id).toBe(body.user.id);
    const ttl = await redis.pttl(userKeys[0]);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);

    const bySlug = JSON.parse(
      String(await redis.get(`${CACHE_PREFIX}tenants:slug:${tenant.slug}`)),
    ) as { id: string; status: string };
    expect(bySlug).toMatchObject({ id: tenant.id, slug: tenant.slug, status: 'active' });
    // Nothing of this tenant's users is stored under another tenant's prefix.
    const stray = (await redis.keys(`${CACHE_PREFIX}*:user:jwt:${subject}`)).filter(
      (k) => !k.includes(tenant.id),
    );
    expect(stray).toEqual([]);
  });

  it('another replica is served from Redis without touching the database', async () => {
    const queries = recordQueries(second);
    const redisHits = await cacheCount(second, 'redis', 'hit');
    const answer = await me(second, token);
    expect(answer.status).toBe(200);
    expect(answer.body.tenant.id).toBe(tenant.id);
    // With a database per tenant, this replica's first use of the tenant's database opens its
    // data source: where it is (control database) and that it holds this tenant alone. Nothing
    // reads the tenant's record or the user.
    expect(touching(queries, 'tenants')).toEqual(
      db.isolation === 'database' ? [PLACE_SQL, HOLDS_ONLY_SQL] : [],
    );
    expect(touching(queries, 'users')).toEqual([]);
    // The tenant and the user came from Redis (and were then kept in-process).
    expect((await cacheCount(second, 'redis', 'hit')) - redisHits).toBe(2);
  });

  it('suspending the tenant through the setup API takes effect on the next request', async () => {
    expect((await me(first, token)).status).toBe(200);
    const admin = bearer(TOKENS.platformAdmin);
    const suspend = await fetch(`${first.baseUrl}/api/setup/tenant/${tenant.id}/suspend`, {
      method: 'POST',
      headers: admin,
    });
    expect(suspend.status).toBe(200);
    expect(await redis.exists(`${CACHE_PREFIX}tenants:slug:${tenant.slug}`)).toBe(0);

    const refused = await me(first, token);
    expect(refused.status).toBe(403);

    const activate = await fetch(`${first.baseUrl}/api/setup/tenant/${tenant.id}/activate`, {
      method: 'POST',
      headers: admin,
    });
    expect(activate.status).toBe(200);
    expect((await me(first, token)).status).toBe(200);
  });

  it('a change made elsewhere reaches every replica within about a second, not the cache TTL', async () => {
    const other = await db.createTenant(uniqueMarker('watched'));
    const otherToken = hs256Token({ sub: uniqueMarker('watcher'), tenant: other.slug });
    expect((await me(first, otherToken)).status).toBe(200);
    expect((await me(second, otherToken)).status).toBe(200);

    // Suspended through one replica: the other still has the tenant in its in-process tier.
    const admin = bearer(TOKENS.platformAdmin);
    const suspend = await fetch(`${first.baseUrl}/api/setup/tenant/${other.id}/suspend`, {
      method: 'POST',
      headers: admin,
    });
    expect(suspend.status).toBe(200);
    const suspended = await msUntil(
      'the suspension',
      [second],
      async (server) => (await me(server, otherToken)).status === 403,
    );
    expect(suspended).toBeLessThan(3 * REGISTRY_POLL_INTERVAL_MS);

    // Activated behind every server's back, as the CLI does from its own process.
    await db.owner.query(`UPDATE tenants SET status = 'active', updated_at = now() WHERE id = $1`, [
      other.id,
    ]);
    const activated = await msUntil(
      'the activation',
      [first, second],
      async (server) => (await me(server, otherToken)).status === 200,
    );
    expect(activated).toBeLessThan(3 * REGISTRY_POLL_INTERVAL_MS);
  });

  it('a suspension that commits after a later registry change is seen by the other replica within 1 s (transaction order, not timestamps)', async () => {
    const slow = await db.createTenant(uniqueMarker('slow'));
    const busy = await db.createTenant(uniqueMarker('busy'));
    const slowToken = hs256Token({ sub: uniqueMarker('slow-user'), tenant: slow.slug });
    expect((await me(first, slowToken)).status).toBe(200);
    expect((await me(second, slowToken)).status).toBe(200);

    // The suspension takes its timestamp first and commits last; a later change commits between.
    const suspension = db.owner.createQueryRunner();
    await suspension.connect();
    try {
      await suspension.startTransaction();
      await suspension.query(
        `UPDATE tenants SET status = 'suspended', updated_at = now() WHERE id = $1`,
        [slow.id],
      );
      await new Promise((settle) => setTimeout(settle, 20));
      await db.owner.query(
        `UPDATE tenants SET name = name || ' renamed', updated_at = now() WHERE id = $1`,
        [busy.id],
      );
      // Both replicas read the log (twice) while the suspension is still uncommitted.
      await new Promise((settle) => setTimeout(settle, 2 * REGISTRY_POLL_INTERVAL_MS + 200));
      expect((await me(second, slowToken)).status).toBe(200);
      await suspension.commitTransaction();
    } finally {
      await suspension.release();
    }
    const seen = await msUntil(
      'the late suspension',
      [second],
      async (server) => (await me(server, slowToken)).status === 403,
    );
    expect(seen).toBeLessThan(1_000);
  });

  it('a membership removed through one replica is refused by the other within 1 s', async () => {
    const team = await db.createTenant(uniqueMarker('team'));
    const adminToken = hs256Token({ sub: uniqueMarker('lead'), tenant: team.slug });
    const memberToken = hs256Token({ sub: uniqueMarker('mate'), tenant: team.slug });
    expect((await me(first, adminToken)).body.user.tenant_role).toBe('admin');
    const member = await me(second, memberToken);
    expect(member.status).toBe(200);
    expect((await me(second, memberToken)).status).toBe(200); // cached on the second replica
    const removed = await fetch(`${first.baseUrl}/api/tenant/members/${member.body.user.id}`, {
      method: 'DELETE',
      headers: bearer(adminToken),
    });
    expect(removed.status).toBe(204);
    const refused = await msUntil(
      'the removal',
      [second],
      async (server) => (await me(server, memberToken)).status === 403,
    );
    expect(refused).toBeLessThan(1_000);
  });

  it('a user changed or deleted by SQL is dropped by every replica within about a second, not the user TTL', async () => {
    const subjectOf = uniqueMarker('role');
    const userToken = hs256Token({ sub: subjectOf, tenant: tenant.slug });
    const role = async (server: RunningApp) => {
      const response = await fetch(`${server.baseUrl}/api/auth/me`, { headers: bearer(userToken) });
      const body = (await response.json()) as { user: { id: string; tenant_role: string } };
      return { status: response.status, id: body.user?.id, role: body.user?.tenant_role };
    };
    const created = await role(first);
    expect(created).toMatchObject({ status: 200, role: 'member' });
    expect(await role(second)).toEqual(created);
    const userKey = `${CACHE_PREFIX}tenant:${tenant.id}:user:jwt:${subjectOf}`;
    expect(await redis.exists(userKey)).toBe(1);
    // Both replicas now serve the user from memory (USER_CACHE_TTL_MS is minutes).

    const changeInTenant = async (sql: string) =>
      inTenant(await db.tenantData(tenant.id, 'owner'), tenant.id, (runner) =>
        runner.query(sql, [subjectOf]),
      );
    await changeInTenant(`UPDATE users SET tenant_role = 'admin' WHERE auth_subject = $1`);
    const promoted = await msUntil(
      'the role change',
      [first, second],
      async (server) => (await role(server)).role === 'admin',
    );
    expect(promoted).toBeLessThan(3 * REGISTRY_POLL_INTERVAL_MS);

    // Deleted: the next request provisions the caller again, as a new user.
    await changeInTenant('DELETE FROM users WHERE auth_subject = $1');
    const removed = await msUntil(
      'the deletion',
      [first, second],
      async (server) => (await role(server)).id !== created.id,
    );
    expect(removed).toBeLessThan(3 * REGISTRY_POLL_INTERVAL_MS);
    const again = await role(first);
    expect(again.status).toBe(200);
    expect(again.id).not.toBe(created.id);
    expect(await role(second)).toMatchObject({ status: 200, id: again.id });
  });

  it('with Redis unreachable, requests still succeed (no cache errors reach the client)', async () => {
    const deadPort = await freePort();
    const isolated = await start({ BOARDS_REDIS_URL: `redis://127.0.0.1:${deadPort}` });
    try {
      const other = hs256Token({ sub: uniqueMarker('no-redis'), tenant: tenant.slug });
      const started = Date.now();
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await me(isolated, other)).status);
      expect(statuses).toEqual([200, 200, 200]);
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(await cacheCount(isolated, 'redis', 'error')).toBeGreaterThan(0);
      // The in-process tier still spares the database.
      expect(await cacheCount(isolated, 'tenant', 'hit')).toBeGreaterThanOrEqual(2);

      const created = await fetch(`${isolated.baseUrl}/api/boards`, {
        method: 'POST',
        headers: { ...bearer(other), 'content-type': 'application/json' },
        body: JSON.stringify({ title: `${tenant.slug} without redis` }),
      });
      expect(created.status).toBe(201);
    } finally {
      await isolated.close();
    }
  });
});
