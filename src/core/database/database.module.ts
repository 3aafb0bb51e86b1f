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
import { TenantDatabaseLocator } from './tenant-database-locator';
import { TenantDatabases } from './tenant-databases';
import { DatabaseTenantRouter, TenantInShared, TenantRouter } from './tenant-router';
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

/** How long a request waits for room among the tenant data sources before it is 503. */
export const TENANT_DATA_SOURCE_WAIT_MS = 5_000;
/** A tenant data source unused this long closes. */
export const TENANT_DATA_SOURCE_IDLE_MS = 60_000;

/**
 * BOARDS_TENANT_ISOLATION=database: the router to each tenant's own database (undefined in the
 * shared layout). A tenant's data source acts as the runtime role with its statement timeouts,
 * carries the ORM isolation subscriber, and is used only after its database proved to hold that
 * tenant and no other (its `tenants` table has that one row).
 */
export function tenantRouterFor(
  config: BoardsConfig,
  target: DatabaseTarget,
  control: DataSource,
  subscriber: TenantEntitySubscriber,
): TenantRouter | undefined {
  if (config.tenancy.isolation !== 'database') return undefined;
  const locator = new TenantDatabaseLocator(config.tenancy, control);
  const router: DatabaseTenantRouter = new DatabaseTenantRouter(
    {
      cacheSize: config.tenancy.tenantDataSourceCacheSize,
      connectionBudget: config.tenancy.tenantConnectionBudget,
      idleMs: TENANT_DATA_SOURCE_IDLE_MS,
      waitMs: TENANT_DATA_SOURCE_WAIT_MS,
    },
    async (tenantId) => {
      const place = await locator.place(tenantId);
      // A tenant without a database of its own (not moved yet) lives in the control database.
      if (!place.own) return new TenantInShared(place.slug);
      router.remember(tenantId, place.slug);
      return locator.runtimeUrl(place);
    },
    async (url, poolSize, tenantId) => {
      const dataSource = new DataSource(target.options('runtime', { url, poolSize }));
      await dataSource.initialize();
      try {
        await assertHoldsOnly(dataSource, tenantId);
      } catch (err) {
        await dataSource.destroy().catch(() => undefined);
        throw err;
      }
      dataSource.subscribers.push(subscriber);
      return dataSource;
    },
    control,
  );
  return router;
}

/** A tenant database's own `tenants` rows (one, the tenant's), read when its data source opens. */
export const HOLDS_ONLY_SQL = 'SELECT id::text AS id FROM tenants LIMIT 2';

/** Refuses a tenant database whose registry row is not exactly this tenant's (a wrong URL). */
async function assertHoldsOnly(dataSource: DataSource, tenantId: string): Promise<void> {
  const rows = (await dataSource.query(HOLDS_ONLY_SQL)) as {
    id: string;
  }[];
  if (rows.length !== 1 || rows[0].id !== tenantId) {
    throw new Error(
      `the database at this tenant's URL does not hold tenant ${tenantId} (alone); check its recorded URL`,
    );
  }
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
        {
          provide: TenantRouter,
          inject: [BoardsConfig, DatabaseTarget, DataSource, TenantEntitySubscriber],
          useFactory: tenantRouterFor,
        },
        TenantTransactions,
        TenantDatabases,
        TenantEntitySubscriber,
        IsolationInspector,
        { provide: APP_INTERCEPTOR, useClass: TenantTransactionInterceptor },
      ],
      exports: [
        DataSource,
        TenantRouter,
        DatabaseTarget,
        {
          provide: TenantRouter,
          inject: [BoardsConfig, DatabaseTarget, DataSource, TenantEntitySubscriber],
          useFactory: tenantRouterFor,
        },
        TenantTransactions,
        TenantDatabases,
        TenantEntitySubscriber,
        IsolationInspector,
      ],
    };
  }

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(DatabaseTarget) private readonly target: DatabaseTarget,
    @Inject(OWNS_TARGET) private readonly ownsTarget: boolean,
    @Inject(TenantRouter) private readonly router: TenantRouter | undefined,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.router?.close();
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    if (this.ownsTarget) await this.target.close();
  }
}
