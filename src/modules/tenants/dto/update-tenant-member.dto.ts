import { EnumField } from 'src/common/decorators/dto-fields.decorator';
import type { TenantRole } from 'src/core/context/tenant-context';

export class UpdateTenantMemberDto {
  @EnumField(['admin', 'member'])
  role: TenantRole;
}
