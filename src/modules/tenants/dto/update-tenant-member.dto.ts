import { ApiProperty } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import type { TenantRole } from 'src/core/context/tenant-context';

export class UpdateTenantMemberDto {
  @ApiProperty({ enum: ['admin', 'member'] })
  @IsIn(['admin', 'member'])
  role: TenantRole;
}
