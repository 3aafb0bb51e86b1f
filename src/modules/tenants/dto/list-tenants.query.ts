import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { EnumFilter, PageLimit } from 'src/common/decorators/dto-fields.decorator';
import { TENANT_STATUSES, type TenantStatus } from 'src/core/context/records';

export class ListTenantsQuery {
  @EnumFilter(TENANT_STATUSES)
  status?: TenantStatus;

  @PageLimit({ default: 20 })
  limit?: number;

  @ApiPropertyOptional({ minimum: 0, default: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  offset?: number;
}
