import { ApiProperty } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import { BOARD_ROLES, type BoardRole } from '../board-member.entity';

export class UpdateMemberDto {
  @ApiProperty({ enum: BOARD_ROLES })
  @IsIn(BOARD_ROLES)
  role: BoardRole;
}
