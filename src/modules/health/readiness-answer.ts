import { HttpStatus, Injectable } from '@nestjs/common';
import { HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { HealthIndicators } from './health-indicators';
import { ReadinessMonitor } from './readiness-monitor';

/** What GET /health/ready answers: 200 or 503, and Terminus' body. */
export interface Readiness {
  readonly status: HttpStatus.OK | HttpStatus.SERVICE_UNAVAILABLE;
  readonly body: HealthCheckResult;
}

/**
 * The readiness answer, from the background checks of ReadinessMonitor and whether the server is
 * draining (read live): the same for the API port's /health/ready and the probe port's.
 */
@Injectable()
export class ReadinessAnswer {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicators,
    private readonly readiness: ReadinessMonitor,
  ) {}

  async current(): Promise<Readiness> {
    const checks = await this.readiness.current();
    try {
      // Terminus assembles the body from the stored results, so its shape stays Terminus'.
      const body = await this.health.check([
        () => this.indicators.accepting(),
        ...checks.map((check) => () => check),
      ]);
      return { status: HttpStatus.OK, body };
    } catch (err) {
      const body = (err as { getResponse?: () => unknown }).getResponse?.();
      if (!body) throw err;
      return { status: HttpStatus.SERVICE_UNAVAILABLE, body: body as HealthCheckResult };
    }
  }
}
