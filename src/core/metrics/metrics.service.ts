import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { BoardsConfig } from 'src/core/config/boards-config';

/** Label used for requests outside any tenant, and for tenants beyond the cardinality cap. */
export const NO_TENANT = 'none';
export const OTHER_TENANTS = 'other';

/**
 * The process's Prometheus registry. One per application instance (not prom-client's global
 * registry), so several apps in one test process do not collide.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly isolationViolations = new Counter({
    name: 'boards_tenant_isolation_violations_total',
    help: 'Writes or loads of another tenant stopped by the ORM isolation layer',
    labelNames: ['violation_type'] as const,
    registers: [this.registry],
  });

  readonly tenantRequests = new Counter({
    name: 'boards_tenant_requests_total',
    help: 'HTTP requests by tenant and endpoint (method and route template)',
    labelNames: ['tenant_slug', 'endpoint'] as const,
    registers: [this.registry],
  });

  readonly authFailures = new Counter({
    name: 'boards_auth_failures_total',
    help: 'Rejected authentication attempts by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly rateLimited = new Counter({
    name: 'boards_rate_limited_requests_total',
    help: 'Requests answered 429 by the rate limiter, by limit name',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });

  readonly cacheRequests = new Counter({
    name: 'boards_cache_requests_total',
    help: 'Cache lookups by cache name and result (hit or miss)',
    labelNames: ['cache', 'result'] as const,
    registers: [this.registry],
  });

  readonly requestDuration: Histogram<'method' | 'route' | 'status_class'> | undefined;

  private readonly tenantLabels = new Set<string>();

  constructor(private readonly config: BoardsConfig) {
    collectDefaultMetrics({ register: this.registry });
    this.requestDuration = config.observability.advancedMetrics
      ? new Histogram({
          name: 'boards_http_request_duration_seconds',
          help: 'HTTP request duration by route template',
          labelNames: ['method', 'route', 'status_class'] as const,
          buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
          registers: [this.registry],
        })
      : undefined;
  }

  /** Registers a gauge whose value is read at scrape time. */
  gauge(
    name: string,
    help: string,
    labelNames: readonly string[],
    collect: (gauge: Gauge<string>) => void,
  ): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        collect(this);
      },
    });
  }

  /** The tenant label, capped at BOARDS_METRICS_TENANT_LABEL_LIMIT distinct values. */
  tenantLabel(slug: string | undefined): string {
    if (!slug) return NO_TENANT;
    if (this.tenantLabels.has(slug)) return slug;
    if (this.tenantLabels.size >= this.config.observability.metricsTenantLabelLimit)
      return OTHER_TENANTS;
    this.tenantLabels.add(slug);
    return slug;
  }

  recordRequest(request: {
    method: string;
    route: string | undefined;
    tenantSlug: string | undefined;
    status: number;
    seconds: number;
  }): void {
    const route = request.route ?? 'unmatched';
    this.tenantRequests.inc({
      tenant_slug: this.tenantLabel(request.tenantSlug),
      endpoint: `${request.method} ${route}`,
    });
    this.requestDuration?.observe(
      { method: request.method, route, status_class: `${Math.floor(request.status / 100)}xx` },
      request.seconds,
    );
  }

  contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
