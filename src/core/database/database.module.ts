import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { BoardsConfig } from 'src/core/config/boards-config';
import { DatabaseTarget } from './data-sources';
import { IsolationInspector } from './isolation-inspector';
import { MigrationRunner } from './migration-runner';
import { TenantEntitySubscriber } from './tenant-entity.subscriber';
import { TenantTransactionInterceptor } from './tenant-transaction.interceptor';
import { TenantTransactions } from './tenant-transactions';

/**
 * Opens the database once: applies pending migrations with the owner connection when
 * BOARDS_DATABASE_AUTO_MIGRATE is on, then connects the runtime data source as the runtime role.
 */
export async function connectRuntimeDataSource(
  config: BoardsConfig,
  target: DatabaseTarget,
): Promise<DataSource> {
  if (config.database.autoMigrate) {
    const owner = await target.connect('owner');
    try {
      const applied = await new MigrationRunner(owner, config.database.runtimeRole).up();
      if (applied.length > 0)
        new Logger('Database').log(`applied migrations: ${applied.join(', ')}`);
    } finally {
      await owner.destroy();
    }
  }
  return target.connect('runtime');
}

@Global()
@Module({
  providers: [
    {
      provide: DatabaseTarget,
      inject: [BoardsConfig],
      useFactory: (config: BoardsConfig) => DatabaseTarget.open(config),
    },
    {
      provide: DataSource,
      inject: [BoardsConfig, DatabaseTarget],
      useFactory: connectRuntimeDataSource,
    },
    TenantTransactions,
    TenantEntitySubscriber,
    IsolationInspector,
    { provide: APP_INTERCEPTOR, useClass: TenantTransactionInterceptor },
  ],
  exports: [DataSource, DatabaseTarget, TenantTransactions, IsolationInspector],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(DatabaseTarget) private readonly target: DatabaseTarget,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    await this.target.close();
  }
}
