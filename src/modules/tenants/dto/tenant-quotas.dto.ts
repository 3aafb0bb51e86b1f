import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/**
 * A tenant's quota overrides (platform admins). A quota left out has the configured default
 * (BOARDS_QUOTA_*); sending the object replaces the overrides, so `{}` restores every default.
 */
export class TenantQuotasDto {
  @ApiPropertyOptional({ minimum: 0, description: 'Boards in the organization' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100_000_000)
  boards?: number;

  @ApiPropertyOptional({ minimum: 0, description: 'Generations on one board' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100_000_000)
  generations_per_board?: number;

  @ApiPropertyOptional({ minimum: 0, description: 'Members of one board' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(10_000_000)
  members_per_board?: number;

  @ApiPropertyOptional({
    minimum: 0,
    description: 'Bytes of stored text and JSON of boards and generations',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
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
