import { randomUUID } from 'node:crypto';
import { TenantTransactions } from 'src/core/database/tenant-transactions';
import { createTenant } from 'test/factories/seed';
import { hs256Token, jwtAuthEnv } from 'test/factories/tokens';
import { REDIS_URL, describeWithPostgres } from 'test/support/environment';
import { call, startApp, type Reply, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * The limit before authentication (DESIGN.md §5 "Fairness"): per client address, every request
 * counts and every 401, 403 or 404 counts as a refusal; past the refusal limit the address gets
 * 429 before any token is verified or tenant looked up — a flood of guesses costs the database
 * nothing — while other addresses are served. Counts are shared by replicas through Redis. The
 * client address comes from X-Forwarded-For of the trusted proxy (127.0.0.1 here).
 */

const REFUSALS = 20;
const REQUESTS = 60;
const WINDOW_MS = 60_000;

/**
 * The limits count in fixed one-minute windows: a test whose requests straddle a window's end
 * would see its counts start again. A test begins in a window with at least `needMs` left.
 */
async function startOfUsableWindow(needMs = 15_000): Promise<void> {
  const left = WINDOW_MS - (Date.now() % WINDOW_MS);
  if (left < needMs) await new Promise((done) => setTimeout(done, left + 50));
}

describeWithPostgres('the per-client limit before authentication', () => {
  let db: TestDatabase;
  let first: RunningApp;
  let second: RunningApp;
  let token: string;
  let boardId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    await createTenant(db.owner, 'limited');
    const env = jwtAuthEnv({
      BOARDS_REDIS_URL: REDIS_URL,
      BOARDS_TRUST_PROXY: '127.0.0.1',
      BOARDS_RATE_LIMIT_REFUSALS_PER_CLIENT_PER_MINUTE: String(REFUSALS),
      BOARDS_RATE_LIMIT_PER_CLIENT_PER_MINUTE: String(REQUESTS),
      BOARDS_RATE_LIMIT_PER_USER_PER_MINUTE: '100000',
      BOARDS_RATE_LIMIT_PER_TENANT_PER_MINUTE: '100000',
      // A hundred refusals at once wait for the tenant's share of the pool: on a busy machine
      // past the default second (answered 429 tenant_busy), which is not what this suite counts.
      BOARDS_DATABASE_TENANT_QUEUE_MS: '15000',
    });
    const options = db.embedded ? { databaseTarget: db.target } : {};
    first = await startApp(db.config(env), options);
    second = await startApp(db.config(env), options);
    token = hs256Token({ sub: 'limited-admin', tenant: 'limited' });
    const created = await callFrom(first, '10.0.0.1', 'POST', '/api/boards', { title: 'kept' });
    expect(created.status).toBe(201);
    boardId = String(created.body.id);
  }, 60_000);

  afterAll(async () => {
    await first?.close();
    await second?.close();
    await db?.drop();
  });

  /** A request from `address` (the proxy's X-Forwarded-For), with the token unless `headers` differ. */
  function callFrom(
    app: RunningApp,
    address: string,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = { authorization: `Bearer ${token}` },
  ): Promise<Reply<Record<string, unknown>>> {
    return call(app, method, path, { body, headers: { ...headers, 'x-forwarded-for': address } });
  }

  /** Every kind of refusal: no token, a tenant that does not exist, a board that does not. */
  const refusal = (app: RunningApp, address: string, i: number) =>
    i % 3 === 0
      ? callFrom(app, address, 'GET', '/api/boards', undefined, {})
      : i % 3 === 1
        ? callFrom(app, address, 'GET', '/api/boards', undefined, {
            authorization: `Bearer ${token}`,
            'x-tenant': `nowhere-${i}`,
          })
        : callFrom(app, address, 'GET', `/api/boards/${randomUUID()}`);

  /**
   * Tenant transactions the first replica has started so far: every database read or write of a
   * request takes a place in its tenant's share of the pool first. (PostgreSQL's own table
   * statistics lag by up to ten seconds, so they cannot tell what one burst cost.)
   */
  let started = 0;
  const transactionsStarted = () => started;
  beforeAll(() => {
    const share = first.app.get(TenantTransactions).share;
    if (!share) throw new Error('the tenant pool share is not configured');
    const acquire = share.acquire.bind(share);
    jest.spyOn(share, 'acquire').mockImplementation((tenantId: string) => {
      started++;
      return acquire(tenantId);
    });
  });

  it('counts 401, 403 and 404; past the limit the address gets 429 for everything, others are served', async () => {
    await startOfUsableWindow();
    const attacker = '203.0.113.66';
    const statuses: number[] = [];
    for (let i = 0; i < REFUSALS; i++) statuses.push((await refusal(first, attacker, i)).status);
    expect(new Set(statuses)).toEqual(new Set([401, 403, 404]));

    const limited = await refusal(first, attacker, REFUSALS);
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({
      error: 'Too Many Requests',
      code: 'client_rate_limited',
      detail: expect.stringMatching(/^Too many requests from your address; retry in \d+ s\.$/),
      status: 429,
      request_id: limited.headers.get('x-request-id'),
    });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // A valid request from that address is held back too; probes are not.
    expect((await callFrom(first, attacker, 'GET', `/api/boards/${boardId}`)).status).toBe(429);
    expect((await callFrom(first, attacker, 'GET', '/health/live', undefined, {})).status).toBe(
      200,
    );
    // Another address is served as usual.
    expect((await callFrom(first, '203.0.113.7', 'GET', `/api/boards/${boardId}`)).status).toBe(
      200,
    );
  });

  it('a flood past the limit costs the database nothing; the same refusals from fresh addresses do', async () => {
    await startOfUsableWindow();
    const flooder = '198.51.100.9';
    for (let i = 0; i < REFUSALS; i++) await refusal(first, flooder, 2);
    const beforeFlood = transactionsStarted();
    const flood = await Promise.all(
      Array.from({ length: 100 }, (_, i) => refusal(first, flooder, 3 * i + 2)),
    );
    expect(flood.every((reply) => reply.status === 429)).toBe(true);
    const flooded = transactionsStarted() - beforeFlood;

    const beforeFresh = transactionsStarted();
    const fresh = await Promise.all(
      Array.from({ length: 100 }, (_, i) => refusal(first, `198.51.101.${i + 1}`, 3 * i + 2)),
    );
    expect(
      fresh.filter((reply) => reply.status !== 404).map((reply) => [reply.status, reply.body]),
    ).toEqual([]);
    const served = transactionsStarted() - beforeFresh;
    expect(served).toBeGreaterThanOrEqual(100);
    expect(flooded).toBe(0);
  }, 30_000);

  it('two replicas on one Redis limit the address by its total', async () => {
    await startOfUsableWindow();
    const spreader = '192.0.2.44';
    const half = REFUSALS / 2;
    for (let i = 0; i < half; i++) {
      expect((await refusal(first, spreader, 2)).status).toBe(404);
      expect((await refusal(second, spreader, 2)).status).toBe(404);
    }
    // Each replica alone has seen half the limit; a sync (every 200 ms) tells both the total.
    // A valid request is served until then and refused after; it is not a refusal itself, so
    // waiting for the sync this way does not move the refusal count (at most 2 × 15 requests
    // count against the overall limit of 60, with the 20 above).
    const heldBack = async (app: RunningApp): Promise<Reply<Record<string, unknown>>> => {
      let reply = await callFrom(app, spreader, 'GET', `/api/boards/${boardId}`);
      for (let polls = 1; reply.status === 200 && polls < 15; polls++) {
        await new Promise((done) => setTimeout(done, 200));
        reply = await callFrom(app, spreader, 'GET', `/api/boards/${boardId}`);
      }
      return reply;
    };
    for (const app of [first, second]) {
      const reply = await heldBack(app);
      expect(reply.status).toBe(429);
      expect(reply.body.code).toBe('client_rate_limited');
    }
    // Refusals now are answered 429 on both, before the board lookup.
    expect((await refusal(first, spreader, 2)).status).toBe(429);
    expect((await refusal(second, spreader, 2)).status).toBe(429);
  }, 30_000);

  it('429s of the limits after authentication count as refusals: a client that keeps on is held back before them', async () => {
    const strict = await startApp(
      db.config(
        jwtAuthEnv({
          BOARDS_TRUST_PROXY: '127.0.0.1',
          BOARDS_RATE_LIMIT_REFUSALS_PER_CLIENT_PER_MINUTE: String(REFUSALS),
          BOARDS_RATE_LIMIT_PER_CLIENT_PER_MINUTE: '100000',
          BOARDS_RATE_LIMIT_PER_USER_PER_MINUTE: '5',
        }),
      ),
      db.embedded ? { databaseTarget: db.target } : {},
    );
    try {
      await startOfUsableWindow();
      const insistent = '192.0.2.77';
      const replies: Reply<Record<string, unknown>>[] = [];
      for (let i = 0; i < 5 + REFUSALS + 1; i++) {
        replies.push(await callFrom(strict, insistent, 'GET', `/api/boards/${boardId}`));
      }
      expect(replies.slice(0, 5).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      // The per-user limit answers the next ones (after the token is verified) …
      const userLimited = replies.slice(5, 5 + REFUSALS);
      expect(
        userLimited.every((r) => r.status === 429 && r.body.code !== 'client_rate_limited'),
      ).toBe(true);
      // … until the address has had its refusals: then it is held back before authentication.
      expect(replies[5 + REFUSALS].status).toBe(429);
      expect(replies[5 + REFUSALS].body.code).toBe('client_rate_limited');
    } finally {
      await strict.close();
    }
  });

  it('every request counts against the overall limit, whatever its outcome', async () => {
    await startOfUsableWindow();
    const busy = '192.0.2.200';
    const statuses: number[] = [];
    for (let i = 0; i < REQUESTS + 1; i++) {
      statuses.push((await callFrom(first, busy, 'GET', `/api/boards/${boardId}`)).status);
    }
    expect(statuses.slice(0, REQUESTS).every((status) => status === 200)).toBe(true);
    expect(statuses[REQUESTS]).toBe(429);
  });
});
