import { Injectable, SetMetadata, type CallHandler, type ExecutionContext } from '@nestjs/common';
import { from, lastValueFrom, type Observable } from 'rxjs';
import { TenantContext } from 'src/core/context/tenant-context';
import type { AroundInterceptor } from 'src/core/http/around-interceptor';
import { TenantTransactions } from './tenant-transactions';

const READ_ONLY_ROUTE = 'boards:read-only-route';

/**
 * The request's own transaction: its work is the handler (and the interceptors inside this one),
 * so a statement the handler marks as its last may carry the COMMIT (TenantTransactions.run).
 */
const REQUEST_TRANSACTION = { lastStatementCommits: true } as const;

/**
 * Marks a handler that only reads, each read through TenantTransactions.read: the request opens no
 * transaction of its own, and every read runs in a read-only tenant transaction sent in one round
 * trip. The transaction manager stays unavailable to such a handler (it throws), so a write there
 * fails instead of running outside a tenant transaction.
 */
export const ReadOnlyRoute = (): MethodDecorator => SetMetadata(READ_ONLY_ROUTE, true);

/**
 * Wraps a request that the tenant guard bound to a tenant in one tenant transaction: the handler's
 * database work commits together, or not at all (with its last statement when the handler marks
 * one and no interceptor inside runs statements after it, TenantTransactions.lastStatement).
 * Requests without a tenant (health, setup status) and @ReadOnlyRoute handlers pass through
 * untouched.
 */
@Injectable()
export class TenantTransactionInterceptor implements AroundInterceptor {
  constructor(
    private readonly context: TenantContext,
    private readonly transactions: TenantTransactions,
  ) {}

  intercept(execution: ExecutionContext, next: CallHandler): Observable<unknown> {
    const tenantId = this.transactionTenant(execution);
    if (!tenantId) return next.handle();
    return from(
      this.transactions.run(
        tenantId,
        () => lastValueFrom(next.handle(), { defaultValue: undefined }),
        REQUEST_TRANSACTION,
      ),
    );
  }

  around(execution: ExecutionContext, proceed: () => Promise<unknown>): Promise<unknown> {
    const tenantId = this.transactionTenant(execution);
    return tenantId ? this.transactions.run(tenantId, proceed, REQUEST_TRANSACTION) : proceed();
  }

  /** The tenant whose transaction wraps this request; undefined: none is opened. */
  private transactionTenant(execution: ExecutionContext): string | undefined {
    const tenantId = this.context.optionalTenantId;
    return tenantId && !isReadOnlyRoute(execution.getHandler()) ? tenantId : undefined;
  }
}

export function isReadOnlyRoute(handler: object): boolean {
  return Reflect.getMetadata(READ_ONLY_ROUTE, handler) === true;
}
