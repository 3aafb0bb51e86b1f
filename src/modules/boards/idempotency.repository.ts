import { Injectable } from '@nestjs/common';
import { TenantScopedRepository } from 'src/core/database/tenant-scoped.repository';
import { IdempotencyKey } from './idempotency-key.entity';

export interface IdempotencyScope {
  readonly tenantId: string;
  readonly userId: string;
  readonly key: string;
}

/** Stored responses for Idempotency-Key, written in the same transaction as the request's write. */
/** What is stored of an answer under an Idempotency-Key, to replay it. */
export interface IdempotencyRecord {
  readonly method: string;
  readonly path: string;
  readonly requestHash: string;
  readonly status: number;
  readonly body: unknown;
  readonly headers: Record<string, string>;
}

@Injectable()
export class IdempotencyRepository extends TenantScopedRepository {
  /**
   * Takes the key for this transaction. False when a concurrent request holds it (its transaction
   * is still running).
   */
  async tryLock(scope: IdempotencyScope): Promise<boolean> {
    const [row] = (await this.execute(
      `SELECT pg_try_advisory_xact_lock(hashtextextended($1 || ':' || $2 || ':' || $3, 0)) AS locked`,
      [scope.tenantId, scope.userId, scope.key],
    )) as { locked: boolean }[];
    return row.locked;
  }

  /** The stored, unexpired record; an expired one is deleted and treated as absent. */
  async find(scope: IdempotencyScope): Promise<IdempotencyKey | null> {
    const repository = this.entities(IdempotencyKey);
    const where = { tenantId: scope.tenantId, userId: scope.userId, idempotencyKey: scope.key };
    const record = await repository.findOneBy(where);
    if (record && record.expiresAt.getTime() <= Date.now()) {
      await repository.delete(where);
      return null;
    }
    return record;
  }

  async save(scope: IdempotencyScope, record: IdempotencyRecord): Promise<void> {
    await this.builder()
      .insert()
      .into(IdempotencyKey)
      .values({
        tenantId: scope.tenantId,
        userId: scope.userId,
        idempotencyKey: scope.key,
        method: record.method,
        path: record.path,
        requestHash: record.requestHash,
        responseStatus: record.status,
        responseBody: record.body as object,
        responseHeaders: record.headers,
        expiresAt: () => "now() + interval '24 hours'",
      })
      .execute();
  }
}
