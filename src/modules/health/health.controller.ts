import { SkipThrottle } from '@nestjs/throttler';
import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { Public } from 'src/common/decorators/public.decorator';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { HealthCheckResult } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { HealthSummaryService, type HealthSummary } from './health-summary.service';
import { ReadinessAnswer } from './readiness-answer';

/**
 * Kubernetes probes and the operator's summary. Outside the /api prefix, no auth. Neither probe
 * queries the database per request: readiness answers from the background checks of
 * ReadinessMonitor (draining read live), the summary from HealthSummaryService's short cache.
 */
@Public()
@ApiTags('health')
@SkipThrottle()
@Controller('health')
export class HealthController {
  constructor(
    private readonly readiness: ReadinessAnswer,
    private readonly summaries: HealthSummaryService,
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
    description: 'Not ready (dependency down, migrations pending, checks stale, or draining)',
  })
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    const { status, body } = await this.readiness.current();
    if (status !== HttpStatus.OK) void reply.status(status);
    return body;
  }

  @Get()
  @ApiOperation({ summary: 'Summary: status, tenancy mode, tenant count and isolation status' })
  @ApiOkResponse({ description: 'Healthy or degraded' })
  @ApiServiceUnavailableResponse({ description: 'Unhealthy: the database is unreachable' })
  async summary(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthSummary> {
    const summary = await this.summaries.summary();
    if (summary.status === 'unhealthy') void reply.status(HttpStatus.SERVICE_UNAVAILABLE);
    return summary;
  }
}
