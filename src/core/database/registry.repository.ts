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
    return (await this.session(session).query(sql, params as unknown[])) as R;
  }

  /** A TypeORM repository of a platform entity, on the same session as `sql`. */
  protected registry<E extends ObjectLiteral>(
    entity: EntityTarget<E>,
    session: RegistrySession = 'auto',
  ): Repository<E> {
    return this.session(session).getRepository(entity);
  }

  private session(session: RegistrySession): EntityManager {
    if (session === 'transaction') return this.transactions.manager;
    if (session === 'pool') return this.dataSource.manager;
    return this.transactions.inTransaction ? this.transactions.manager : this.dataSource.manager;
  }
}
