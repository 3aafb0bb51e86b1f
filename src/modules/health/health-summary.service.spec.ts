import { loadConfig } from 'src/core/config/boards-config';
import type { IsolationInspector, IsolationReport } from 'src/core/database/isolation-inspector';
import type { TenantDatabases } from 'src/core/database/tenant-databases';
import type { TenantsRepository } from 'src/modules/tenants/tenants.repository';
import { strictMock } from 'test/support/strict-mock';
import { DATABASE_TIMEOUT_MS, type HealthIndicators } from './health-indicators';
import { HealthSummaryService } from './health-summary.service';

/**
 * The /health summary's cache, with fake collaborators that count the tenant-count query and
 * fake timers: concurrent callers share one computation, a computed summary is served for
 * BOARDS_HEALTH_CACHE_MS, and a database that does not answer gives an unhealthy summary after
 * the query timeout, which is cached like any other.
 */

const CACHE_MS = 1_500;
const OK: IsolationReport = { status: 'ok', runtimeRole: 'boards_app', problems: [] };

describe('HealthSummaryService', () => {
  let counts: number;
  let tenantCount: number;
  /** Set: the tenant count never answers (a database that does not respond). */
  let hang: boolean;
  let pendingCount: ((count: number) => void)[];

  const create = (cacheMs = CACHE_MS) =>
    new HealthSummaryService(
      loadConfig({ BOARDS_HEALTH_CACHE_MS: String(cacheMs) }),
      strictMock<TenantsRepository>({
        count: () => {
          counts++;
          if (hang) return new Promise<number>(() => undefined);
          return new Promise<number>((done) => pendingCount.push(done));
        },
      }),
      strictMock<IsolationInspector>({ inspect: () => Promise.resolve(OK) }),
      strictMock<HealthIndicators>({
        redis: () => Promise.resolve({ redis: { status: 'up', configured: false } }),
        pendingMigrations: () => Promise.resolve([]),
      }),
      strictMock<TenantDatabases>(),
    );

  /** Answers every tenant count asked for so far. */
  const answerCounts = async () => {
    for (const done of pendingCount.splice(0)) done(tenantCount);
    await jest.advanceTimersByTimeAsync(0);
  };

  beforeEach(() => {
    jest.useFakeTimers();
    counts = 0;
    tenantCount = 1;
    hang = false;
    pendingCount = [];
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('computes once for callers that arrive while a summary is being computed', async () => {
    const service = create();
    const answers = Promise.all(Array.from({ length: 50 }, () => service.summary()));
    await answerCounts();
    const summaries = await answers;
    expect(counts).toBe(1);
    expect(new Set(summaries).size).toBe(1);
    expect(summaries[0]).toEqual({
      status: 'healthy',
      environment: 'development',
      multi_tenant_mode: false,
      tenant_count: 1,
      isolation_status: 'ok',
      isolation_strategy: 'shared',
      tenant_databases: null,
      database: 'up',
      redis: 'not_configured',
      migrations: 'applied',
    });
  });

  it('serves a computed summary for BOARDS_HEALTH_CACHE_MS, then computes the next', async () => {
    const service = create();
    const first = service.summary();
    await answerCounts();
    expect((await first).tenant_count).toBe(1);

    tenantCount = 2;
    await jest.advanceTimersByTimeAsync(CACHE_MS - 1);
    for (let i = 0; i < 100; i++) expect((await service.summary()).tenant_count).toBe(1);
    expect(counts).toBe(1);

    await jest.advanceTimersByTimeAsync(1);
    const next = service.summary();
    await answerCounts();
    expect((await next).tenant_count).toBe(2);
    expect(counts).toBe(2);
  });

  it('gives an unhealthy summary after the query timeout when the database does not answer, and caches it', async () => {
    const service = create();
    hang = true;
    const answer = service.summary();
    await jest.advanceTimersByTimeAsync(DATABASE_TIMEOUT_MS);
    expect(await answer).toMatchObject({
      status: 'unhealthy',
      tenant_count: null,
      database: 'down',
    });
    await jest.advanceTimersByTimeAsync(CACHE_MS - 1);
    expect((await service.summary()).status).toBe('unhealthy');
    expect(counts).toBe(1);
  });

  it('with BOARDS_HEALTH_CACHE_MS=0 computes for each call, still one at a time', async () => {
    const service = create(0);
    const together = Promise.all([service.summary(), service.summary()]);
    await answerCounts();
    await together;
    expect(counts).toBe(1);
    const again = service.summary();
    await answerCounts();
    await again;
    expect(counts).toBe(2);
  });
});
