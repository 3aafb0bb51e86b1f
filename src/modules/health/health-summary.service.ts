import { Injectable, Optional } from '@nestjs/common';
import { TenantDatabases } from 'src/core/database/tenant-databases';
import { TenantRouter } from 'src/core/database/tenant-router';
import { BoardsConfig } from 'src/core/config/boards-config';
import { IsolationInspector } from 'src/core/database/isolation-inspector';
import { TenantsRepository } from 'src/modules/tenants/tenants.repository';
import { DATABASE_TIMEOUT_MS, HealthIndicators, withTimeout } from './health-indicators';

export interface HealthSummary {
  status: 'healthy' | 'degraded' | 'unhealthy';
  environment: string;
  multi_tenant_mode: boolean;
  tenant_count: number | null;
  isolation_status: 'ok' | 'degraded' | 'unknown';
  /** BOARDS_TENANT_ISOLATION: one shared database, or a database per tenant. */
  isolation_strategy: 'shared' | 'database';
  /**
   * A database per tenant: this process's open tenant data sources and the connections they may
   * hold (within the budget), and tenant databases whose provisioning or drop is unfinished
   * (`boards tenant cleanup`); null in the shared layout.
   */
  tenant_databases: {
    open: number;
    connections: number;
    budget: number;
    unfinished: number | null;
  } | null;
  database: 'up' | 'down';
  redis: 'up' | 'down' | 'not_configured';
  migrations: 'applied' | 'pending' | 'unknown';
}

/**
 * The operator's summary behind GET /health. It costs several queries, so one computed summary is
 * served for BOARDS_HEALTH_CACHE_MS after it completes, and callers that arrive while one is
 * being computed share it (single flight): a flood of /health calls costs at most one computation
 * at a time. Each query gives up after DATABASE_TIMEOUT_MS, so even a database that does not
 * answer yields a summary (unhealthy) within about that time, and that summary is cached too.
 */
@Injectable()
export class HealthSummaryService {
  private cached: { readonly summary: HealthSummary; readonly completedAt: number } | undefined;
  private inFlight: Promise<HealthSummary> | undefined;

  constructor(
    private readonly config: BoardsConfig,
    private readonly tenants: TenantsRepository,
    private readonly isolation: IsolationInspector,
    private readonly indicators: HealthIndicators,
    private readonly databases: TenantDatabases,
    @Optional() private readonly router?: TenantRouter,
  ) {}

  summary(): Promise<HealthSummary> {
    const cached = this.cached;
    if (cached && Date.now() - cached.completedAt < this.config.observability.healthCacheMs) {
      return Promise.resolve(cached.summary);
    }
    this.inFlight ??= this.compute()
      .then((summary) => {
        this.cached = { summary, completedAt: Date.now() };
        return summary;
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }

  private async compute(): Promise<HealthSummary> {
    const [tenantCount, isolation, redis, pending, unfinished] = await Promise.all([
      withTimeout(this.tenants.count(), DATABASE_TIMEOUT_MS).catch(() => null),
      withTimeout(this.isolation.inspect(), DATABASE_TIMEOUT_MS).catch(() => null),
      this.indicators.redis(),
      this.indicators.pendingMigrations().catch(() => null),
      this.router
        ? withTimeout(this.databases.records({ unfinished: true }), DATABASE_TIMEOUT_MS).then(
            (records) => records.length,
            () => null,
          )
        : null,
    ]);
    const databaseUp = tenantCount !== null;
    const redisState = !this.config.redisUrl
      ? 'not_configured'
      : redis.redis.status === 'up'
        ? 'up'
        : 'down';
    const summary: HealthSummary = {
      status: 'healthy',
      environment: this.config.environment,
      multi_tenant_mode: this.config.tenancy.multiTenantMode,
      tenant_count: tenantCount,
      isolation_status: isolation?.status ?? 'unknown',
      isolation_strategy: this.config.tenancy.isolation,
      tenant_databases: this.router ? { ...this.router.usage, unfinished } : null,
      database: databaseUp ? 'up' : 'down',
      redis: redisState,
      migrations: pending === null ? 'unknown' : pending.length === 0 ? 'applied' : 'pending',
    };
    if (!databaseUp) {
      summary.status = 'unhealthy';
    } else if (
      summary.isolation_status !== 'ok' ||
      redisState === 'down' ||
      summary.migrations !== 'applied'
    ) {
      summary.status = 'degraded';
    }
    return summary;
  }
}
