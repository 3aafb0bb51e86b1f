import { timingSafeEqual } from 'node:crypto';
import { SkipThrottle } from '@nestjs/throttler';
import { Controller, Get, Headers, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from 'src/common/decorators/public.decorator';
import type { FastifyReply } from 'fastify';
import { BoardsConfig } from 'src/core/config/boards-config';
import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';
import { MetricsService } from 'src/core/metrics/metrics.service';

/**
 * Prometheus scrape endpoint; guarded by BOARDS_METRICS_TOKEN when set (compared in constant
 * time). It lists tenant slugs, so production refuses to start without a token unless
 * BOARDS_METRICS_PUBLIC=true (see loadConfig); elsewhere the token is optional.
 */
@Public()
@ApiExcludeController()
@SkipThrottle()
@Controller('metrics')
export class MetricsController {
  private readonly expected: Buffer | undefined;

  constructor(
    private readonly metrics: MetricsService,
    config: BoardsConfig,
  ) {
    this.expected = config.observability.metricsToken
      ? Buffer.from(`Bearer ${config.observability.metricsToken}`)
      : undefined;
  }

  @Get()
  async render(
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    if (this.expected) {
      const given = Buffer.from(authorization ?? '');
      if (given.length !== this.expected.length || !timingSafeEqual(given, this.expected)) {
        throw new DomainError(
          ErrorCode.Unauthenticated,
          'metrics_token_required',
          'The metrics endpoint needs its bearer token.',
          {},
          { 'WWW-Authenticate': 'Bearer' },
        );
      }
    }
    void reply.header('content-type', this.metrics.contentType());
    return this.metrics.render();
  }
}
