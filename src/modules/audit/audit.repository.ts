import { Injectable } from '@nestjs/common';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import type { CursorPosition } from 'src/common/pagination';
import { TenantScopedRepository } from 'src/core/database/tenant-scoped.repository';
import { AuditEvent, type AuditOutcome } from './audit-event.entity';

export interface NewAuditEvent {
  readonly tenantId: string;
  readonly actorId: string | null;
  readonly actorSubject: string | null;
  readonly action: string;
  readonly targetType: string;
  readonly targetId: string | null;
  readonly outcome: AuditOutcome;
  readonly requestId: string | null;
  readonly ip: string | null;
  readonly details: Record<string, unknown>;
}

/** Append-only: inserts and reads, in the open tenant transaction. */
@Injectable()
export class AuditRepository extends TenantScopedRepository {
  async insert(event: NewAuditEvent): Promise<void> {
    await this.builder()
      .insert()
      .into(AuditEvent)
      .values(event as QueryDeepPartialEntity<AuditEvent>)
      .execute();
  }

  list(query: {
    tenantId: string;
    action?: string;
    limit: number;
    after?: CursorPosition;
  }): Promise<AuditEvent[]> {
    const builder = this.entityQuery(AuditEvent, 'a').where('a.tenant_id = :tenantId', {
      tenantId: query.tenantId,
    });
    if (query.action) builder.andWhere('a.action = :action', { action: query.action });
    if (query.after) {
      builder.andWhere('(a.created_at, a.id) < (:afterValue, :afterId)', {
        afterValue: query.after.value,
        afterId: query.after.id,
      });
    }
    return builder
      .orderBy('a.created_at', 'DESC')
      .addOrderBy('a.id', 'DESC')
      .limit(query.limit + 1)
      .getMany();
  }
}
