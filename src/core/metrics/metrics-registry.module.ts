import { Global, Module } from '@nestjs/common';
import { MetricsService } from 'src/core/metrics/metrics.service';

/**
 * The process's Prometheus registry, global: core (isolation layer, cache, rate limits) and the
 * features record into it; the /metrics endpoint (modules/metrics) renders it.
 */
@Global()
@Module({
  providers: [MetricsService],
  exports: [MetricsService],
})
export class MetricsRegistryModule {}
