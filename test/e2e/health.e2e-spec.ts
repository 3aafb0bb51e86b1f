import { MIGRATION_NAMES } from 'migrations/index';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { MigrationRunner } from 'src/core/database/migration-runner';
import { DATABASE_TIMEOUT_MS } from 'src/modules/health/health-indicators';
import { ShutdownState } from 'src/modules/health/shutdown-state';
import { createTenant, uniqueMarker } from 'test/factories/seed';
import { describeWithPostgres, describeWithRedis, REDIS_URL } from 'test/support/environment';
import { freePort, getJson, startApp, type RunningApp } from 'test/support/http';
import { startFreezableProxy, type FreezableProxy } from 'test/support/tcp-proxy';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * Health endpoints through HTTP on a real database: liveness, readiness (database, Redis,
 * migrations, isolation), the operator summary, request ids and the error body of unknown routes.
 * Readiness answers from checks run in the background (BOARDS_READINESS_REFRESH_MS), draining
 * read live; the summary is cached for BOARDS_HEALTH_CACHE_MS. Both are shown not to query the
 * database per request: a tenant added directly is not counted until the summary's window has
 * passed, and with the database frozen behind a proxy both keep answering at once.
 */

interface IndicatorState {
  status: 'up' | 'down';
  [detail: string]: unknown;
}
interface ReadyBody {
  status: 'ok' | 'error' | 'shutting_down';
  info?: Record<string, IndicatorState>;
  error?: Record<string, IndicatorState>;
  details: Record<string, IndicatorState>;
}
interface SummaryBody {
  status: 'healthy' | 'degraded' | 'unhealthy';
  multi_tenant_mode: boolean;
  tenant_count: number | null;
  isolation_status: string;
  database: string;
  redis: string;
  migrations: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const marker = randomBytes(4).toString('hex');

/**
 * Starts an app on this test database. The embedded database is one in-memory PGlite that the app
 * must share (a second `memory://` would be another, empty database); a server is reached by URL,
 * so overrides such as another runtime URL take effect.
 */
function startOn(db: TestDatabase, overrides: Record<string, string> = {}): Promise<RunningApp> {
  return startApp(db.config(overrides), db.embedded ? { databaseTarget: db.target } : {});
}

/** Checks the HTTP status; a mismatch shows the body (which says which indicator is down). */
function expectStatus(response: { status: number; body: unknown }, status: number): void {
  if (response.status !== status) {
    throw new Error(
      `expected HTTP ${status}, got ${response.status}: ${JSON.stringify(response.body)}`,
    );
  }
}

async function elapsed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = Date.now();
  const result = await work();
  return [result, Date.now() - started];
}

/**
 * Reads until `done` accepts the result (readiness follows the background checks, so a change
 * shows after the next refresh), at most `timeoutMs`; returns the last result.
 */
async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(50);
  }
}

describe('health endpoints', () => {
  let db: TestDatabase;
  let server: RunningApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startOn(db);
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  it('/health/live answers 200 {status: ok}', async () => {
    const live = await getJson(`${server.baseUrl}/health/live`);
    expectStatus(live, 200);
    expect(live.body).toEqual({ status: 'ok' });
  });

  it('/health/ready answers 200 with database, migrations and isolation up', async () => {
    const ready = await getJson<ReadyBody>(`${server.baseUrl}/health/ready`);
    expectStatus(ready, 200);
    expect(ready.body.status).toBe('ok');
    const info = ready.body.info ?? {};
    expect(info.server.status).toBe('up');
    expect(info.database).toMatchObject({ status: 'up', embedded: db.embedded });
    expect(info.migrations.status).toBe('up');
    expect(info.redis).toMatchObject({ status: 'up', configured: false });
    // A plain login role on a real server; the embedded session logs in as superuser.
    expect(info.isolation).toMatchObject({
      status: 'up',
      isolation_status: db.embedded ? 'degraded' : 'ok',
      runtime_role: db.runtimeRole,
    });
    if (!db.embedded) expect(info.isolation.problems).toEqual([]);
  });

  it('/health summarizes status, tenancy mode, tenant count and isolation status', async () => {
    const summary = await getJson<SummaryBody>(`${server.baseUrl}/health`);
    expectStatus(summary, 200);
    expect(summary.body).toMatchObject({
      status: db.embedded ? 'degraded' : 'healthy',
      multi_tenant_mode: false,
      tenant_count: 1,
      isolation_status: db.embedded ? 'degraded' : 'ok',
      database: 'up',
      redis: 'not_configured',
      migrations: 'applied',
    });
  });

  it('puts a generated X-Request-Id on every response', async () => {
    const paths = ['/health/live', '/health/ready', '/health', `/api/nothing-${marker}`];
    const ids = await Promise.all(
      paths.map(async (path) => {
        const response = await fetch(`${server.baseUrl}${path}`);
        await response.arrayBuffer();
        return response.headers.get('x-request-id');
      }),
    );
    for (const id of ids) expect(id).toMatch(UUID);
    expect(new Set(ids).size).toBe(paths.length);
  });

  it('echoes a well-formed incoming X-Request-Id', async () => {
    const incoming = `trace-${marker}:1.2_a`;
    const response = await fetch(`${server.baseUrl}/health/live`, {
      headers: { 'X-Request-Id': incoming },
    });
    await response.arrayBuffer();
    expect(response.headers.get('x-request-id')).toBe(incoming);
  });

  it.each([
    ['300 characters', 'a'.repeat(300)],
    ['markup', '<script>alert(1)</script>'],
    ['spaces', 'two words'],
  ])('replaces a malformed incoming X-Request-Id (%s) with a generated one', async (_, bad) => {
    const response = await fetch(`${server.baseUrl}/health/live`, {
      headers: { 'X-Request-Id': bad },
    });
    await response.arrayBuffer();
    expect(response.headers.get('x-request-id')).toMatch(UUID);
  });

  it.each([`/api/nothing-${marker}`, `/nothing-${marker}`])(
    'answers an unknown route (%s) with the documented 404 body',
    async (path) => {
      const notFound = await getJson(`${server.baseUrl}${path}`);
      expectStatus(notFound, 404);
      expect(notFound.body).toEqual({
        error: 'Not Found',
        code: 'route_not_found',
        detail: expect.any(String),
        status: 404,
        request_id: notFound.headers.get('x-request-id'),
      });
      expect(notFound.body.request_id).toMatch(UUID);
    },
  );

  it('the 404 body carries the echoed incoming request id', async () => {
    const incoming = `req-${marker}`;
    const notFound = await getJson(`${server.baseUrl}/api/nothing-${marker}`, {
      'X-Request-Id': incoming,
    });
    expect(notFound.body.request_id).toBe(incoming);
    expect(notFound.headers.get('x-request-id')).toBe(incoming);
  });

  describe('while migrations are pending', () => {
    let dedicated: TestDatabase;
    let pendingServer: RunningApp;

    beforeAll(async () => {
      // A database of its own: reverting the schema must not disturb the other tests.
      dedicated = await createTestDatabase();
      pendingServer = await startOn(dedicated, { BOARDS_READINESS_REFRESH_MS: '100' });
    }, 60_000);

    afterAll(async () => {
      await pendingServer?.close();
      await dedicated?.drop();
    });

    it('readiness answers 503 with migrations down, and 200 again once they are applied', async () => {
      const runner = new MigrationRunner(dedicated.owner, dedicated.runtimeRole);
      const readiness = () => getJson<ReadyBody>(`${pendingServer.baseUrl}/health/ready`);
      expectStatus(await readiness(), 200);
      expect(await runner.down()).toBeDefined();

      const ready = await pollUntil(readiness, (r) => r.status === 503);
      expectStatus(ready, 503);
      expect(ready.body.status).toBe('error');
      expect(ready.body.error?.migrations.status).toBe('down');

      const summary = await getJson<SummaryBody>(`${pendingServer.baseUrl}/health`);
      expect(['degraded', 'unhealthy']).toContain(summary.body.status);
      expect(summary.body.migrations).not.toBe('applied');

      expect((await runner.up()).length).toBeGreaterThan(0);
      const again = await pollUntil(readiness, (r) => r.status === 200);
      expectStatus(again, 200);
    });
  });

  describe('the summary cache (BOARDS_HEALTH_CACHE_MS)', () => {
    const CACHE_MS = 2_000;
    let own: TestDatabase;
    let cached: RunningApp;

    beforeAll(async () => {
      // A database of its own: the tenant added here must not change the other tests' count.
      own = await createTestDatabase();
      cached = await startOn(own, { BOARDS_HEALTH_CACHE_MS: String(CACHE_MS) });
    }, 60_000);

    afterAll(async () => {
      await cached?.close();
      await own?.drop();
    });

    it('counts a tenant added directly only once the window has passed', async () => {
      const summary = () => getJson<SummaryBody>(`${cached.baseUrl}/health`);
      const first = await summary();
      const computedBy = Date.now();
      expectStatus(first, 200);
      expect(first.body.tenant_count).toBe(1);

      await createTenant(own.owner, uniqueMarker('uncounted'));
      const [{ tenants }] = (await own.owner.query(
        'SELECT count(*)::int AS tenants FROM tenants',
      )) as { tenants: number }[];
      expect(tenants).toBe(2);

      const within = await Promise.all(Array.from({ length: 20 }, summary));
      within.push(await summary());
      // Every one of them inside the window, or this would prove nothing.
      expect(Date.now() - computedBy).toBeLessThan(CACHE_MS);
      for (const reply of within) {
        expectStatus(reply, 200);
        expect(reply.body).toEqual(first.body);
      }

      await sleep(computedBy + CACHE_MS + 50 - Date.now());
      const after = await summary();
      expectStatus(after, 200);
      expect(after.body.tenant_count).toBe(2);
    });
  });

  it('readiness turns 503 the moment draining starts, without waiting for a refresh', async () => {
    // No background run during the test: the 503 can only come from the draining flag.
    const draining = await startOn(db, { BOARDS_READINESS_REFRESH_MS: '60000' });
    try {
      const readiness = () => getJson<ReadyBody>(`${draining.baseUrl}/health/ready`);
      expectStatus(await readiness(), 200);
      draining.app.get(ShutdownState).startDraining();
      const ready = await readiness();
      expectStatus(ready, 503);
      expect(ready.body.status).toBe('error');
      expect(ready.body.error).toEqual({ server: { status: 'down', message: 'shutting down' } });
      expect(Object.keys(ready.body.details).sort()).toEqual(
        ['database', 'isolation', 'migrations', 'redis', 'server'].sort(),
      );
      expect(ready.body.info?.database.status).toBe('up');
    } finally {
      await draining.close();
    }
  });

  describeWithPostgres('while the database does not answer (frozen behind a proxy)', () => {
    let proxy: FreezableProxy;
    let frozen: RunningApp;

    beforeAll(async () => {
      const direct = new URL(db.env.BOARDS_DATABASE_URL);
      proxy = await startFreezableProxy(direct.hostname, Number(direct.port || 5432));
      const viaProxy = new URL(direct.toString());
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      // A minute between background runs and a minute of summary cache: nothing refreshes
      // during these tests unless a request asks the database itself.
      frozen = await startOn(db, {
        BOARDS_DATABASE_URL: viaProxy.toString(),
        BOARDS_READINESS_REFRESH_MS: '60000',
        BOARDS_HEALTH_CACHE_MS: '60000',
      });
    }, 60_000);

    afterAll(async () => {
      proxy?.thaw();
      await frozen?.close();
      await proxy?.close();
    });

    it('readiness answers 200 requests from the last background run, each without a database round trip', async () => {
      const readiness = () => getJson<ReadyBody>(`${frozen.baseUrl}/health/ready`);
      expectStatus(await readiness(), 200);
      proxy.freeze();
      try {
        const timings: number[] = [];
        for (let batch = 0; batch < 20; batch++) {
          const replies = await Promise.all(Array.from({ length: 10 }, () => elapsed(readiness)));
          for (const [reply, ms] of replies) {
            expectStatus(reply, 200);
            timings.push(ms);
          }
        }
        timings.sort((a, b) => a - b);
        // A query per request would wait for the frozen database until the check timeout.
        expect(timings[timings.length - 1]).toBeLessThan(DATABASE_TIMEOUT_MS / 2);
        expect(timings[timings.length / 2]).toBeLessThan(50);
      } finally {
        proxy.thaw();
      }
    });

    it('/health answers unhealthy within the query timeout, and serves that answer from its cache', async () => {
      const summary = () => getJson<SummaryBody>(`${frozen.baseUrl}/health`);
      proxy.freeze();
      try {
        const [first, firstMs] = await elapsed(summary);
        expectStatus(first, 503);
        expect(first.body).toMatchObject({
          status: 'unhealthy',
          tenant_count: null,
          database: 'down',
        });
        expect(firstMs).toBeGreaterThanOrEqual(DATABASE_TIMEOUT_MS - 50);
        expect(firstMs).toBeLessThan(DATABASE_TIMEOUT_MS + 1_000);

        const again = await Promise.all(Array.from({ length: 20 }, () => elapsed(summary)));
        for (const [reply, ms] of again) {
          expectStatus(reply, 503);
          expect(reply.body).toEqual(first.body);
          expect(ms).toBeLessThan(DATABASE_TIMEOUT_MS / 2);
        }
      } finally {
        proxy.thaw();
      }
    });
  });

  describeWithPostgres('production readiness and the isolation configuration', () => {
    const production = {
      BOARDS_ENVIRONMENT: 'production',
      BOARDS_AUTH_PROVIDER: 'jwt',
      BOARDS_JWT_SECRET: 's'.repeat(40),
      BOARDS_METRICS_TOKEN: `scrape-${marker}-0123456789`,
      BOARDS_TRUST_PROXY: '10.0.0.0/8',
    };

    it('is ready with the plain runtime role', async () => {
      const prod = await startOn(db, production);
      try {
        const ready = await getJson<ReadyBody>(`${prod.baseUrl}/health/ready`);
        expectStatus(ready, 200);
        expect(ready.body.info?.isolation.isolation_status).toBe('ok');
      } finally {
        await prod.close();
      }
    });

    it('answers 503 with isolation down when the runtime connection owns the tables', async () => {
      const ownerUrl = db.env.BOARDS_DATABASE_OWNER_URL;
      const ownerRole = new URL(ownerUrl).username;
      const prod = await startOn(db, {
        ...production,
        BOARDS_DATABASE_URL: ownerUrl,
        BOARDS_DATABASE_RUNTIME_ROLE: ownerRole,
      });
      try {
        const ready = await getJson<ReadyBody>(`${prod.baseUrl}/health/ready`);
        expectStatus(ready, 503);
        expect(ready.body.error?.isolation).toMatchObject({
          status: 'down',
          isolation_status: 'degraded',
          runtime_role: ownerRole,
        });
        expect(ready.body.error?.isolation.problems).toEqual(
          expect.arrayContaining([expect.stringContaining('owns')]),
        );
        expect(ready.body.info?.database.status).toBe('up');

        const summary = await getJson<SummaryBody>(`${prod.baseUrl}/health`);
        expect(summary.body).toMatchObject({ status: 'degraded', isolation_status: 'degraded' });
      } finally {
        await prod.close();
      }
    });
  });

  describe('three replicas starting at once on one database', () => {
    let fresh: TestDatabase;
    const slug = `replicas-${marker}`;

    beforeAll(async () => {
      fresh = await createTestDatabase();
      // Pending migrations too: the replicas race to apply them and to create the tenant.
      await new MigrationRunner(fresh.owner, fresh.runtimeRole).down();
    });

    afterAll(async () => {
      await fresh?.drop();
    });

    it('migrate once and create the default tenant exactly once', async () => {
      // On the embedded database the three share its one session (serialized borrowers).
      const settings = { BOARDS_TENANT_SLUG: slug, BOARDS_DATABASE_AUTO_MIGRATE: 'true' };
      const started = await Promise.allSettled([
        startOn(fresh, settings),
        startOn(fresh, settings),
        startOn(fresh, settings),
      ]);
      const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      try {
        expect(started.map((s) => (s.status === 'rejected' ? String(s.reason) : 'ok'))).toEqual([
          'ok',
          'ok',
          'ok',
        ]);
        const tenants = (await fresh.owner.query('SELECT slug FROM tenants')) as { slug: string }[];
        expect(tenants).toEqual([{ slug }]);
        const migrations = (await fresh.owner.query('SELECT name FROM migrations ORDER BY id')) as {
          name: string;
        }[];
        // Each one applied exactly once.
        expect(migrations.map((m) => m.name)).toEqual([...MIGRATION_NAMES]);
        for (const s of servers) {
          const summary = await getJson<SummaryBody>(`${s.baseUrl}/health`);
          expect(summary.body.tenant_count).toBe(1);
        }
      } finally {
        await Promise.all(servers.map((s) => s.close()));
      }
    });
  });

  describeWithRedis('with Redis configured and reachable', () => {
    it('readiness reports redis up', async () => {
      const withRedis = await startOn(db, { BOARDS_REDIS_URL: REDIS_URL });
      try {
        const ready = await getJson<ReadyBody>(`${withRedis.baseUrl}/health/ready`);
        expectStatus(ready, 200);
        expect(ready.body.info?.redis).toMatchObject({ status: 'up', configured: true });
        const summary = await getJson<SummaryBody>(`${withRedis.baseUrl}/health`);
        expect(summary.body.redis).toBe('up');
      } finally {
        await withRedis.close();
      }
    });
  });

  describe('with Redis configured but unreachable', () => {
    it('readiness answers 503 with redis down, promptly, and the app still closes', async () => {
      const port = await freePort();
      const noRedis = await startOn(db, { BOARDS_REDIS_URL: `redis://127.0.0.1:${port}` });
      let closed = false;
      try {
        const [ready, ms] = await elapsed(() =>
          getJson<ReadyBody>(`${noRedis.baseUrl}/health/ready`),
        );
        expectStatus(ready, 503);
        expect(ready.body.error?.redis.status).toBe('down');
        expect(ready.body.info?.database.status).toBe('up');
        expect(ms).toBeLessThan(5_000);

        const summary = await getJson<SummaryBody>(`${noRedis.baseUrl}/health`);
        expectStatus(summary, 200);
        expect(summary.body).toMatchObject({ status: 'degraded', redis: 'down', database: 'up' });

        const [, closeMs] = await elapsed(() => noRedis.close());
        closed = true;
        expect(closeMs).toBeLessThan(5_000);
      } finally {
        if (!closed) await noRedis.close();
      }
    });
  });
});
