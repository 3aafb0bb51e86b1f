import { Board } from 'src/modules/boards/board.entity';
import { TenantTransactions } from 'src/core/database/tenant-transactions';
import { TenantIsolationViolationError } from 'src/core/errors/domain-error';
import { createTenant, seedUser, uniqueMarker, type SeededTenant } from 'test/factories/seed';
import { bearer, hs256Token, jwtAuthEnv, nowSeconds } from 'test/factories/tokens';
import { describeWithPostgres } from 'test/support/environment';
import { call, expectError, startApp, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * GET /metrics through HTTP after real traffic: per-tenant request counters labelled with route
 * templates, the tenant label cap, the isolation-violation counter (a violation forced through
 * the app's own TenantTransactions), auth failures by reason, rate-limited requests, the
 * advanced duration histogram (present only when enabled), the database pool gauges on a real
 * PostgreSQL, and the bearer token on the endpoint itself: optional outside production; in
 * production required (no start without one) unless BOARDS_METRICS_PUBLIC=true.
 */

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Samples of a Prometheus text exposition (comment lines skipped). */
function parseExposition(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
      if (!match) throw new Error(`not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
        labels[key] = value.replace(/\\(.)/g, '$1');
      }
      return { name: match[1], labels, value: Number(match[3]) };
    });
}

/** The value of the one sample named `name` whose labels include `labels`; 0 when absent. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const matching = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (matching.length > 1) {
    throw new Error(`${matching.length} samples of ${name} match ${JSON.stringify(labels)}`);
  }
  return matching[0]?.value ?? 0;
}

async function scrape(
  server: RunningApp,
  headers: Record<string, string> = {},
): Promise<{ status: number; contentType: string | null; text: string; samples: Sample[] }> {
  const response = await fetch(`${server.baseUrl}/metrics`, { headers });
  const text = await response.text();
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    text,
    samples: response.status === 200 ? parseExposition(text) : [],
  };
}

/**
 * Scrapes until `check` passes (the counters are updated in an onResponse hook, which may run
 * just after the client has its response), at most for two seconds.
 */
async function scrapeUntil(
  server: RunningApp,
  check: (samples: Sample[]) => void,
): Promise<Sample[]> {
  const deadline = Date.now() + 2_000;
  for (;;) {
    const { samples } = await scrape(server);
    try {
      check(samples);
      return samples;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((done) => setTimeout(done, 50));
    }
  }
}

const TENANT_REQUESTS = 'boards_tenant_requests_total';

describe('metrics: GET /metrics after traffic', () => {
  let db: TestDatabase;
  let server: RunningApp;
  let tenantA: SeededTenant;
  let tenantB: SeededTenant;
  let tokenA: string;
  let tokenB: string;
  const start = (overrides: Record<string, string>) =>
    startApp(db.config(jwtAuthEnv(overrides)), db.embedded ? { databaseTarget: db.target } : {});

  beforeAll(async () => {
    db = await createTestDatabase();
    tenantA = await createTenant(db.owner, uniqueMarker('met-a'));
    tenantB = await createTenant(db.owner, uniqueMarker('met-b'));
    tokenA = hs256Token({ sub: uniqueMarker('alice'), tenant: tenantA.slug });
    tokenB = hs256Token({ sub: uniqueMarker('bob'), tenant: tenantB.slug });
    server = await start({ BOARDS_ENABLE_ADVANCED_METRICS: 'true' });
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  it('serves the Prometheus text format with process metrics', async () => {
    const { status, contentType, samples } = await scrape(server);
    expect(status).toBe(200);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(valueOf(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(samples.some((s) => s.name === 'nodejs_eventloop_lag_p99_seconds')).toBe(true);
  });

  it('counts requests per tenant and route template, never the raw URL', async () => {
    const before = (await scrape(server)).samples;
    const count = (samples: Sample[], tenant: string, endpoint: string) =>
      valueOf(samples, TENANT_REQUESTS, { tenant_slug: tenant, endpoint }) -
      valueOf(before, TENANT_REQUESTS, { tenant_slug: tenant, endpoint });

    const created = await call(server, 'POST', '/api/boards', {
      token: tokenA,
      body: { title: `${tenantA.slug} board` },
    });
    expect(created.status).toBe(201);
    const boardId = String(created.body.id);
    for (let i = 0; i < 3; i++) {
      expect((await call(server, 'GET', '/api/boards', { token: tokenA })).status).toBe(200);
    }
    for (let i = 0; i < 2; i++) {
      const read = await call(server, 'GET', `/api/boards/${boardId}`, { token: tokenA });
      expect(read.status).toBe(200);
    }
    for (let i = 0; i < 2; i++) {
      expect((await call(server, 'GET', '/api/boards', { token: tokenB })).status).toBe(200);
    }
    // Tenant B asking for A's board: the same 404 as a missing one, counted under B.
    const foreign = await call(server, 'GET', `/api/boards/${boardId}`, { token: tokenB });
    expect(foreign.status).toBe(404);

    const after = await scrapeUntil(server, (samples) => {
      expect(count(samples, tenantB.slug, 'GET /api/boards/:board_id')).toBe(1);
    });
    expect(count(after, tenantA.slug, 'POST /api/boards')).toBe(1);
    expect(count(after, tenantA.slug, 'GET /api/boards')).toBe(3);
    expect(count(after, tenantA.slug, 'GET /api/boards/:board_id')).toBe(2);
    expect(count(after, tenantB.slug, 'GET /api/boards')).toBe(2);
    expect(count(after, tenantB.slug, 'POST /api/boards')).toBe(0);

    const endpoints = after.filter((s) => s.name === TENANT_REQUESTS).map((s) => s.labels);
    expect(endpoints.filter((l) => l.endpoint.includes(boardId))).toEqual([]);
    expect(new Set(endpoints.map((l) => Object.keys(l).sort().join(',')))).toEqual(
      new Set(['endpoint,tenant_slug']),
    );
    // The scrapes themselves are counted, without a tenant.
    const scrapes = { tenant_slug: 'none', endpoint: 'GET /metrics' };
    expect(valueOf(after, TENANT_REQUESTS, scrapes)).toBeGreaterThan(
      valueOf(before, TENANT_REQUESTS, scrapes),
    );
  });

  it('a forced isolation violation increments its counter, read over HTTP', async () => {
    const violation = { violation_type: 'cross_tenant_insert' };
    const before = valueOf(
      (await scrape(server)).samples,
      'boards_tenant_isolation_violations_total',
      violation,
    );
    const ownerB = await seedUser(db.owner, tenantB.id, uniqueMarker('owner-b'));
    const transactions = server.app.get(TenantTransactions);
    // In A's transaction, an entity that names tenant B: the ORM layer refuses it.
    const refused = await transactions
      .run(tenantA.id, (manager) =>
        manager.save(
          manager.create(Board, { tenantId: tenantB.id, ownerId: ownerB, title: 'smuggled' }),
        ),
      )
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(refused).toBeInstanceOf(TenantIsolationViolationError);

    const { samples } = await scrape(server);
    expect(valueOf(samples, 'boards_tenant_isolation_violations_total', violation)).toBe(
      before + 1,
    );
  });

  it('counts authentication failures by reason', async () => {
    const reasons = ['missing_token', 'malformed_token', 'token_expired', 'invalid_signature'];
    const read = (samples: Sample[]) =>
      reasons.map((reason) => valueOf(samples, 'boards_auth_failures_total', { reason }));
    const before = read((await scrape(server)).samples);

    const claims = { sub: uniqueMarker('carol'), tenant: tenantA.slug };
    const expired = hs256Token({ ...claims, iat: nowSeconds() - 7_200, exp: nowSeconds() - 3_600 });
    const forged = hs256Token(claims, 'not-the-secret-of-this-server-0123456789');
    const attempts: Record<string, string>[] = [
      {},
      {},
      { authorization: 'Bearer not a token' },
      bearer(expired),
      bearer(forged),
    ];
    for (const headers of attempts) {
      expect((await call(server, 'GET', '/api/boards', { headers })).status).toBe(401);
    }

    const after = read((await scrape(server)).samples);
    expect(after.map((value, i) => value - before[i])).toEqual([2, 1, 1, 1]);
  });

  it('BOARDS_ENABLE_ADVANCED_METRICS adds the duration histogram per route template', async () => {
    expect((await call(server, 'GET', '/api/boards', { token: tokenB })).status).toBe(200);
    const labels = { method: 'GET', route: '/api/boards', status_class: '2xx' };
    const samples = await scrapeUntil(server, (s) => {
      expect(valueOf(s, 'boards_http_request_duration_seconds_count', labels)).toBeGreaterThan(0);
    });
    const buckets = samples.filter(
      (s) =>
        s.name === 'boards_http_request_duration_seconds_bucket' &&
        s.labels.route === '/api/boards/:board_id',
    );
    expect(buckets.length).toBeGreaterThan(0);
    expect(buckets.find((s) => s.labels.le === '+Inf')?.value).toBeGreaterThan(0);
    expect(valueOf(samples, 'boards_http_request_duration_seconds_sum', labels)).toBeGreaterThan(0);
  });

  describeWithPostgres('on a real PostgreSQL server', () => {
    it('exposes the runtime pool: in use, idle and waiting connections', async () => {
      await call(server, 'GET', '/api/boards', { token: tokenA });
      const { samples } = await scrape(server);
      const pool = (state: string) =>
        samples.filter((s) => s.name === 'boards_db_pool_connections' && s.labels.state === state);
      for (const state of ['in_use', 'idle', 'waiting']) expect(pool(state)).toHaveLength(1);
      const open =
        valueOf(samples, 'boards_db_pool_connections', { state: 'in_use' }) +
        valueOf(samples, 'boards_db_pool_connections', { state: 'idle' });
      expect(open).toBeGreaterThanOrEqual(1);
      expect(open).toBeLessThanOrEqual(Number(db.env.BOARDS_DATABASE_POOL_SIZE));
      expect(valueOf(samples, 'boards_db_pool_connections', { state: 'waiting' })).toBe(0);
    });
  });

  describe('with a tenant label limit of 1, a metrics token, a low rate limit, no advanced metrics', () => {
    const METRICS_TOKEN = uniqueMarker('scrape-token');
    let limited: RunningApp;
    const scrapeLimited = async () => {
      const result = await scrape(limited, { authorization: `Bearer ${METRICS_TOKEN}` });
      expect(result.status).toBe(200);
      return result;
    };

    beforeAll(async () => {
      limited = await start({
        BOARDS_METRICS_TENANT_LABEL_LIMIT: '1',
        BOARDS_METRICS_TOKEN: METRICS_TOKEN,
        BOARDS_RATE_LIMIT_PER_USER_PER_MINUTE: '3',
      });
    }, 60_000);

    afterAll(async () => {
      await limited?.close();
    });

    it('/metrics answers 401 without the bearer token and 200 with it', async () => {
      const refusals: Record<string, string>[] = [
        {},
        { authorization: 'Bearer wrong' },
        { authorization: METRICS_TOKEN }, // the token without "Bearer "
      ];
      for (const headers of refusals) {
        const refused = await scrape(limited, headers);
        expect(refused.status).toBe(401);
        expect(refused.text).not.toContain('boards_tenant_requests_total');
        expect(JSON.parse(refused.text)).toMatchObject({ status: 401, error: 'Unauthorized' });
      }
      const response = await fetch(`${limited.baseUrl}/metrics`);
      await response.arrayBuffer();
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      expect((await scrapeLimited()).text).toContain('# TYPE boards_tenant_requests_total counter');
    });

    it('labels the first tenant by slug and counts the next one as "other"', async () => {
      expect((await call(limited, 'GET', '/api/boards', { token: tokenA })).status).toBe(200);
      expect((await call(limited, 'GET', '/api/boards', { token: tokenB })).status).toBe(200);
      const { samples } = await scrapeLimited();
      const endpoint = 'GET /api/boards';
      expect(valueOf(samples, TENANT_REQUESTS, { tenant_slug: tenantA.slug, endpoint })).toBe(1);
      expect(valueOf(samples, TENANT_REQUESTS, { tenant_slug: 'other', endpoint })).toBe(1);
      const slugs = new Set(
        samples.filter((s) => s.name === TENANT_REQUESTS).map((s) => s.labels.tenant_slug),
      );
      expect(slugs.has(tenantB.slug)).toBe(false);
      expect([...slugs].sort()).toEqual([tenantA.slug, 'none', 'other'].sort());
    });

    it('has no duration histogram without BOARDS_ENABLE_ADVANCED_METRICS', async () => {
      const { text } = await scrapeLimited();
      expect(text).not.toContain('boards_http_request_duration_seconds');
    });

    it('counts requests refused by the rate limiter', async () => {
      const token = hs256Token({ sub: uniqueMarker('dave'), tenant: tenantA.slug });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        statuses.push((await call(limited, 'GET', '/api/boards', { token })).status);
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
      const { samples } = await scrapeLimited();
      expect(valueOf(samples, 'boards_rate_limited_requests_total', { limit: 'user' })).toBe(1);
    });
  });
  describeWithPostgres('in production', () => {
    const SCRAPE_TOKEN = uniqueMarker('prod-scrape-token');
    const production = { BOARDS_ENVIRONMENT: 'production', BOARDS_TRUST_PROXY: '10.0.0.0/8' };

    it('does not start without BOARDS_METRICS_TOKEN, and says how to choose', () => {
      expect(() => db.config(jwtAuthEnv(production))).toThrow(
        /^BOARDS_METRICS_TOKEN: is required when BOARDS_ENVIRONMENT=production .*BOARDS_METRICS_PUBLIC=true/,
      );
      expect(() =>
        db.config(jwtAuthEnv({ ...production, BOARDS_METRICS_PUBLIC: 'false' })),
      ).toThrow(/^BOARDS_METRICS_TOKEN: /);
    });

    describe('with BOARDS_METRICS_TOKEN', () => {
      let prod: RunningApp;

      beforeAll(async () => {
        prod = await start({ ...production, BOARDS_METRICS_TOKEN: SCRAPE_TOKEN });
      }, 60_000);

      afterAll(async () => {
        await prod?.close();
      });

      it.each([
        ['no Authorization header', {}],
        ['a wrong token', { authorization: 'Bearer wrong' }],
        ['the token with one character more', { authorization: `Bearer ${SCRAPE_TOKEN}x` }],
        ['the token without "Bearer "', { authorization: SCRAPE_TOKEN }],
        ['the token as Basic credentials', { authorization: `Basic ${SCRAPE_TOKEN}` }],
      ])('answers %s with 401 and the documented body, revealing nothing', async (_, headers) => {
        const refused = await call(prod, 'GET', '/metrics', { headers });
        expectError(
          refused,
          401,
          'Unauthorized',
          'metrics_token_required',
          'The metrics endpoint needs its bearer token.',
        );
        expect(refused.headers.get('www-authenticate')).toBe('Bearer');
        expect(JSON.stringify(refused.body)).not.toMatch(/boards_|process_|prod-scrape/);
      });

      it('serves the metrics with the token', async () => {
        const { status, text } = await scrape(prod, { authorization: `Bearer ${SCRAPE_TOKEN}` });
        expect(status).toBe(200);
        expect(text).toContain('# TYPE boards_tenant_requests_total counter');
      });
    });

    it('BOARDS_METRICS_PUBLIC=true serves them without a token', async () => {
      const open = await start({ ...production, BOARDS_METRICS_PUBLIC: 'true' });
      try {
        const { status, text } = await scrape(open);
        expect(status).toBe(200);
        expect(text).toContain('# TYPE boards_tenant_requests_total counter');
      } finally {
        await open.close();
      }
    });
  });
});
