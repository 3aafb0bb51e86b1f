import { EnumField } from 'src/common/decorators/dto-fields.decorator';
import { BOARD_ROLES, type BoardRole } from '../board-member.entity';

export class UpdateMemberDto {
  @EnumField(BOARD_ROLES)
  role: BoardRole;
}
