import { TENANT_ROLES } from 'src/core/context/records';
import { EnumField } from 'src/common/decorators/dto-fields.decorator';
import type { TenantRole } from 'src/core/context/tenant-context';

export class UpdateTenantMemberDto {
  @EnumField(TENANT_ROLES)
  role: TenantRole;
}
