import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { ApiErrors } from 'src/common/api-error.response';
import { TenantBoundApi } from 'src/common/decorators/tenant-bound-api.decorator';
import { BoardsConfig } from 'src/core/config/boards-config';
import { TenantContext } from 'src/core/context/tenant-context';
import { effectiveQuotas } from 'src/core/database/transaction-settings';
import { TenantUsageResponse } from './dto/tenant-quotas.dto';
import { TenantUsageRepository } from './tenant-usage.repository';
import { TenantErrors } from './tenants.errors';

/** The caller's tenant's quotas and what it uses of them (tenant admins). */
@TenantBoundApi('tenant membership')
@Controller('tenant')
export class TenantUsageController {
  constructor(
    private readonly context: TenantContext,
    private readonly usages: TenantUsageRepository,
    private readonly config: BoardsConfig,
  ) {}

  @Get('usage')
  @ApiOperation({
    summary: "The organization's quotas, each with its limit and what is used (tenant admins)",
    operationId: 'getTenantUsage',
  })
  @ApiOkResponse({ type: TenantUsageResponse })
  @ApiErrors('tenant_admin_required')
  async usage(): Promise<TenantUsageResponse> {
    const actor = this.context.actor();
    if (actor.tenantRole !== 'admin') throw TenantErrors.tenantAdminRequired();
    const { tenant } = this.context.resolved();
    const usage = await this.usages.usage(actor.tenantId);
    const limits = effectiveQuotas(this.config.quotas, tenant.quotas);
    return {
      boards: { limit: limits.boards, used: usage.boards },
      generations_per_board: {
        limit: limits.generations_per_board,
        used: usage.fullestGenerations,
      },
      members_per_board: { limit: limits.members_per_board, used: usage.fullestMembers },
      stored_bytes: { limit: limits.stored_bytes, used: usage.storedBytes },
    };
  }
}
