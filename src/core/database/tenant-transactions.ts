import { Injectable, Optional } from '@nestjs/common';
import { CLS_REQ, ClsService } from 'nestjs-cls';
import type { Pool, PoolClient, QueryConfig, QueryResult } from 'pg';
import { DataSource, QueryFailedError, type EntityManager, type QueryRunner } from 'typeorm';
import { BoardsConfig } from 'src/core/config/boards-config';
import { contextStoreOf, writableStoreOf } from 'src/core/context/tenant-context';
import { DomainError, TenantContextMissingError } from 'src/core/errors/domain-error';
import {
  commitTransaction,
  discardConnection,
  finalStatementOn,
  holdTransactionOpen,
  markTransactionClosed,
  markTransactionOpen,
  pipelined,
  queryQuietly,
  runtimePgPool,
  type FinalStatement,
  type HeldOpen,
} from './driver-internals';
import { FAST_TYPES } from './fast-timestamptz';
import { hasSqlState, hasUnusableStatement, preparedStatementName } from './prepared-statements';
import { TenantRouter } from './tenant-router';
import { queryReadTimeout, readTimeoutFor } from './guarded-pg-client';
import {
  ListBudgetError,
  TenantBudget,
  TenantPoolShare,
  TenantTimeBudget,
} from './tenant-pool-share';
import {
  quotaSettingLiteral,
  routeClassOf,
  routeClassStatements,
  type RequestShape,
} from './transaction-settings';

const releaseNothing = (): void => undefined;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Runs database work for one tenant in one transaction that opens with
 * `SET LOCAL app.tenant_id = '<uuid>'`. The setting is transaction-local, so a pooled
 * connection never carries a tenant into the next request. Repositories reach the open
 * transaction's manager through `manager`, which throws when no tenant transaction is open.
 */
@Injectable()
export class TenantTransactions {
  /**
   * Whether read() and the repositories' writes (prepareStatement) run as named prepared
   * statements (BOARDS_DATABASE_PREPARED_STATEMENTS).
   */
  private readonly prepares: boolean;
  /** One tenant's most connections at once (BOARDS_DATABASE_TENANT_POOL_PERCENT of the pool). */
  readonly share: TenantPoolShare | undefined;
  /**
   * One tenant's most searches at once (BOARDS_DATABASE_TENANT_SEARCH_PERCENT): a search that
   * matches most of a tenant's boards reads all their text, the costliest statement there is.
   */
  readonly searchShare: TenantPoolShare | undefined;
  /** Database time one tenant's searches may spend (BOARDS_SEARCH_MS_PER_SECOND). */
  readonly searchBudget: TenantTimeBudget | undefined;
  /**
   * Bytes one tenant's list pages may carry (BOARDS_LIST_BYTES_PER_SECOND): the services check it
   * before a list and spend the page's stored bytes after.
   */
  readonly listBudget: TenantBudget | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly cls: ClsService,
    @Optional() private readonly config?: BoardsConfig,
    /** BOARDS_TENANT_ISOLATION=database: the tenant's own data source; absent: the shared one. */
    @Optional() private readonly router?: TenantRouter,
  ) {
    this.prepares = config?.database.preparedStatements ?? true;
    this.share = config
      ? TenantPoolShare.fromPool(
          config.database.poolSize,
          config.database.tenantPoolPercent,
          config.database.tenantQueueMs,
        )
      : undefined;
    this.listBudget = config
      ? new TenantBudget(
          config.listBytesPerSecond,
          config.listBytesPerSecond,
          (retryAfter) => new ListBudgetError(retryAfter),
        )
      : undefined;
    this.searchBudget = config
      ? new TenantTimeBudget(config.database.searchMsPerSecond, config.database.searchBurstMs)
      : undefined;
    this.searchShare = config
      ? TenantPoolShare.fromPool(
          config.database.poolSize,
          config.database.tenantSearchPercent,
          config.database.tenantQueueMs,
        )
      : undefined;
  }

  /**
   * Takes the tenant's places for one transaction: for a search statement its search budget and a
   * place among its searches first, then one of its share of the pool. Returns their release.
   */
  private placesFor(tenantId: string, searching = false): Promise<() => void> | (() => void) {
    // Without a search, only the pool share: granted at once when the tenant has a free place.
    if (!searching) return this.share ? this.share.acquire(tenantId) : releaseNothing;
    return this.searchPlacesFor(tenantId);
  }

  private async searchPlacesFor(tenantId: string): Promise<() => void> {
    const charge = this.searchBudget?.start(tenantId);
    const search = this.searchShare ? await this.searchShare.acquire(tenantId) : undefined;
    try {
      const connection = this.share ? await this.share.acquire(tenantId) : undefined;
      return () => {
        connection?.();
        search?.();
        charge?.();
      };
    } catch (err) {
      search?.();
      charge?.();
      throw err;
    }
  }

  /** The open tenant transaction's manager. Fails closed outside one. */
  get manager(): EntityManager {
    const manager = contextStoreOf(this.cls)?.entityManager;
    if (!manager) throw new TenantContextMissingError('the tenant transaction');
    return manager;
  }

  /**
   * One read statement in a tenant transaction. Inside an open tenant transaction (of the same
   * tenant) it runs there. Outside one — on @ReadOnlyRoute handlers, and for the user lookup of
   * the guards — it opens a read-only transaction of its own on a connection of the runtime pool
   * and pipelines it, so the whole transaction costs one round trip:
   * `START TRANSACTION READ ONLY; SET LOCAL app.tenant_id = '…'`, then `sql` with its
   * parameters bound (extended protocol), then `COMMIT`. The setting is transaction-local as
   * always and row-level security applies to `sql`. Unless BOARDS_DATABASE_PREPARED_STATEMENTS is
   * false, `sql` runs as a named prepared statement of its connection (see
   * preparedStatementName), so PostgreSQL parses it once per connection and, once its generic
   * plan proves as good, stops planning it on every request. Timestamps are parsed by
   * parseTimestamptz. On the embedded database it falls back to an ordinary tenant transaction.
   */
  async read<R>(
    tenantId: string,
    sql: string,
    params: readonly unknown[],
    options: ReadOptions = {},
  ): Promise<R[]> {
    if (!UUID.test(tenantId)) throw new TenantContextMissingError('a well-formed tenant id');
    if (this.inTransaction || !this.router)
      return this.readOnPool(this.pool, tenantId, sql, params, options);
    const route = await this.router.route(tenantId);
    try {
      return await this.readOnPool(poolOf(route.dataSource), tenantId, sql, params, options);
    } finally {
      route.release();
    }
  }

  private async readOnPool<R>(
    pool: Pool | undefined,
    tenantId: string,
    sql: string,
    params: readonly unknown[],
    options: ReadOptions,
  ): Promise<R[]> {
    if (this.inTransaction || !pool) {
      return this.run(
        tenantId,
        (manager) => queryQuietly(manager, sql, params as unknown[]) as Promise<R[]>,
      );
    }
    // A connection whose copy of the prepared statement is unusable is destroyed and the read
    // runs again on another: at most once per pooled connection (after a migration every one of
    // them may hold the old plan), and a fresh connection prepares the statement anew.
    const attempts = (pool.options.max ?? 10) + 1;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.readOnce<R>(pool, tenantId, sql, params, options);
      } catch (err) {
        if (attempt < attempts && err instanceof ReadStepError && hasUnusableStatement(err.cause)) {
          continue;
        }
        // The service's own refusals (the tenant's share of the pool is in use) pass as they are.
        if (err instanceof DomainError) throw err;
        const { text, cause } =
          err instanceof ReadStepError ? err : { text: sql, cause: err as unknown };
        throw cause instanceof Error
          ? new QueryFailedError(text, params as unknown[], cause)
          : cause;
      }
    }
  }

  /**
   * One pipelined read on one pooled connection (see read()). Rejects with a ReadStepError naming
   * the step that failed first.
   */
  private async readOnce<R>(
    pool: Pool,
    tenantId: string,
    sql: string,
    params: readonly unknown[],
    options: ReadOptions,
  ): Promise<R[]> {
    const places = this.placesFor(tenantId, options.search === true);
    const release = typeof places === 'function' ? places : await places;
    try {
      return await this.readOn(pool, tenantId, sql, params, options);
    } finally {
      release();
    }
  }

  private async readOn<R>(
    pool: Pool,
    tenantId: string,
    sql: string,
    params: readonly unknown[],
    options: ReadOptions,
  ): Promise<R[]> {
    const client = await pool.connect();
    let broken: Error | undefined;
    // A connection lost while checked out emits 'error' on the client; without a listener that
    // would be an uncaught exception. The failing query rejects as well, which is what we act on.
    const onError = (err: Error) => {
      broken ??= err;
    };
    client.on('error', onError);
    // The id is a UUID checked by read(), so it is safe as a literal.
    const begin = this.openStatements(tenantId, true, false).join('; ');
    try {
      const steps = await pipelined(client, [
        begin,
        {
          name: this.prepares && options.prepare !== false ? preparedStatementName(sql) : undefined,
          text: sql,
          values: params as unknown[],
          types: FAST_TYPES,
          // Even without parameters: one statement, never a multi-statement simple query.
          queryMode: 'extended',
        } as ExtendedQueryConfig,
        'COMMIT',
      ]);
      // Fails closed: the rows count only if the transaction opened bound to the tenant, the
      // statement ran in it and it committed.
      const failed = steps.findIndex((step) => step.status === 'rejected');
      if (failed >= 0) {
        const reason = (steps[failed] as PromiseRejectedResult).reason as unknown;
        throw new ReadStepError([begin, sql, 'COMMIT'][failed], reason);
      }
      return (steps[1] as PromiseFulfilledResult<QueryResult>).value.rows as R[];
    } catch (err) {
      // After a failed statement the pipelined COMMIT ends the transaction (as a rollback); if
      // anything is still open, it is rolled back here. A connection that cannot be brought back
      // outside a transaction, or whose prepared statements pg no longer tracks faithfully, is
      // destroyed, never handed to the next request.
      if (!broken && client.getTransactionStatus() !== 'I') {
        await client.query('ROLLBACK').catch((rollbackError: unknown) => {
          broken = asError(rollbackError);
        });
      }
      const cause = err instanceof ReadStepError ? err.cause : err;
      if (hasUnusableStatement(cause) || !hasSqlState(cause)) broken ??= asError(cause);
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /** The runtime pool of a PostgreSQL server; undefined on the embedded database. */
  private get pool(): Pool | undefined {
    if (this.serverPool === null) this.serverPool = runtimePgPool(this.dataSource);
    return this.serverPool;
  }

  private serverPool: Pool | undefined | null = null;

  /** The request's route class (admin outside a request: CLI and background work). */
  private routeClass() {
    return routeClassOf(contextStoreOf(this.cls)?.[CLS_REQ] as RequestShape | undefined);
  }

  /**
   * `SET LOCAL boards.quota = …` when the request's resolved tenant is this one: its writes are
   * held to its quotas by the usage triggers. Work without a resolved tenant (the platform
   * admin's routes, CLI, import) is not.
   */
  private quotaStatements(tenantId: string): string[] {
    if (!this.config) return [];
    const tenant = contextStoreOf(this.cls)?.resolvedTenant;
    if (tenant?.id !== tenantId) return [];
    return [`SET LOCAL boards.quota = ${quotaSettingLiteral(this.config, tenant)}`];
  }

  /**
   * The statements that open a tenant transaction, one by one: START TRANSACTION, the tenant (a
   * UUID checked by the caller, so safe as a literal), the route class's settings (statement
   * timeout; see routeClassStatements) and, with `quota`, the quota (a read needs none).
   */
  private openStatements(tenantId: string, readOnly: boolean, quota: boolean): string[] {
    return [
      `START TRANSACTION${readOnly ? ' READ ONLY' : ''}`,
      `SET LOCAL app.tenant_id = '${tenantId}'`,
      ...(this.config ? routeClassStatements(this.config, this.routeClass()) : []),
      ...(quota ? this.quotaStatements(tenantId) : []),
    ];
  }

  /**
   * Whether the request's resolved tenant is this one and is being moved between databases
   * (`moving`): its transactions are READ ONLY, so no write lands in the copy's source after it
   * was read (a write is refused with SQLSTATE 25006, answered 503 tenant_moving).
   */
  private moving(tenantId: string): boolean | undefined {
    const store = contextStoreOf(this.cls);
    if (!store) return undefined;
    const tenant = store.resolvedTenant;
    return tenant?.id === tenantId ? tenant.status === 'moving' : undefined;
  }

  /** The registry's word on whether the tenant is being moved (one indexed read). */
  private async movingInRegistry(tenantId: string): Promise<boolean> {
    const [row] = (await this.dataSource.query('SELECT status FROM tenants WHERE id = $1', [
      tenantId,
    ])) as { status: string }[];
    return row?.status === 'moving';
  }

  get inTransaction(): boolean {
    return contextStoreOf(this.cls)?.entityManager !== undefined;
  }

  /**
   * Names `sql`, a write or lock statement of a repository (TenantScopedRepository.execute), so
   * that on a PostgreSQL server it runs as a named prepared statement of its connection (see
   * preparedStatementName): PostgreSQL then parses it, applies row-level security to it and plans
   * it once per connection instead of on every request. The server pools' client sends it by that
   * name (GuardedPgClient, holdTransactionOpen). Nothing with BOARDS_DATABASE_PREPARED_STATEMENTS
   * false.
   */
  prepareStatement(sql: string): void {
    if (this.prepares) preparedStatementName(sql, 'write');
  }

  /**
   * Runs `work` in a transaction bound to `tenantId`. Called again inside an open transaction of
   * the same tenant, it reuses it; for another tenant it refuses. With `lastStatementCommits`
   * (a request's own transaction, TenantTransactionInterceptor), a statement its work marks as
   * the last (`lastStatement`) may carry the COMMIT.
   */
  async run<T>(
    tenantId: string,
    work: (manager: EntityManager) => Promise<T>,
    options?: { readonly lastStatementCommits?: boolean },
  ): Promise<T> {
    if (!UUID.test(tenantId)) throw new TenantContextMissingError('a well-formed tenant id');
    if (this.inTransaction) {
      if (contextStoreOf(this.cls)?.tenantId !== tenantId) {
        throw new TenantContextMissingError('a second tenant inside an open tenant transaction');
      }
      return work(this.manager);
    }
    const lastStatementCommits = options?.lastStatementCommits === true;
    const execute = () => this.transaction(tenantId, work, lastStatementCommits);
    return this.cls.isActive() ? execute() : this.cls.run(execute);
  }

  /**
   * For a repository statement its caller marks as the last of the open transaction
   * (TenantScopedRepository.execute with `last`): the transaction's FinalStatement, which sends
   * it with the COMMIT in one round trip. Undefined (the statement goes as any other, the
   * transaction commits when its work returns) unless the transaction is a request's own on a
   * PostgreSQL server in the shared layout and nothing in it said statements follow the
   * handler's (statementsFollow). After that statement committed, any other statement in the
   * transaction fails instead of running outside it.
   */
  lastStatement(): FinalStatement | undefined {
    return contextStoreOf(this.cls)?.finalStatement as FinalStatement | undefined;
  }

  /**
   * Says that the open transaction runs statements after its handler's (the Idempotency-Key
   * record): no statement of the handler may carry its COMMIT. Call before the handler runs.
   */
  statementsFollow(): void {
    const store = contextStoreOf(this.cls);
    if (store) store.finalStatement = undefined;
  }

  private async transaction<T>(
    tenantId: string,
    work: (manager: EntityManager) => Promise<T>,
    lastStatementCommits = false,
  ): Promise<T> {
    const release = await this.placesFor(tenantId);
    try {
      const routeClass = this.routeClass();
      // The admin class may run longer than the pool's read timeout allows (see poolReadTimeout).
      return routeClass === 'admin' && this.config
        ? await queryReadTimeout.run(
            readTimeoutFor(this.config.database.statementTimeouts.admin),
            () => this.transactionOn(tenantId, work, lastStatementCommits),
          )
        : await this.transactionOn(tenantId, work, lastStatementCommits);
    } finally {
      release();
    }
  }

  private async transactionOn<T>(
    tenantId: string,
    work: (manager: EntityManager) => Promise<T>,
    lastStatementCommits: boolean,
  ): Promise<T> {
    if (!this.router) {
      return this.transactionOnSource(this.dataSource, tenantId, false, work, lastStatementCommits);
    }
    // Work without the request's resolved tenant (platform admin routes, the CLI) asks the
    // registry whether the tenant is being moved; a request's tenant comes with its status.
    const readOnly = this.moving(tenantId) ?? (await this.movingInRegistry(tenantId));
    const route = await this.router.route(tenantId);
    try {
      // The registry lives in the control database: its writes (a status change, a deletion) go
      // to a transaction there, bound to the same tenant, opened on first use and committed just
      // before the tenant's own (so a failed registry commit rolls the tenant's work back too).
      // So no statement of the work carries the tenant's COMMIT here (no lastStatementCommits).
      return await this.withRegistryTransaction(tenantId, (registry) =>
        this.transactionOnSource(route.dataSource, tenantId, readOnly, async (manager) => {
          const result = await work(manager);
          await registry.commit();
          return result;
        }),
      );
    } finally {
      route.release();
    }
  }

  /**
   * Runs `work` with a transaction on the control database bound to `tenantId` (opened on first
   * use by a registry repository), committed by `work` or rolled back when it fails.
   */
  private async withRegistryTransaction<T>(
    tenantId: string,
    work: (registry: RegistryTransaction) => Promise<T>,
  ): Promise<T> {
    const registry = new RegistryTransaction(this.dataSource, tenantId);
    const store = writableStoreOf(this.cls);
    const previous = store.registryTransaction;
    store.registryTransaction = registry;
    try {
      return await work(registry);
    } finally {
      store.registryTransaction = previous;
      await registry.end();
    }
  }

  /**
   * Registry work about one tenant that touches none of its own rows (a deletion, a lock of
   * registrations): in the shared layout, the tenant transaction (run); with a database per
   * tenant, a transaction on the control database only, bound to the tenant, so it does not need
   * the tenant's database (which may be down, or not exist yet).
   */
  async runRegistry<T>(tenantId: string, work: () => Promise<T>): Promise<T> {
    if (!UUID.test(tenantId)) throw new TenantContextMissingError('a well-formed tenant id');
    if (!this.router) return this.run(tenantId, () => work());
    const execute = () =>
      this.withRegistryTransaction(tenantId, async (registry) => {
        const result = await work();
        await registry.commit();
        return result;
      });
    return this.cls.isActive() ? execute() : this.cls.run(execute);
  }

  /**
   * The manager registry writes use: the open tenant transaction's (shared layout), or the
   * control database's transaction paired with it (a database per tenant). Fails closed outside
   * a tenant transaction.
   */
  async registryManager(): Promise<EntityManager> {
    if (!this.router) return this.manager;
    const registry = contextStoreOf(this.cls)?.registryTransaction as
      RegistryTransaction | undefined;
    if (!registry) throw new TenantContextMissingError('the tenant transaction');
    return registry.manager();
  }

  /** Whether registry statements have a transaction to run in (see registryManager). */
  get inRegistryTransaction(): boolean {
    if (!this.router) return this.inTransaction;
    return contextStoreOf(this.cls)?.registryTransaction !== undefined;
  }

  /** Whether tenants live in databases of their own (BOARDS_TENANT_ISOLATION=database). */
  get routed(): boolean {
    return this.router !== undefined;
  }

  private async transactionOnSource<T>(
    dataSource: DataSource,
    tenantId: string,
    readOnly: boolean,
    work: (manager: EntityManager) => Promise<T>,
    lastStatementCommits = false,
  ): Promise<T> {
    // Before the connection is taken: outside a context this throws with nothing to release.
    const store = writableStoreOf(this.cls);
    const runner = dataSource.createQueryRunner();
    const client = (await runner.connect()) as unknown;
    const previousTenant = store.tenantId;
    const previousFinal = store.finalStatement;
    let held: HeldOpen | undefined;
    let final: FinalStatement | undefined;
    let broken: Error | undefined;
    try {
      const open = this.openStatements(tenantId, readOnly, true);
      if (poolOf(dataSource)) {
        // On a server, the open waits for the first statement and goes in its round trip
        // (holdTransactionOpen): a write transaction costs two round trips, the statement with
        // its open and the COMMIT (one when its only statement is its last, lastStatement); the
        // statement never runs unless the open succeeded.
        held = holdTransactionOpen(client as PoolClient, open);
        // A request's last statement may carry the COMMIT too: one round trip (lastStatement).
        if (lastStatementCommits) final = finalStatementOn(client as PoolClient, held);
      } else {
        // The embedded database: one round trip opens the transaction and binds it.
        await runner.query(open.join('; '));
      }
      markTransactionOpen(runner);
      store.tenantId = tenantId;
      store.entityManager = runner.manager;
      store.finalStatement = final;
      const result = await work(runner.manager);
      if (final?.carried) {
        // The last statement carried the COMMIT: its answer ends the transaction. Work that
        // swallowed that statement's failure does not commit what came before it.
        await final.settled();
        if (!final.committed) {
          // As a COMMIT that fails (commitTransaction): TypeORM's error around the driver's.
          throw new QueryFailedError(
            'COMMIT',
            undefined,
            asError(final.failure ?? "the last statement's COMMIT did not commit"),
          );
        }
        markTransactionClosed(runner);
      } else if (held && !(await sentOrSettled(held))) {
        // No statement went out: there is no transaction to commit.
        markTransactionClosed(runner);
      } else if (held) {
        await commitTransaction(runner);
      } else {
        await runner.commitTransaction();
      }
      return result;
    } catch (err) {
      if (final?.carried) {
        // A COMMIT on its way cannot be called back: wait for its answer. Committed (the work
        // failed after its last statement, or while it was out), there is nothing to roll back;
        // otherwise the rollback goes through.
        await final.settled();
        if (final.committed) markTransactionClosed(runner);
        else final.release();
      } else if (held && !(await sentOrSettled(held))) markTransactionClosed(runner);
      if (runner.isTransactionActive) {
        await runner.rollbackTransaction().catch((rollbackError: unknown) => {
          broken = asError(rollbackError);
        });
      }
      throw err;
    } finally {
      // The hold never outlives the transaction: the connection goes back without it.
      held?.cancel();
      // A statement of the work still on its way through TypeORM (which awaits before it calls
      // the client) meets the refusal, not a connection back in the pool (see sentOrSettled).
      if (final?.committed) await new Promise((resolve) => setImmediate(resolve));
      final?.release();
      store.entityManager = undefined;
      store.finalStatement = previousFinal;
      store.tenantId = previousTenant;
      // A connection whose rollback failed may still be inside the transaction, with the tenant
      // set: it is discarded, never handed to the next request.
      if (broken) await discardConnection(runner, broken);
      else await runner.release();
    }
  }
}

/**
 * Whether the held open went out, once statements already on their way have reached the client:
 * TypeORM's query() awaits the connection and its BeforeQuery subscribers (promise jobs) before it
 * calls the client, so work that settles while one of its statements is on that way (a
 * Promise.all that rejects early) would otherwise see nothing sent, release the connection, and
 * let that statement run on it outside the transaction. Still unsent after a turn of the event
 * loop, the hold is removed: nothing of this transaction can open one any more.
 */
async function sentOrSettled(held: HeldOpen): Promise<boolean> {
  if (held.sent) return true;
  await new Promise((resolve) => setImmediate(resolve));
  if (held.sent) return true;
  held.cancel();
  return false;
}

/**
 * A transaction on the control database bound to one tenant (`app.tenant_id`, which the registry
 * write functions require), opened on first use. `commit` commits it if it was opened; `end`
 * rolls back whatever was not committed and returns the connection.
 */
class RegistryTransaction {
  private opened: Promise<QueryRunner> | undefined;
  private done = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly tenantId: string,
  ) {}

  async manager(): Promise<EntityManager> {
    if (this.done) throw new TenantContextMissingError('an open registry transaction');
    this.opened ??= this.open();
    return (await this.opened).manager;
  }

  private async open(): Promise<QueryRunner> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      // The id is a UUID checked by the caller, safe as a literal.
      await runner.query(`START TRANSACTION; SET LOCAL app.tenant_id = '${this.tenantId}'`);
      markTransactionOpen(runner);
      return runner;
    } catch (err) {
      await runner.release();
      throw err;
    }
  }

  async commit(): Promise<void> {
    if (this.done) return;
    this.done = true;
    if (this.opened) await (await this.opened).commitTransaction();
  }

  async end(): Promise<void> {
    this.done = true;
    if (!this.opened) return;
    let runner: QueryRunner;
    try {
      runner = await this.opened;
    } catch {
      return;
    }
    let broken: Error | undefined;
    if (runner.isTransactionActive) {
      await runner.rollbackTransaction().catch((err: unknown) => {
        broken = asError(err);
      });
    }
    if (broken) await discardConnection(runner, broken);
    else await runner.release();
  }
}

const pools = new WeakMap<DataSource, Pool | undefined>();

/** The pg pool of a tenant's own data source (looked up once per data source). */
function poolOf(dataSource: DataSource): Pool | undefined {
  if (!pools.has(dataSource)) pools.set(dataSource, runtimePgPool(dataSource));
  return pools.get(dataSource);
}

/** A failed step of a pipelined read: the statement text it sent and the driver's error. */
class ReadStepError extends Error {
  constructor(
    readonly text: string,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

export interface ReadOptions {
  /**
   * false: never as a named prepared statement, so every run is planned with its parameters (a
   * search pattern: a generic plan cannot know which index suits it).
   */
  readonly prepare?: boolean;
  /**
   * true: the statement is a search, drawn from the tenant's search budget and search share
   * (BOARDS_SEARCH_MS_PER_SECOND, BOARDS_DATABASE_TENANT_SEARCH_PERCENT).
   */
  readonly search?: boolean;
}

/** node-postgres' query config with its `queryMode` option, which @types/pg does not list. */
type ExtendedQueryConfig = QueryConfig & { queryMode?: 'extended' };
