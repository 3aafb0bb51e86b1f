import { Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { HttpMetricsHook } from './http-metrics.hook';

/** The /metrics endpoint and the HTTP request metrics (the registry is core/metrics). */
@Module({
  controllers: [MetricsController],
  providers: [HttpMetricsHook],
})
export class MetricsModule {}
