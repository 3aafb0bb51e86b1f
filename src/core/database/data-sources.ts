import { DataSource, type DataSourceOptions, type Logger as TypeOrmLogger } from 'typeorm';
import type { PostgresDataSourceOptions } from 'typeorm/driver/postgres/PostgresDataSourceOptions';
import { MIGRATIONS } from 'migrations/index';
import type { BoardsConfig, DatabaseConfig } from 'src/core/config/boards-config';
import { EmbeddedDatabase } from './embedded-database';
import { GuardedPgClient, QUERY_READ_TIMEOUT_MARGIN_MS } from './guarded-pg-client';
import { silentQueryLog } from './driver-internals';
import { SnakeNamingStrategy } from './snake-naming.strategy';

export type ConnectionPurpose = 'runtime' | 'owner';

/**
 * TypeORM's own log lines stay silent (it prints migration steps and failures even with logging
 * off): the callers report what matters once — the migrations applied, or one line for a failure.
 */
const QUIET_TYPEORM_LOGGER: TypeOrmLogger = {
  logQuery: silentQueryLog,
  logQueryError: silentQueryLog,
  logQuerySlow: () => undefined,
  logSchemaBuild: () => undefined,
  logMigration: () => undefined,
  log: () => undefined,
};

/** An entity class the data sources map. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- TypeORM's own type for entity classes
export type EntityClass = Function;

/**
 * Where the database lives: a PostgreSQL server (URLs from the config) or the embedded PGlite.
 * Opened once per process; the runtime and owner data sources are built on it.
 */
export class DatabaseTarget {
  private constructor(
    private readonly config: BoardsConfig,
    readonly embedded: EmbeddedDatabase | undefined,
    private readonly entities: readonly EntityClass[],
  ) {}

  /**
   * `entities`: the classes the data sources map (the application's list, src/entities.ts);
   * owner-level tools that only run SQL need none.
   */
  static async open(
    config: BoardsConfig,
    entities: readonly EntityClass[] = [],
  ): Promise<DatabaseTarget> {
    const embedded = config.usesEmbeddedDatabase
      ? await EmbeddedDatabase.open(config.database.embeddedDataDir)
      : undefined;
    return new DatabaseTarget(config, embedded, entities);
  }

  /**
   * Options for a data source. The runtime one always acts as the runtime role (a startup
   * `role` setting on a server, `SET ROLE` on the embedded session), carries the tenant
   * subscriber, and has a statement timeout; the owner one runs migrations and owner-level tools.
   */
  options(
    purpose: ConnectionPurpose,
    extra: Partial<PostgresDataSourceOptions> = {},
  ): DataSourceOptions {
    const { database } = this.config;
    const base = baseOptions(this.entities, purpose === 'runtime' ? 'boards-api' : 'boards-owner');
    if (this.embedded) {
      return {
        ...base,
        driver: this.embedded.driverFor(purpose === 'runtime' ? database.runtimeRole : null),
        poolSize: 1,
        ...extra,
      };
    }
    const runtime = purpose === 'runtime';
    return {
      ...base,
      url: runtime ? database.url : database.ownerUrl,
      poolSize: runtime ? database.poolSize : 2,
      extra: {
        ...(runtime && {
          options: `-c role=${database.runtimeRole} -c statement_timeout=${database.statementTimeoutMs}`,
        }),
        // A server that answers no query within its statement timeout (and a margin) is frozen
        // or cut off: the query fails and GuardedPgClient drops the connection.
        ...(runtime &&
          poolReadTimeout(database) > 0 && { query_timeout: poolReadTimeout(database) }),
        Client: GuardedPgClient,
        connectionTimeoutMillis: database.connectTimeoutMs,
        idleTimeoutMillis: 30_000,
        // A server that vanished without closing the socket is noticed, not waited on forever.
        keepAlive: true,
        keepAliveInitialDelayMillis: 10_000,
      },
      ...extra,
    };
  }

  async connect(
    purpose: ConnectionPurpose,
    extra: Partial<PostgresDataSourceOptions> = {},
  ): Promise<DataSource> {
    const dataSource = new DataSource(this.options(purpose, extra));
    await dataSource.initialize();
    return dataSource;
  }

  async close(): Promise<void> {
    await this.embedded?.close();
  }
}

/**
 * What every data source of this service shares: the entities, the reviewed migrations and their
 * table, snake_case names, no schema synchronization or extension installs, TypeORM kept quiet.
 */
export function baseOptions(
  entities: readonly EntityClass[],
  applicationName: string,
): PostgresDataSourceOptions {
  return {
    type: 'postgres',
    entities: [...entities],
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'all',
    namingStrategy: new SnakeNamingStrategy(),
    installExtensions: false,
    uuidExtension: 'pgcrypto',
    synchronize: false,
    logging: false,
    logger: QUIET_TYPEORM_LOGGER,
    applicationName,
  };
}

/**
 * Runs `work` with a one-connection, entity-less data source at `url` (plain SQL and migrations:
 * the owner-level work on one tenant database), closed afterwards whatever happens.
 */
export async function withDataSourceAt<T>(
  url: string,
  options: { applicationName: string; connectTimeoutMs?: number },
  work: (dataSource: DataSource) => Promise<T>,
): Promise<T> {
  const dataSource = new DataSource({
    ...baseOptions([], options.applicationName),
    url,
    poolSize: 1,
    extra: { connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000 },
  });
  await dataSource.initialize();
  try {
    return await work(dataSource);
  } finally {
    await dataSource.destroy().catch(() => undefined);
  }
}

/**
 * The runtime pool's read timeout: the longest statement timeout of the connection and of the
 * read, write and search classes, plus a margin; 0 (none) when one of them has no limit. Admin
 * transactions set their own (TenantTransactions, through queryReadTimeout).
 */
export function poolReadTimeout(database: DatabaseConfig): number {
  const { read, write, search } = database.statementTimeouts;
  const limits = [database.statementTimeoutMs, read, write, search];
  return limits.includes(0) ? 0 : Math.max(...limits) + QUERY_READ_TIMEOUT_MARGIN_MS;
}
