import { Injectable } from '@nestjs/common';
import type {
  EntityManager,
  EntityTarget,
  ObjectLiteral,
  Repository,
  SelectQueryBuilder,
} from 'typeorm';
import { queryQuietly } from './driver-internals';
import { TenantEntitySubscriber } from './tenant-entity.subscriber';
import { TenantTransactions, type ReadOptions } from './tenant-transactions';

/** A row of a tenant table read with plain SQL: it names its tenant, so it can be checked. */
export interface TenantRow {
  readonly tenant_id: string;
}

/**
 * The one way to tenant tables (DESIGN.md §1): every feature repository of tenant-owned rows
 * extends it, and `.query(` / `createQueryBuilder(` are linted out elsewhere
 * (eslint.boundaries.mjs). It gives
 * - `select`: plain-SQL reads, in the open tenant transaction or (outside one) as a one-round-trip
 *   read of their own; every row must carry `tenant_id` and is checked against the request's
 *   tenant (TenantEntitySubscriber.verifyRead) — the check is not the caller's to remember;
 * - `aggregate`: reads that return no tenant rows (counts, EXISTS), marked as such;
 * - `execute`: writes and locks in the open tenant transaction; rows they return (RETURNING) are
 *   checked like reads;
 * - `entities` and `builder`: TypeORM repositories and query builders on the open transaction,
 *   whose loaded entities the subscriber checks (afterLoad) and whose writes it stamps.
 * Row-level security and the transaction-local tenant setting apply underneath all of them.
 */
@Injectable()
export abstract class TenantScopedRepository {
  constructor(
    private readonly transactions: TenantTransactions,
    private readonly isolation: TenantEntitySubscriber,
  ) {}

  /** Rows of `table` for `tenantId`; each one checked. */
  protected async select<R extends TenantRow>(
    table: string,
    tenantId: string,
    sql: string,
    params: readonly unknown[],
    options?: ReadOptions,
  ): Promise<R[]> {
    const rows = await this.transactions.read<R>(tenantId, sql, params, options);
    this.isolation.verifyRead(table, tenantId, rows);
    return rows;
  }

  /** A read whose answer is not tenant rows (a count, EXISTS): nothing to check row by row. */
  protected aggregate<R extends ObjectLiteral>(
    tenantId: string,
    sql: string,
    params: readonly unknown[],
  ): Promise<R[]> {
    return this.transactions.read<R>(tenantId, sql, params);
  }

  /**
   * A write or lock in the open tenant transaction. Rows it returns (RETURNING) are checked as
   * reads are when `returning` names their table and tenant. TypeORM answers an UPDATE or DELETE
   * with `[rows, affected]`. With parameters it runs as a named prepared statement on a PostgreSQL
   * server (TenantTransactions.prepareStatement), so `sql` must be a text of the code, never one
   * built from values. With `last`, the caller says nothing follows this statement in the
   * transaction: in a request's own transaction it may carry the COMMIT
   * (TenantTransactions.lastStatement), and a statement after it fails.
   */
  protected async execute<R = unknown>(
    sql: string,
    params: readonly unknown[],
    returning?: { readonly table: string; readonly tenantId: string },
    options?: { readonly last?: boolean },
  ): Promise<R> {
    this.transactions.prepareStatement(sql);
    const last = options?.last === true ? this.transactions.lastStatement() : undefined;
    const result = await queryQuietly(this.manager, sql, params as unknown[], last);
    if (returning) {
      const rows = Array.isArray(result) && Array.isArray(result[0]) ? result[0] : result;
      if (Array.isArray(rows))
        this.isolation.verifyRead(returning.table, returning.tenantId, rows as TenantRow[]);
    }
    return result as R;
  }

  /** A TypeORM repository on the open tenant transaction. */
  protected entities<E extends ObjectLiteral>(entity: EntityTarget<E>): Repository<E> {
    return this.manager.getRepository(entity);
  }

  /** A query builder for `entity` (alias `alias`) on the open tenant transaction. */
  protected entityQuery<E extends ObjectLiteral>(
    entity: EntityTarget<E>,
    alias: string,
  ): SelectQueryBuilder<E> {
    return this.manager.getRepository(entity).createQueryBuilder(alias);
  }

  /** A query builder on the open tenant transaction. */
  protected builder(): ReturnType<EntityManager['createQueryBuilder']> {
    return this.manager.createQueryBuilder();
  }

  /** Runs `work` in a transaction of `tenantId` (or the open one of the same tenant). */
  protected inTransaction<T>(tenantId: string, work: () => Promise<T>): Promise<T> {
    return this.transactions.run(tenantId, work);
  }

  /** The open tenant transaction's manager; fails closed outside one. */
  private get manager(): EntityManager {
    return this.transactions.manager;
  }
}
