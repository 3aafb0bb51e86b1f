import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from 'src/common/api-error.response';
import { BoardsConfig } from 'src/core/config/boards-config';
import { TenantContext } from 'src/core/context/tenant-context';
import { TenantTransactions } from 'src/core/database/tenant-transactions';
import { effectiveQuotas } from 'src/core/database/transaction-settings';
import { TenantUsageResponse } from './dto/tenant-quotas.dto';
import { TenantErrors } from './tenants.errors';

interface UsageRow {
  boards: number;
  stored_bytes: string;
  fullest_generations: number;
  fullest_members: number;
}

/** The caller's tenant's quotas and what it uses of them (tenant admins). */
@ApiTags('tenant membership')
@ApiBearerAuth()
@ApiHeader({
  name: 'X-Tenant',
  required: false,
  description: 'Tenant slug, when the token does not name one',
})
@ApiErrors(401)
@Controller('tenant')
export class TenantUsageController {
  constructor(
    private readonly context: TenantContext,
    private readonly transactions: TenantTransactions,
    private readonly config: BoardsConfig,
  ) {}

  @Get('usage')
  @ApiOperation({
    summary: "The organization's quotas, each with its limit and what is used (tenant admins)",
    operationId: 'getTenantUsage',
  })
  @ApiOkResponse({ type: TenantUsageResponse })
  @ApiErrors(403)
  async usage(): Promise<TenantUsageResponse> {
    const actor = this.context.actor();
    if (actor.tenantRole !== 'admin') throw TenantErrors.tenantAdminRequired();
    const { tenant } = this.context.resolved();
    const [row] = await this.transactions.read<UsageRow>(
      actor.tenantId,
      `SELECT coalesce(u.boards, 0) AS boards, coalesce(u.stored_bytes, 0)::text AS stored_bytes,
              coalesce((SELECT max(generation_count) FROM boards WHERE tenant_id = $1), 0) AS fullest_generations,
              coalesce((SELECT max(member_count) FROM boards WHERE tenant_id = $1), 0) AS fullest_members
         FROM (SELECT $1::uuid AS tenant_id) t
         LEFT JOIN tenant_usage u ON u.tenant_id = t.tenant_id`,
      [actor.tenantId],
    );
    const limits = effectiveQuotas(this.config.quotas, tenant.quotas);
    return {
      boards: { limit: limits.boards, used: row.boards },
      generations_per_board: {
        limit: limits.generations_per_board,
        used: row.fullest_generations,
      },
      members_per_board: { limit: limits.members_per_board, used: row.fullest_members },
      stored_bytes: { limit: limits.stored_bytes, used: Number(row.stored_bytes) },
    };
  }
}
