import {
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { from, lastValueFrom, type Observable } from 'rxjs';
import { TenantContext } from 'src/core/context/tenant-context';
import { TenantTransactions } from './tenant-transactions';

/**
 * Wraps a request that the tenant guard bound to a tenant in one tenant transaction: the handler's
 * database work commits together, or not at all. Requests without a tenant (health, setup status)
 * pass through untouched.
 */
@Injectable()
export class TenantTransactionInterceptor implements NestInterceptor {
  constructor(
    private readonly context: TenantContext,
    private readonly transactions: TenantTransactions,
  ) {}

  intercept(_: ExecutionContext, next: CallHandler): Observable<unknown> {
    const tenantId = this.context.optionalTenantId;
    if (!tenantId) return next.handle();
    return from(
      this.transactions.run(tenantId, () =>
        lastValueFrom(next.handle(), { defaultValue: undefined }),
      ),
    );
  }
}
