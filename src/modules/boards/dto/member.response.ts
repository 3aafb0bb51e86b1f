import { ApiProperty } from '@nestjs/swagger';
import { BOARD_ROLES, type BoardRole } from '../board-member.entity';
import type { MemberView } from '../board-members.repository';
import { PublicProfileResponse } from './public-profile.response';

export class MemberResponse {
  @ApiProperty({ format: 'uuid' })
  user_id: string;

  @ApiProperty({ enum: BOARD_ROLES })
  role: BoardRole;

  @ApiProperty({ type: PublicProfileResponse })
  user: PublicProfileResponse;

  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  invited_by: string | null;

  @ApiProperty({ format: 'date-time' })
  joined_at: string;
}

export class MemberListResponse {
  @ApiProperty({ type: [MemberResponse] })
  items: MemberResponse[];

  @ApiProperty({ type: PublicProfileResponse, nullable: true })
  owner: PublicProfileResponse | null;
}

export function toMemberResponse(view: MemberView): MemberResponse {
  return {
    user_id: view.member.userId,
    role: view.member.role,
    user: view.profile,
    invited_by: view.member.invitedBy,
    joined_at: view.member.joinedAt.toISOString(),
  };
}
