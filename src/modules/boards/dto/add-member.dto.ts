import { OptionalNonNull } from 'src/common/optional-non-null.decorator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsUUID } from 'class-validator';
import { BOARD_ROLES, type BoardRole } from '../board-member.entity';

export class AddMemberDto {
  @ApiProperty({ format: 'uuid', description: 'A user of the same organization' })
  @IsUUID()
  user_id: string;

  @ApiPropertyOptional({ enum: BOARD_ROLES, default: 'viewer' })
  @OptionalNonNull()
  @IsIn(BOARD_ROLES)
  role?: BoardRole;
}
