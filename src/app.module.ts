import { Module, type DynamicModule } from '@nestjs/common';
import { BoardsConfig } from 'src/core/config/boards-config';
import { CacheModule } from 'src/core/cache/cache.module';
import { ConfigModule } from 'src/core/config/config.module';
import { ContextModule } from 'src/core/context/context.module';
import type { DatabaseTarget } from 'src/core/database/data-sources';
import { DatabaseModule } from 'src/core/database/database.module';
import { ENTITIES } from 'src/entities';
import { LoggingModule } from 'src/core/logging/logging.module';
import { MetricsRegistryModule } from 'src/core/metrics/metrics-registry.module';
import { RateLimitModule } from 'src/core/rate-limit/rate-limit.module';
import { RedisModule } from 'src/core/redis/redis.module';
import { AuthModule } from 'src/modules/auth/auth.module';
import { BoardsModule } from 'src/modules/boards/boards.module';
import { HealthModule } from 'src/modules/health/health.module';
import { MetricsModule } from 'src/modules/metrics/metrics.module';
import { TenantsModule } from 'src/modules/tenants/tenants.module';

export interface AppOptions {
  readonly databaseTarget?: DatabaseTarget;
}

@Module({})
export class AppModule {
  /** `options.databaseTarget`: share an already open database (tests). */
  static forRoot(config: BoardsConfig, options: AppOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ContextModule,
        LoggingModule,
        MetricsRegistryModule,
        MetricsModule,
        DatabaseModule.forRoot(ENTITIES, options.databaseTarget),
        RedisModule,
        CacheModule,
        TenantsModule,
        AuthModule,
        HealthModule,
        BoardsModule,
        // After the auth guards: limits key on the principal and tenant.
        RateLimitModule,
      ],
    };
  }
}
