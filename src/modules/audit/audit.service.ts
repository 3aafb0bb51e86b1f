import { Injectable } from '@nestjs/common';
import { decodeCursor, toPage } from 'src/common/pagination';
import { BoardsConfig } from 'src/core/config/boards-config';
import { TenantContext } from 'src/core/context/tenant-context';
import type { AuditOutcome } from './audit-event.entity';
import { AuditRepository } from './audit.repository';
import {
  toAuditEventResponse,
  type AuditEventPageResponse,
  type ListAuditEventsQuery,
} from './dto/audit-event.response';

export interface AuditEntry {
  readonly tenantId: string;
  readonly action: string;
  readonly targetType: string;
  readonly targetId?: string | null;
  readonly outcome?: AuditOutcome;
  readonly details?: Record<string, unknown>;
  /** Defaults to the request's user and principal. */
  readonly actorId?: string | null;
}

/**
 * Audit events (BOARDS_ENABLE_AUDIT_LOGGING=true): one append-only row per tenant-management
 * action and board mutation, written in the same transaction as the change it records.
 */
@Injectable()
export class AuditService {
  constructor(
    private readonly config: BoardsConfig,
    private readonly context: TenantContext,
    private readonly audit: AuditRepository,
  ) {}

  get enabled(): boolean {
    return this.config.observability.auditLogging;
  }

  /** Records inside the open tenant transaction of `entry.tenantId`; a no-op when auditing is off. */
  async record(entry: AuditEntry): Promise<void> {
    if (!this.enabled) return;
    const principal = this.context.principal;
    await this.audit.insert({
      tenantId: entry.tenantId,
      actorId: entry.actorId !== undefined ? entry.actorId : (this.context.optionalUserId ?? null),
      actorSubject: principal ? `${principal.provider}:${principal.subject}`.slice(0, 255) : null,
      action: entry.action,
      targetType: entry.targetType,
      targetId: entry.targetId ?? null,
      outcome: entry.outcome ?? 'success',
      requestId: this.context.requestId ?? null,
      ip: this.context.clientIp ?? null,
      details: entry.details ?? {},
    });
  }

  async list(tenantId: string, query: ListAuditEventsQuery): Promise<AuditEventPageResponse> {
    const limit = query.limit ?? 50;
    const rows = await this.audit.list({
      tenantId,
      action: query.action,
      limit,
      after: query.cursor ? decodeCursor(query.cursor) : undefined,
    });
    return toPage(
      rows,
      limit,
      (e) => ({ value: e.createdAt.toISOString(), id: e.id }),
      toAuditEventResponse,
    );
  }
}
