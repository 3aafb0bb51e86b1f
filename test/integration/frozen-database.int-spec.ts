import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { DatabaseTarget } from 'src/core/database/data-sources';
import { ENTITIES } from 'src/entities';
import { isDatabaseUnavailable } from 'src/core/database/database-unavailable';
import { QUERY_READ_TIMEOUT_MARGIN_MS } from 'src/core/database/guarded-pg-client';
import { describeWithPostgres } from 'test/support/environment';
import { startFreezableProxy, type FreezableProxy } from 'test/support/tcp-proxy';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';
import { runtimePgPool } from 'src/core/database/driver-internals';

/**
 * A database server that stops answering without closing its connections (frozen, or cut off by
 * the network): a query fails once the statement timeout and a margin have passed, as
 * "unavailable" (a 503 for the API), and its connection is dropped instead of going back to the
 * pool still waiting for the answer. Once the server answers again, the next query works at once.
 */

const STATEMENT_TIMEOUT_MS = 300;

describeWithPostgres('a frozen database server', () => {
  let db: TestDatabase;
  let proxy: FreezableProxy;
  let target: DatabaseTarget;
  let runtime: DataSource;
  const pool = () => requirePgPool(runtime);

  beforeAll(async () => {
    db = await createTestDatabase();
    const direct = new URL(db.env.BOARDS_DATABASE_URL);
    proxy = await startFreezableProxy(direct.hostname, Number(direct.port || 5432));
    const viaProxy = new URL(direct.toString());
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    target = await DatabaseTarget.open(
      db.config({
        BOARDS_DATABASE_URL: viaProxy.toString(),
        BOARDS_DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
        BOARDS_STATEMENT_TIMEOUT_READ_MS: String(STATEMENT_TIMEOUT_MS),
        BOARDS_STATEMENT_TIMEOUT_WRITE_MS: String(STATEMENT_TIMEOUT_MS),
        BOARDS_STATEMENT_TIMEOUT_SEARCH_MS: String(STATEMENT_TIMEOUT_MS),
        BOARDS_DATABASE_CONNECT_TIMEOUT_MS: '1000',
      }),
      ENTITIES,
    );
    runtime = await target.connect('runtime', { poolSize: 2 });
  }, 60_000);

  afterAll(async () => {
    proxy?.thaw();
    await runtime?.destroy().catch(() => undefined);
    await target?.close();
    await proxy?.close();
    await db?.drop();
  });

  it('fails a query after the statement timeout and margin, drops its connection, and recovers', async () => {
    await expect(runtime.query('SELECT 1 AS one')).resolves.toEqual([{ one: 1 }]);
    expect(proxy.openConnections()).toBe(1);

    proxy.freeze();
    const started = Date.now();
    const error = await runtime.query('SELECT 2 AS two').catch((err: unknown) => err);
    const waited = Date.now() - started;
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe('Query read timeout');
    expect(isDatabaseUnavailable(error)).toBe(true);
    expect(waited).toBeGreaterThanOrEqual(STATEMENT_TIMEOUT_MS + QUERY_READ_TIMEOUT_MARGIN_MS - 50);
    expect(waited).toBeLessThan(STATEMENT_TIMEOUT_MS + QUERY_READ_TIMEOUT_MARGIN_MS + 3_000);

    // The connection that waited is gone from the pool (the proxy, frozen, sees it close later).
    await waitFor(() => pool().totalCount === 0);

    // Still frozen: a new connection cannot be opened either, and that is "unavailable" too.
    const connectError = await runtime.query('SELECT 3').catch((err: unknown) => err);
    expect(isDatabaseUnavailable(connectError)).toBe(true);

    proxy.thaw();
    const thawed = Date.now();
    await expect(runtime.query('SELECT 4 AS four')).resolves.toEqual([{ four: 4 }]);
    expect(Date.now() - thawed).toBeLessThan(2_000);
    await waitFor(() => proxy.openConnections() === 1);
  }, 30_000);

  it('a slow statement is stopped by the server, and its connection stays in the pool', async () => {
    const error = await runtime.query('SELECT pg_sleep(2)').catch((err: unknown) => err);
    expect((error as { driverError?: { code?: string } }).driverError?.code).toBe('57014');
    expect(isDatabaseUnavailable(error)).toBe(false);
    await expect(runtime.query('SELECT 5 AS five')).resolves.toEqual([{ five: 5 }]);
    expect(pool().totalCount).toBeGreaterThanOrEqual(1);
  }, 30_000);
});

async function waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((done) => setTimeout(done, 20));
  }
}

/** The runtime data source's pg Pool (a PostgreSQL server, not the embedded database). */
function requirePgPool(dataSource: Parameters<typeof runtimePgPool>[0]): Pool {
  const pool = runtimePgPool(dataSource);
  if (!pool) throw new Error('no pg Pool behind this data source (embedded database?)');
  return pool;
}
