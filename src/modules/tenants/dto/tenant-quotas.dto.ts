import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { decoratorStack } from 'src/common/decorators/decorator-stack';

/** A quota override: an integer from 0 to `max`, or left out for the configured default. */
function QuotaOverride(max: number, description: string): PropertyDecorator {
  return decoratorStack(
    ApiPropertyOptional({ minimum: 0, description }),
    IsOptional(),
    IsInt(),
    Min(0),
    Max(max),
  );
}

/**
 * A tenant's quota overrides (platform admins). A quota left out has the configured default
 * (BOARDS_QUOTA_*); sending the object replaces the overrides, so `{}` restores every default.
 */
export class TenantQuotasDto {
  @QuotaOverride(100_000_000, 'Boards in the organization')
  boards?: number;

  @QuotaOverride(100_000_000, 'Generations on one board')
  generations_per_board?: number;

  @QuotaOverride(10_000_000, 'Members of one board')
  members_per_board?: number;

  @QuotaOverride(Number.MAX_SAFE_INTEGER, 'Bytes of stored text and JSON of boards and generations')
  stored_bytes?: number;
}

export class QuotaUsageResponse {
  @ApiProperty({ description: 'The limit in force (the override, else the default)' })
  limit: number;

  @ApiProperty({
    description: 'What is used now; for a per-board quota, the fullest board of the organization',
  })
  used: number;
}

/** GET /api/tenant/usage: each quota with its limit and what is used. */
export class TenantUsageResponse {
  @ApiProperty({ type: QuotaUsageResponse })
  boards: QuotaUsageResponse;

  @ApiProperty({ type: QuotaUsageResponse })
  generations_per_board: QuotaUsageResponse;

  @ApiProperty({ type: QuotaUsageResponse })
  members_per_board: QuotaUsageResponse;

  @ApiProperty({ type: QuotaUsageResponse })
  stored_bytes: QuotaUsageResponse;
}
