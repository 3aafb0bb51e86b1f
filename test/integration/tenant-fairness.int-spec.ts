import { AsyncLocalStorage } from 'node:async_hooks';
import { CLS_REQ, ClsService } from 'nestjs-cls';
import type { DataSource } from 'typeorm';
import { TenantBusyError } from 'src/core/database/tenant-pool-share';
import { TenantTransactions } from 'src/core/database/tenant-transactions';
import type { RequestShape } from 'src/core/database/transaction-settings';
import { createTenant } from 'test/factories/seed';
import { describeWithPostgres } from 'test/support/environment';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * A tenant's share of the database and the route classes' statement timeouts, on a real server
 * through TenantTransactions (DESIGN.md §5 "Fairness"): one tenant holds at most its share of the
 * pool, so another tenant's transaction starts at once while the first is saturated; the share's
 * queue gives up with TenantBusyError; each route class's transactions carry its timeout.
 */

const POOL = 4;

describeWithPostgres('fairness in TenantTransactions', () => {
  let db: TestDatabase;
  let runtime: DataSource;
  let cls: ClsService;
  let transactions: TenantTransactions;
  let noisy: string;
  let quiet: string;

  beforeAll(async () => {
    db = await createTestDatabase({ poolSize: POOL });
    const config = db.config({
      BOARDS_DATABASE_POOL_SIZE: String(POOL),
      BOARDS_DATABASE_TENANT_POOL_PERCENT: '50',
      BOARDS_DATABASE_TENANT_QUEUE_MS: '600',
      BOARDS_DATABASE_TENANT_SEARCH_PERCENT: '10',
      BOARDS_STATEMENT_TIMEOUT_READ_MS: '1100',
      BOARDS_STATEMENT_TIMEOUT_WRITE_MS: '1200',
      BOARDS_STATEMENT_TIMEOUT_SEARCH_MS: '1300',
      BOARDS_STATEMENT_TIMEOUT_ADMIN_MS: '1400',
    });
    runtime = await db.target.connect('runtime', { poolSize: POOL });
    cls = new ClsService(new AsyncLocalStorage());
    transactions = new TenantTransactions(runtime, cls, config);
    noisy = (await createTenant(db.owner, 'noisy')).id;
    quiet = (await createTenant(db.owner, 'quiet')).id;
  }, 60_000);

  afterAll(async () => {
    await runtime?.destroy();
    await db?.drop();
  });

  /** Runs `work` as part of a request of this shape (what the route class is read from). */
  const asRequest = <T>(request: RequestShape | undefined, work: () => Promise<T>) =>
    cls.run(() => {
      if (request) cls.set(CLS_REQ, request);
      return work();
    });

  const sleepIn = (tenantId: string, seconds: number) =>
    asRequest({ method: 'POST', url: '/api/boards' }, () =>
      transactions.run(tenantId, async (manager) => {
        await manager.query('SELECT pg_sleep($1)', [seconds]);
      }),
    );

  it('one tenant holds at most its share; another starts at once; the surplus waits its turn', async () => {
    expect(transactions.share?.perTenant).toBe(2);
    const started = Date.now();
    const noisyWork = Array.from({ length: 4 }, () => sleepIn(noisy, 0.3));
    await new Promise((done) => setTimeout(done, 50));
    expect(transactions.share?.heldBy(noisy)).toBe(2);

    const quietStarted = Date.now();
    const [{ tenant }] = (await asRequest({ method: 'GET', url: '/api/boards' }, () =>
      transactions.read(quiet, `SELECT current_setting('app.tenant_id') AS tenant`, []),
    )) as { tenant: string }[];
    expect(tenant).toBe(quiet);
    // Two connections of four were free for the quiet tenant: no wait for the noisy sleeps.
    expect(Date.now() - quietStarted).toBeLessThan(300);

    await Promise.all(noisyWork);
    // Four 0.3 s transactions two at a time: two rounds.
    expect(Date.now() - started).toBeGreaterThanOrEqual(580);
    expect(transactions.share?.heldBy(noisy)).toBe(0);
  }, 30_000);

  it('a request that waits longer than the queue time gets TenantBusyError', async () => {
    const outcomes = await Promise.allSettled(Array.from({ length: 3 }, () => sleepIn(noisy, 0.9)));
    const rejected = outcomes.filter((o) => o.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect((rejected[0] as PromiseRejectedResult).reason).toBeInstanceOf(TenantBusyError);
  }, 30_000);

  it('a one-round-trip read over the share gets TenantBusyError too (not a database error)', async () => {
    const busy = Array.from({ length: 2 }, () => sleepIn(noisy, 0.9));
    await new Promise((done) => setTimeout(done, 50));
    const refused = await asRequest({ method: 'GET', url: '/api/boards' }, () =>
      transactions.read(noisy, 'SELECT 1 AS one', []),
    ).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(TenantBusyError);
    await Promise.all(busy);
  }, 30_000);

  it("a tenant's searches run one at a time (its search share) while its other reads go on", async () => {
    expect(transactions.searchShare?.perTenant).toBe(1);
    const search = { method: 'GET', url: '/api/boards?q=abc', query: { q: 'abc' } };
    const started = Date.now();
    const searches = Array.from({ length: 2 }, () =>
      asRequest(search, () =>
        transactions.read(noisy, 'SELECT pg_sleep(0.3) IS NULL AS slept', [], {
          prepare: false,
          search: true,
        }),
      ),
    );
    await new Promise((done) => setTimeout(done, 50));
    expect(transactions.searchShare?.heldBy(noisy)).toBe(1);
    const readStarted = Date.now();
    await asRequest({ method: 'GET', url: '/api/boards' }, () =>
      transactions.read(noisy, 'SELECT 1 AS one', []),
    );
    expect(Date.now() - readStarted).toBeLessThan(200);
    await Promise.all(searches);
    expect(Date.now() - started).toBeGreaterThanOrEqual(580);
    expect(transactions.searchShare?.heldBy(noisy)).toBe(0);
    expect(transactions.share?.heldBy(noisy)).toBe(0);
  }, 30_000);

  it.each([
    ['read', { method: 'GET', url: '/api/boards', query: {} }, '1100ms'],
    ['search', { method: 'GET', url: '/api/boards?q=abc', query: { q: 'abc' } }, '1300ms'],
    ['write', { method: 'POST', url: '/api/boards' }, '1200ms'],
    ['admin', { method: 'DELETE', url: '/api/setup/tenant/x' }, '1400ms'],
    ['admin (no request: CLI, background)', undefined, '1400ms'],
  ] as const)(
    'a %s transaction carries its statement timeout',
    async (_name, request, expected) => {
      const inRun = await asRequest(request, () =>
        transactions.run(noisy, async (manager) => {
          const [row] = (await manager.query(
            `SELECT current_setting('statement_timeout') AS timeout`,
          )) as { timeout: string }[];
          return row.timeout;
        }),
      );
      expect(inRun).toBe(expected);
      const [viaRead] = (await asRequest(request, () =>
        transactions.read(noisy, `SELECT current_setting('statement_timeout') AS timeout`, []),
      )) as { timeout: string }[];
      expect(viaRead.timeout).toBe(expected);
    },
  );

  it('the timeout stops a statement that runs past it (57014) and the connection stays usable', async () => {
    const failure = await asRequest({ method: 'POST', url: '/api/boards' }, () =>
      transactions.run(noisy, (manager) => manager.query('SELECT pg_sleep(3)')),
    ).catch((err: unknown) => err);
    expect((failure as { driverError?: { code?: string } }).driverError?.code).toBe('57014');
    const [{ ok }] = (await asRequest({ method: 'GET', url: '/api/boards' }, () =>
      transactions.read(noisy, 'SELECT 1 AS ok', []),
    )) as { ok: number }[];
    expect(ok).toBe(1);
  }, 30_000);
});
