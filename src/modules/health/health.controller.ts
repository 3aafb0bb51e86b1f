import { SkipThrottle } from '@nestjs/throttler';
import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { Public } from 'src/common/decorators/public.decorator';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { BoardsConfig } from 'src/core/config/boards-config';
import { IsolationInspector } from 'src/core/database/isolation-inspector';
import { TenantsRepository } from 'src/modules/tenants/tenants.repository';
import { HealthIndicators, withTimeout } from './health-indicators';

export interface HealthSummary {
  status: 'healthy' | 'degraded' | 'unhealthy';
  environment: string;
  multi_tenant_mode: boolean;
  tenant_count: number | null;
  isolation_status: 'ok' | 'degraded' | 'unknown';
  database: 'up' | 'down';
  redis: 'up' | 'down' | 'not_configured';
  migrations: 'applied' | 'pending' | 'unknown';
}

/** Kubernetes probes and the operator's summary. Outside the /api prefix, no auth. */
@Public()
@ApiTags('health')
@SkipThrottle()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicators,
    private readonly config: BoardsConfig,
    private readonly tenants: TenantsRepository,
    private readonly isolation: IsolationInspector,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process is up and its event loop answers' })
  @ApiOkResponse({ description: 'Alive' })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: database, Redis, migrations and isolation configuration' })
  @ApiOkResponse({ description: 'Ready to take traffic' })
  @ApiServiceUnavailableResponse({
    description: 'Not ready (dependency down, migrations pending, or draining)',
  })
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    try {
      return await this.health.check([
        () => this.indicators.accepting(),
        () => this.indicators.database(),
        () => this.indicators.redis(),
        () => this.indicators.migrations(),
        () => this.indicators.isolation(),
      ]);
    } catch (err) {
      const body = (err as { getResponse?: () => unknown }).getResponse?.();
      if (!body) throw err;
      void reply.status(HttpStatus.SERVICE_UNAVAILABLE);
      return body as HealthCheckResult;
    }
  }

  @Get()
  @ApiOperation({ summary: 'Summary: status, tenancy mode, tenant count and isolation status' })
  @ApiOkResponse({ description: 'Healthy or degraded' })
  @ApiServiceUnavailableResponse({ description: 'Unhealthy: the database is unreachable' })
  async summary(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthSummary> {
    const [tenantCount, isolation, redis, pending] = await Promise.all([
      withTimeout(this.tenants.count(), 2_000).catch(() => null),
      withTimeout(this.isolation.inspect(), 2_000).catch(() => null),
      this.indicators.redis(),
      this.indicators.pendingMigrations().catch(() => null),
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
      database: databaseUp ? 'up' : 'down',
      redis: redisState,
      migrations: pending === null ? 'unknown' : pending.length === 0 ? 'applied' : 'pending',
    };
    if (!databaseUp) {
      summary.status = 'unhealthy';
      void reply.status(HttpStatus.SERVICE_UNAVAILABLE);
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
