import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { TenantsModule } from 'src/modules/tenants/tenants.module';
import { HealthController } from './health.controller';
import { HealthIndicators } from './health-indicators';
import { HealthSummaryService } from './health-summary.service';
import { ProbeServer } from './probe-server';
import { ReadinessAnswer } from './readiness-answer';
import { ReadinessMonitor } from './readiness-monitor';
import { ShutdownState } from './shutdown-state';

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), TenantsModule],
  controllers: [HealthController],
  providers: [
    HealthIndicators,
    HealthSummaryService,
    ReadinessMonitor,
    ReadinessAnswer,
    ProbeServer,
    ShutdownState,
  ],
  exports: [ShutdownState],
})
export class HealthModule {}
