import {
  Global,
  Inject,
  Logger,
  Module,
  type DynamicModule,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { BoardsConfig } from 'src/core/config/boards-config';
import { DatabaseTarget, type EntityClass } from './data-sources';
import { IsolationInspector } from './isolation-inspector';
import { MigrationRunner } from './migration-runner';
import { databaseStep } from './startup-failure';
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
    const owner = await databaseStep('connect', 'owner', () => target.connect('owner'));
    try {
      const applied = await databaseStep('migrate', 'owner', () =>
        new MigrationRunner(owner, config.database.runtimeRole).up(),
      );
      if (applied.length > 0)
        new Logger('Database').log(`applied migrations: ${applied.join(', ')}`);
    } finally {
      await owner.destroy();
    }
  }
  return databaseStep('connect', 'runtime', () => target.connect('runtime'));
}

/** True when the module opened the target itself (and so closes it at shutdown). */
const OWNS_TARGET = Symbol('OWNS_TARGET');

@Global()
@Module({})
export class DatabaseModule implements OnApplicationShutdown {
  /**
   * `entities`: the application's entity list (src/entities.ts). `external`: a target opened by
   * the caller (tests share one embedded database between the app and their own connections);
   * the caller closes it.
   */
  static forRoot(entities: readonly EntityClass[], external?: DatabaseTarget): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        external
          ? { provide: DatabaseTarget, useValue: external }
          : {
              provide: DatabaseTarget,
              inject: [BoardsConfig],
              useFactory: (config: BoardsConfig) => DatabaseTarget.open(config, entities),
            },
        { provide: OWNS_TARGET, useValue: external === undefined },
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
      exports: [
        DataSource,
        DatabaseTarget,
        TenantTransactions,
        TenantEntitySubscriber,
        IsolationInspector,
      ],
    };
  }

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(DatabaseTarget) private readonly target: DatabaseTarget,
    @Inject(OWNS_TARGET) private readonly ownsTarget: boolean,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    if (this.ownsTarget) await this.target.close();
  }
}
