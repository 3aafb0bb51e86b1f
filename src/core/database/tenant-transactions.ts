import { Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import type { Pool, QueryResult } from 'pg';
import { DataSource, QueryFailedError, type EntityManager, type QueryRunner } from 'typeorm';
import type { TenantContextStore } from 'src/core/context/tenant-context';
import { TenantContextMissingError } from 'src/core/errors/domain-error';
import { FAST_TYPES } from './fast-timestamptz';

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

  /**
   * One read statement in a tenant transaction. Inside an open tenant transaction (of the same
   * tenant) it runs there. Outside one — on @ReadOnlyRoute handlers, and for the user lookup of the guards — it opens a
   * read-only transaction of its own and sends the whole of it in one round trip:
   * `START TRANSACTION READ ONLY; SELECT set_config('app.tenant_id', …, true); <sql>; COMMIT`.
   * The setting is transaction-local as always and row-level security applies to `sql`; the
   * parameters are inlined as escaped literals (see inlineParameters), because the simple
   * protocol that carries several statements takes no parameters. Timestamps are parsed by
   * parseTimestamptz. On the embedded database it falls back to an ordinary tenant transaction.
   */
  async read<R>(tenantId: string, sql: string, params: readonly unknown[]): Promise<R[]> {
    if (!UUID.test(tenantId)) throw new TenantContextMissingError('a well-formed tenant id');
    const pool = this.pool;
    // Values a literal cannot carry (a NUL character, which PostgreSQL refuses in text anyway)
    // go the parameterized way, so the database's own answer (and its 4xx mapping) is kept.
    if (this.inTransaction || !pool || !params.every(isInlinable)) {
      return this.run(tenantId, (manager) => manager.query(sql, params as unknown[]));
    }
    // One statement per line, so that a trailing `--` comment in `sql` cannot swallow the COMMIT.
    const text =
      `START TRANSACTION READ ONLY;\nSELECT set_config('app.tenant_id', '${tenantId}', true);\n` +
      `${inlineParameters(sql, params)}\n;\nCOMMIT`;
    const client = await pool.connect();
    let broken: Error | undefined;
    // A connection lost while checked out emits 'error' on the client; without a listener that
    // would be an uncaught exception. The failing query rejects as well, which is what we act on.
    const onError = (err: Error) => {
      broken ??= err;
    };
    client.on('error', onError);
    try {
      const results = (await client.query({ text, types: FAST_TYPES })) as unknown as QueryResult[];
      return results[2].rows as R[];
    } catch (err) {
      // An error inside the multi-statement text leaves the transaction open and failed.
      await client.query('ROLLBACK').catch((rollbackError: unknown) => {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      });
      throw err instanceof Error ? new QueryFailedError(sql, params as unknown[], err) : err;
    } finally {
      client.off('error', onError);
      // A connection whose rollback failed is destroyed, never handed to the next request.
      client.release(broken);
    }
  }

  /** The runtime pool of a PostgreSQL server; undefined on the embedded database. */
  private get pool(): Pool | undefined {
    if (this.serverPool === null) {
      const master = (this.dataSource.driver as unknown as { master?: unknown }).master;
      this.serverPool = isPgPool(master) ? master : undefined;
    }
    return this.serverPool;
  }

  private serverPool: Pool | undefined | null = null;

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

function isPgPool(value: unknown): value is Pool {
  const pool = value as Partial<Pool> | undefined;
  return (
    typeof pool?.connect === 'function' &&
    typeof pool.totalCount === 'number' &&
    pool.constructor?.name !== 'EmbeddedPool'
  );
}

/**
 * Replaces $1…$n in `sql` with `params` as SQL literals: strings quoted and escaped as pg's own
 * escapeLiteral does (quotes doubled; with a backslash, an E'' literal with backslashes doubled),
 * integers as digits (negative ones in parentheses), booleans, null, Dates as UTC ISO timestamps
 * (for timestamptz). Anything else is refused. `sql`
 * must be a statement written in the code, with placeholders outside string literals.
 */
export function inlineParameters(sql: string, params: readonly unknown[]): string {
  return sql.replace(/\$(\d+)/g, (_, digits: string) => {
    const index = Number(digits) - 1;
    if (index < 0 || index >= params.length) throw new Error(`no value for $${digits}`);
    return sqlLiteral(params[index]);
  });
}

function isInlinable(value: unknown): boolean {
  return (
    value === null ||
    value === undefined ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isSafeInteger(value)) ||
    (value instanceof Date && !Number.isNaN(value.getTime())) ||
    (typeof value === 'string' && !value.includes('\0'))
  );
}

function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`cannot inline the number ${value}`);
    // Parenthesised when negative, so that `- $1` never becomes a `--` comment.
    return value < 0 ? `(${value})` : String(value);
  }
  if (value instanceof Date) return quoteLiteral(value.toISOString());
  if (typeof value === 'string') return quoteLiteral(value);
  throw new Error(`cannot inline a value of type ${typeof value}`);
}

function quoteLiteral(text: string): string {
  if (text.includes('\0')) throw new Error('cannot inline a string with a NUL character');
  const quoted = `'${text.replace(/'/g, "''")}'`;
  return text.includes('\\') ? ` E${quoted.replace(/\\/g, '\\\\')}` : quoted;
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
