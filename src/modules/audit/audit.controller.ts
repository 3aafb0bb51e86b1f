import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { ApiErrors, LIST_QUERY_ERRORS } from 'src/common/api-error.response';
import { TenantBoundApi } from 'src/common/decorators/tenant-bound-api.decorator';
import { TenantContext } from 'src/core/context/tenant-context';
import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';
import { AuditService } from './audit.service';
import { AuditEventPageResponse, ListAuditEventsQuery } from './dto/audit-event.response';

@TenantBoundApi('audit')
@Controller('audit-events')
export class AuditController {
  constructor(
    private readonly audit: AuditService,
    private readonly context: TenantContext,
  ) {}

  @Get()
  @ApiOperation({
    summary: "The tenant's audit events, newest first (tenant admins)",
    operationId: 'listAuditEvents',
  })
  @ApiOkResponse({ type: AuditEventPageResponse })
  @ApiErrors(...LIST_QUERY_ERRORS, 'audit_logging_disabled', 'tenant_admin_required')
  list(@Query() query: ListAuditEventsQuery): Promise<AuditEventPageResponse> {
    if (!this.audit.enabled)
      throw new DomainError(
        ErrorCode.NotFound,
        'audit_logging_disabled',
        'Audit logging is not enabled on this server.',
      );
    const actor = this.context.actor();
    if (actor.tenantRole !== 'admin')
      throw new DomainError(
        ErrorCode.Forbidden,
        'tenant_admin_required',
        'Only tenant admins may read audit events.',
      );
    return this.audit.list(actor.tenantId, query);
  }
}
