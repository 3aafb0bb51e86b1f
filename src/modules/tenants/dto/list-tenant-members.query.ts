import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { CursorPageQuery } from 'src/common/cursor-page.query';
import {
  MEMBERSHIP_SOURCES,
  type MembershipSource,
  type TenantRole,
} from 'src/core/context/tenant-context';

export class ListTenantMembersQuery extends CursorPageQuery {
  @ApiPropertyOptional({ enum: ['admin', 'member'] })
  @IsOptional()
  @IsIn(['admin', 'member'])
  role?: TenantRole;

  @ApiPropertyOptional({
    enum: MEMBERSHIP_SOURCES.filter((s) => s !== 'removed' && s !== 'system'),
  })
  @IsOptional()
  @IsIn(MEMBERSHIP_SOURCES.filter((s) => s !== 'removed' && s !== 'system'))
  membership_source?: MembershipSource;
}
