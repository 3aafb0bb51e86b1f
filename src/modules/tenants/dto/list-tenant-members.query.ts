import { TENANT_ROLES } from 'src/core/context/records';
import { CursorPageQuery } from 'src/common/cursor-page.query';
import { EnumFilter } from 'src/common/decorators/dto-fields.decorator';
import {
  MEMBERSHIP_SOURCES,
  type MembershipSource,
  type TenantRole,
} from 'src/core/context/tenant-context';

export class ListTenantMembersQuery extends CursorPageQuery {
  @EnumFilter(TENANT_ROLES)
  role?: TenantRole;

  @EnumFilter(MEMBERSHIP_SOURCES.filter((s) => s !== 'removed' && s !== 'system'))
  membership_source?: MembershipSource;
}
