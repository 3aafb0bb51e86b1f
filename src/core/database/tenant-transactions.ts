import { Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import { DataSource, type EntityManager, type QueryRunner } from 'typeorm';
import type { TenantContextStore } from 'src/core/context/tenant-context';
import { TenantContextMissingError } from 'src/core/errors/domain-error';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Runs database work for one tenant in one transaction whose first statement is
 * `set_config('app.tenant_id', $1, true)`. The setting is transaction-local, so a pooled
 * connection never carries a tenant into the next request. Repositories reach the open
 * transaction's manager through `manager`, which throws when no tenant transaction is open.
 */
@Injectable()
export class TenantTransactions {
  constructor(
    private readonly dataSource: DataSource,
    private readonly cls: ClsService,
  ) {}

  /** The open tenant transaction's manager. Fails closed outside one. */
  get manager(): EntityManager {
    const manager = this.cls.isActive()
      ? (this.cls.get('entityManager') as TenantContextStore['entityManager'])
      : undefined;
    if (!manager) throw new TenantContextMissingError('the tenant transaction');
    return manager;
  }

  get inTransaction(): boolean {
    return this.cls.isActive() && this.cls.get('entityManager') !== undefined;
  }

  /**
   * Runs `work` in a transaction bound to `tenantId`. Called again inside an open transaction of
   * the same tenant, it reuses it; for another tenant it refuses.
   */
  async run<T>(tenantId: string, work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (!UUID.test(tenantId)) throw new TenantContextMissingError('a well-formed tenant id');
    if (this.inTransaction) {
      if (this.cls.get('tenantId') !== tenantId) {
        throw new TenantContextMissingError('a second tenant inside an open tenant transaction');
      }
      return work(this.manager);
    }
    const execute = () => this.transaction(tenantId, work);
    return this.cls.isActive() ? execute() : this.cls.run(execute);
  }

  private async transaction<T>(
    tenantId: string,
    work: (manager: EntityManager) => Promise<T>,
  ): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    const previousTenant: unknown = this.cls.get('tenantId');
    let broken: Error | undefined;
    try {
      // One round trip opens the transaction and binds it to the tenant. The id is a UUID checked
      // above, so it is safe as a literal (a parameter would need the extended protocol, which
      // takes one statement per message).
      await runner.query(
        `START TRANSACTION; SELECT set_config('app.tenant_id', '${tenantId}', true)`,
      );
      markTransactionOpen(runner);
      this.cls.set('tenantId', tenantId);
      this.cls.set('entityManager', runner.manager);
      const result = await work(runner.manager);
      await runner.commitTransaction();
      return result;
    } catch (err) {
      if (runner.isTransactionActive) {
        await runner.rollbackTransaction().catch((rollbackError: unknown) => {
          broken =
            rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        });
      }
      throw err;
    } finally {
      this.cls.set('entityManager', undefined);
      this.cls.set('tenantId', previousTenant);
      // A connection whose rollback failed may still be inside the transaction, with the tenant
      // set: it is discarded, never handed to the next request.
      if (broken) await discardConnection(runner, broken);
      else await runner.release();
    }
  }
}

/** Releases the runner's connection with an error, which makes the pool destroy it. */
async function discardConnection(runner: QueryRunner, err: Error): Promise<void> {
  await (
    runner as unknown as { releasePostgresConnection(err: Error): Promise<void> }
  ).releasePostgresConnection(err);
}

/**
 * Tells TypeORM that the runner's transaction is open (as startTransaction() would), so that
 * save() and friends join it instead of opening and committing one of their own, and
 * commitTransaction()/rollbackTransaction() end it.
 */
function markTransactionOpen(runner: QueryRunner): void {
  const state = runner as unknown as { isTransactionActive: boolean; transactionDepth: number };
  state.isTransactionActive = true;
  state.transactionDepth = 1;
}
