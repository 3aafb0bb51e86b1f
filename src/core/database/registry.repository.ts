import { Injectable } from '@nestjs/common';
import {
  DataSource,
  type EntityManager,
  type EntityTarget,
  type ObjectLiteral,
  type Repository,
} from 'typeorm';
import { TenantTransactions } from './tenant-transactions';

/** Where a registry statement runs: the pool, or the open tenant transaction. */
export type RegistrySession = 'auto' | 'transaction' | 'pool';

/**
 * The base of repositories of platform tables (the tenant registry `tenants`, `tenant_domains`,
 * quarantined slugs): tables without row-level security and without one tenant's rows, where every
 * statement names the tenant it is about, and whose writes the runtime role may only make through
 * the registry's SECURITY DEFINER functions. Tenant tables go through TenantScopedRepository
 * instead; `.query(` and `createQueryBuilder(` stay in core/database (eslint.boundaries.mjs).
 *
 * Statements run in the open tenant transaction when there is one ('auto': a second connection
 * would not see its writes, and the embedded database has only one session), else on the pool.
 * With a database per tenant (BOARDS_TENANT_ISOLATION=database) the registry stays in the control
 * database: "the tenant transaction" is then the control transaction paired with it
 * (TenantTransactions.registryManager), never the tenant's own database.
 */
@Injectable()
export abstract class RegistryRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly transactions: TenantTransactions,
  ) {}

  /** Plain SQL on a platform table; `session` says where it runs (see the class comment). */
  protected async sql<R = unknown>(
    sql: string,
    params: readonly unknown[] = [],
    session: RegistrySession = 'auto',
  ): Promise<R> {
    return (await (await this.session(session)).query(sql, params as unknown[])) as R;
  }

  /** A TypeORM repository of a platform entity, on the same session as `sql`. */
  protected async registry<E extends ObjectLiteral>(
    entity: EntityTarget<E>,
    session: RegistrySession = 'auto',
  ): Promise<Repository<E>> {
    return (await this.session(session)).getRepository(entity);
  }

  private async session(session: RegistrySession): Promise<EntityManager> {
    if (session === 'transaction') return this.transactions.registryManager();
    if (session === 'pool') return this.dataSource.manager;
    return this.transactions.inRegistryTransaction
      ? this.transactions.registryManager()
      : this.dataSource.manager;
  }
}
