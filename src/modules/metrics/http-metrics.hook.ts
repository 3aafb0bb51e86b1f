import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { DataSource } from 'typeorm';
import { runtimePgPool } from 'src/core/database/driver-internals';
import { requestLogFields } from 'src/core/logging/request-log-fields';
import { MetricsService } from 'src/core/metrics/metrics.service';

/** Counts every response by tenant and route template, and exposes the database pool. */
@Injectable()
export class HttpMetricsHook implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly metrics: MetricsService,
    private readonly dataSource: DataSource,
  ) {}

  onModuleInit(): void {
    // Absent in an application context without HTTP (CLI commands).
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    fastify?.addHook('onResponse', (request, reply, done) => {
      this.metrics.recordRequest({
        method: request.method,
        route: request.routeOptions.url,
        tenantSlug: requestLogFields(request.raw).tenant_slug,
        status: reply.statusCode,
        seconds: reply.elapsedTime / 1000,
      });
      done();
    });

    this.metrics.gauge(
      'boards_db_pool_connections',
      'Runtime database pool connections by state',
      ['state'],
      (gauge) => {
        const pool = runtimePgPool(this.dataSource);
        if (!pool) return;
        gauge.set({ state: 'in_use' }, pool.totalCount - pool.idleCount);
        gauge.set({ state: 'idle' }, pool.idleCount);
        gauge.set({ state: 'waiting' }, pool.waitingCount);
      },
    );
  }
}
