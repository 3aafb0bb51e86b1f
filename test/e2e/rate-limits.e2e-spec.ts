import { TOKENS, hs256Token, jwtAuthEnv } from 'test/factories/tokens';
import { createTenant, uniqueMarker } from 'test/factories/seed';
import { REDIS_URL, describeWithPostgres, describeWithRedis } from 'test/support/environment';
import { call, freePort, startApp, type Reply, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * Rate limits through HTTP (DESIGN.md §5): the route limits (register 3/hour, create tenant
 * 10/hour, delete tenant 5/hour, setup reads 100/minute), the default per-user limit and the
 * per-tenant budget, the 429 answer (headers and body), the metric, counters shared by two
 * replicas on one Redis, and the per-replica fallback when Redis is unreachable. Every app of a
 * suite shares its database's unique BOARDS_REDIS_KEY_PREFIX, so suites never share counters.
 */

const PER_USER = 4;
const PER_TENANT = 6;

/** A 429 with the four headers and the documented body naming the limit. */
function expectLimited(
  reply: Reply<unknown>,
  limit: number,
  name: string,
  windowSeconds: number,
): void {
  expect(reply.status).toBe(429);
  expect(reply.headers.get('x-ratelimit-limit')).toBe(String(limit));
  expect(reply.headers.get('x-ratelimit-remaining')).toBe('0');
  const reset = Number(reply.headers.get('x-ratelimit-reset'));
  const retryAfter = Number(reply.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
  expect(reset).toBeGreaterThanOrEqual(1);
  expect(reset).toBeLessThanOrEqual(windowSeconds);
  expect(reply.body).toEqual({
    error: 'Too Many Requests',
    code: 'rate_limited',
    detail:
      name === 'tenant'
        ? `Your organization's request budget is used up; retry in ${retryAfter} s.`
        : `Too many requests (${name} limit); retry in ${retryAfter} s.`,
    status: 429,
    request_id: reply.headers.get('x-request-id'),
    limit: name,
  });
}

/** The value of one labelled sample in the Prometheus text, 0 when absent. */
async function metric(server: RunningApp, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

/** n requests at once, statuses in completion-independent order. */
async function statuses(n: number, request: () => Promise<Reply<unknown>>): Promise<number[]> {
  return (await Promise.all(Array.from({ length: n }, request))).map((r) => r.status);
}

const ADMINS = ['platform-root', 'rl-root-delete', 'rl-root-read'];
const adminToken = (subject: string) => hs256Token({ sub: subject, email: `${subject}@ops.test` });

function limitedEnv(extra: Record<string, string> = {}): Record<string, string> {
  return jwtAuthEnv({
    BOARDS_MULTI_TENANT_MODE: 'true',
    BOARDS_PLATFORM_ADMIN_SUBJECTS: ADMINS.join(','),
    BOARDS_MAX_TENANTS_PER_USER: '10',
    BOARDS_RATE_LIMIT_PER_USER_PER_MINUTE: String(PER_USER),
    BOARDS_RATE_LIMIT_PER_TENANT_PER_MINUTE: String(PER_TENANT),
    ...extra,
  });
}

describeWithRedis('rate limits shared through Redis', () => {
  let db: TestDatabase;
  let replicaA: RunningApp;
  let replicaB: RunningApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    // Two replicas: same database, same Redis, same key prefix (db.config sets a unique one).
    const config = db.config(limitedEnv({ BOARDS_REDIS_URL: REDIS_URL }));
    [replicaA, replicaB] = await Promise.all([startApp(config), startApp(config)]);
  }, 60_000);

  afterAll(async () => {
    await replicaA?.close();
    await replicaB?.close();
    await db?.drop();
  });

  it('register: 3 per hour per caller, the 4th is 429 with headers and body; no tenant is created', async () => {
    const subject = uniqueMarker('registrant');
    const token = hs256Token({ sub: subject, email: `${subject}@example.com` });
    const register = (server: RunningApp) =>
      call(server, 'POST', '/api/tenants/register', {
        token,
        body: { organization_name: uniqueMarker('Limited Org'), admin_email: 'a@example.com' },
      });
    const before = await metric(replicaA, 'boards_rate_limited_requests_total', 'limit="register"');
    // Spread over both replicas: the counter is shared.
    expect((await register(replicaA)).status).toBe(201);
    expect((await register(replicaB)).status).toBe(201);
    expect((await register(replicaA)).status).toBe(201);
    const fourth = await register(replicaB);
    expectLimited(fourth, 3, 'register', 3_600);
    expectLimited(await register(replicaA), 3, 'register', 3_600);

    const [row] = (await db.owner.query(
      'SELECT count(*)::int AS n FROM tenants WHERE registered_by = $1',
      [`jwt:${subject}`],
    )) as { n: number }[];
    expect(row.n).toBe(3);
    expect(await metric(replicaA, 'boards_rate_limited_requests_total', 'limit="register"')).toBe(
      before + 1,
    );

    // Another caller has a counter of its own.
    const other = hs256Token({ sub: uniqueMarker('other'), email: 'o@example.com' });
    expect(
      (
        await call(replicaA, 'POST', '/api/tenants/register', {
          token: other,
          body: { organization_name: uniqueMarker('Other Org'), admin_email: 'o@example.com' },
        })
      ).status,
    ).toBe(201);
  });

  it('create tenant: 10 per hour per platform admin, the 11th is 429', async () => {
    const token = TOKENS.platformAdmin;
    const create = (server: RunningApp) =>
      call(server, 'POST', '/api/setup/tenant', {
        token,
        body: { name: uniqueMarker('Limited tenant') },
      });
    const results: number[] = [];
    for (let i = 0; i < 10; i++) results.push((await create(i % 2 ? replicaA : replicaB)).status);
    expect(results).toEqual(Array(10).fill(201));
    const eleventh = await create(replicaA);
    expectLimited(eleventh, 10, 'create-tenant', 3_600);
  });

  it('delete tenant: 5 per hour per platform admin, the 6th is 429 and the tenant stays', async () => {
    const token = adminToken('rl-root-delete');
    const victims = await Promise.all(
      Array.from({ length: 6 }, () => createTenant(db.owner, uniqueMarker('victim'))),
    );
    const results: number[] = [];
    for (const victim of victims.slice(0, 5)) {
      results.push(
        (await call(replicaB, 'DELETE', `/api/setup/tenant/${victim.id}`, { token })).status,
      );
    }
    expect(results).toEqual(Array(5).fill(204));
    const sixth = await call(replicaA, 'DELETE', `/api/setup/tenant/${victims[5].id}`, { token });
    expectLimited(sixth, 5, 'delete-tenant', 3_600);
    expect(await db.owner.query('SELECT 1 FROM tenants WHERE id = $1', [victims[5].id])).toEqual([
      { '?column?': 1 },
    ]);
  });

  it('setup reads: 100 per minute per caller (across both replicas), the 101st is 429', async () => {
    const token = adminToken('rl-root-read');
    let served = 0;
    for (let batch = 0; batch < 5; batch++) {
      const results = await statuses(20, () =>
        call(batch % 2 ? replicaA : replicaB, 'GET', '/api/setup/tenants?limit=1', { token }),
      );
      served += results.filter((status) => status === 200).length;
    }
    expect(served).toBe(100);
    expectLimited(
      await call(replicaA, 'GET', '/api/setup/tenants', { token }),
      100,
      'setup-read',
      60,
    );
    const tenant = await createTenant(db.owner, uniqueMarker('read'));
    expectLimited(
      await call(replicaB, 'GET', `/api/setup/tenant/${tenant.id}`, { token }),
      100,
      'setup-read',
      60,
    );
    // The create-tenant counter is another one: this admin may still create.
    expect(
      (
        await call(replicaA, 'POST', '/api/setup/tenant', {
          token,
          body: { name: uniqueMarker('still allowed') },
        })
      ).status,
    ).toBe(201);
  });

  it('per-user limit and per-tenant budget: two users exhaust their tenant, another tenant is unaffected', async () => {
    const busy = await createTenant(db.owner, uniqueMarker('busy'));
    const calm = await createTenant(db.owner, uniqueMarker('calm'));
    const first = hs256Token({ sub: uniqueMarker('first'), tenant: busy.slug });
    const second = hs256Token({ sub: uniqueMarker('second'), tenant: busy.slug });
    const neighbour = hs256Token({ sub: uniqueMarker('neighbour'), tenant: calm.slug });
    const me = (server: RunningApp, token: string) =>
      call(server, 'GET', '/api/auth/me', { token });

    const userBefore = await metric(replicaA, 'boards_rate_limited_requests_total', 'limit="user"');
    const tenantBefore = await metric(
      replicaA,
      'boards_rate_limited_requests_total',
      'limit="tenant"',
    );

    // The first user spends the whole per-user limit (PER_USER of the tenant's PER_TENANT).
    for (let i = 0; i < PER_USER; i++) {
      expect((await me(i % 2 ? replicaA : replicaB, first)).status).toBe(200);
    }
    expectLimited(await me(replicaA, first), PER_USER, 'user', 60);

    // The second user is under its own limit but the tenant budget runs out.
    for (let i = 0; i < PER_TENANT - PER_USER; i++) {
      expect((await me(replicaB, second)).status).toBe(200);
    }
    expectLimited(await me(replicaA, second), PER_TENANT, 'tenant', 60);
    expectLimited(await me(replicaB, second), PER_TENANT, 'tenant', 60);

    // A user of another tenant is not affected.
    for (let i = 0; i < PER_USER; i++) expect((await me(replicaA, neighbour)).status).toBe(200);

    expect(await metric(replicaA, 'boards_rate_limited_requests_total', 'limit="user"')).toBe(
      userBefore + 1,
    );
    expect(await metric(replicaA, 'boards_rate_limited_requests_total', 'limit="tenant"')).toBe(
      tenantBefore + 1,
    );
  });

  it('two replicas on one Redis add up their counts for one user', async () => {
    const tenant = await createTenant(db.owner, uniqueMarker('shared'));
    const token = hs256Token({ sub: uniqueMarker('roamer'), tenant: tenant.slug });
    const a = await statuses(PER_USER / 2, () => call(replicaA, 'GET', '/api/boards', { token }));
    const b = await statuses(PER_USER / 2, () => call(replicaB, 'GET', '/api/boards', { token }));
    expect([...a, ...b]).toEqual(Array(PER_USER).fill(200));
    // Either replica alone has seen only half of the limit, yet both refuse now.
    expectLimited(await call(replicaA, 'GET', '/api/boards', { token }), PER_USER, 'user', 60);
    expectLimited(await call(replicaB, 'GET', '/api/boards', { token }), PER_USER, 'user', 60);
  });

  it('another installation on the same Redis (another key prefix) shares neither counters nor cached tenants', async () => {
    // Same tenant slug in both installations, different databases (hence different tenant ids).
    const slug = uniqueMarker('twin');
    const ours = await createTenant(db.owner, slug);
    const elsewhere = await createTestDatabase();
    const theirs = await createTenant(elsewhere.owner, slug);
    const neighbour = await startApp(elsewhere.config(limitedEnv({ BOARDS_REDIS_URL: REDIS_URL })));
    try {
      const token = hs256Token({ sub: uniqueMarker('twin-user'), tenant: slug });
      const me = (server: RunningApp) => call(server, 'GET', '/api/auth/me', { token });
      for (let i = 0; i < PER_USER; i++) expect((await me(replicaA)).status).toBe(200);
      expect((await me(replicaA)).status).toBe(429);

      // The neighbour counts on its own and resolves the slug to its own tenant.
      const there = await me(neighbour);
      expect(there.status).toBe(200);
      expect(there.body).toMatchObject({ tenant: { id: theirs.id, slug } });
      expect(theirs.id).not.toBe(ours.id);
    } finally {
      await neighbour.close();
      await elsewhere.drop();
    }
  });
});

describeWithPostgres('rate limits while Redis is unreachable (per-replica fallback)', () => {
  let db: TestDatabase;
  let server: RunningApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    const deadPort = await freePort();
    server = await startApp(
      db.config(limitedEnv({ BOARDS_REDIS_URL: `redis://127.0.0.1:${deadPort}` })),
    );
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  it('keeps serving (never 500) and still enforces the limit in memory, counting each fallback', async () => {
    const tenant = await createTenant(db.owner, uniqueMarker('offline'));
    const token = hs256Token({ sub: uniqueMarker('offline-user'), tenant: tenant.slug });
    const fallbacksBefore = await metric(
      server,
      'boards_cache_requests_total',
      'cache="rate_limit_redis",result="error"',
    );

    const served: number[] = [];
    for (let i = 0; i < PER_USER; i++)
      served.push((await call(server, 'GET', '/api/boards', { token })).status);
    expect(served).toEqual(Array(PER_USER).fill(200));
    expectLimited(await call(server, 'GET', '/api/boards', { token }), PER_USER, 'user', 60);

    // Route limits too: register 3/hour.
    const registrant = hs256Token({ sub: uniqueMarker('offline-reg'), email: 'r@example.com' });
    const registered: number[] = [];
    for (let i = 0; i < 4; i++) {
      registered.push(
        (
          await call(server, 'POST', '/api/tenants/register', {
            token: registrant,
            body: { organization_name: uniqueMarker('Offline Org'), admin_email: 'r@example.com' },
          })
        ).status,
      );
    }
    expect(registered).toEqual([201, 201, 201, 429]);

    // Public routes and setup reads keep working as well.
    expect((await call(server, 'GET', '/api/setup/status')).status).toBe(200);
    expect(
      (await call(server, 'GET', '/api/setup/tenants', { token: TOKENS.platformAdmin })).status,
    ).toBe(200);

    expect(
      await metric(
        server,
        'boards_cache_requests_total',
        'cache="rate_limit_redis",result="error"',
      ),
    ).toBeGreaterThan(fallbacksBefore + PER_USER);
  });
});
