import { Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import { DataSource, type EntityManager } from 'typeorm';
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
    const previousTenant = this.cls.get('tenantId');
    try {
      await runner.startTransaction();
      await runner.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenantId]);
      this.cls.set('tenantId', tenantId);
      this.cls.set('entityManager', runner.manager);
      const result = await work(runner.manager);
      await runner.commitTransaction();
      return result;
    } catch (err) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw err;
    } finally {
      this.cls.set('entityManager', undefined);
      this.cls.set('tenantId', previousTenant);
      await runner.release();
    }
  }
}
