import { OptionalEnumField, UuidField } from 'src/common/decorators/dto-fields.decorator';
import { BOARD_ROLES, type BoardRole } from '../board-member.entity';

export class AddMemberDto {
  @UuidField({ description: 'A user of the same organization' })
  user_id: string;

  @OptionalEnumField(BOARD_ROLES, { default: 'viewer' })
  role?: BoardRole;
}
