import { Body, Controller, Delete, Get, HttpCode, Patch, Post } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { ApiErrors, JSON_BODY_ERRORS } from 'src/common/api-error.response';
import { TenantBoundApi } from 'src/common/decorators/tenant-bound-api.decorator';
import { UuidParam } from 'src/common/uuid-param';
import { TenantContext } from 'src/core/context/tenant-context';
import { BoardMembersService } from './board-members.service';
import { AddMemberDto } from './dto/add-member.dto';
import { MemberListResponse, MemberResponse } from './dto/member.response';
import { UpdateMemberDto } from './dto/update-member.dto';
import { IdempotentWrite } from './idempotent-write.decorator';

@TenantBoundApi('members')
@Controller('boards/:board_id/members')
export class BoardMembersController {
  constructor(
    private readonly members: BoardMembersService,
    private readonly context: TenantContext,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'List the members of a board (public profile fields only)',
    operationId: 'listBoardMembers',
  })
  @ApiOkResponse({ type: MemberListResponse })
  @ApiErrors('invalid_uuid', 'board_not_found')
  list(@UuidParam('board_id') boardId: string): Promise<MemberListResponse> {
    return this.members.list(this.context.actor(), boardId);
  }

  @Post()
  @IdempotentWrite()
  @ApiOperation({
    summary: 'Add a user of the organization to the board',
    operationId: 'addBoardMember',
  })
  @ApiCreatedResponse({ type: MemberResponse })
  @ApiErrors(
    'invalid_uuid',
    ...JSON_BODY_ERRORS,
    'board_not_found',
    'board_permission_denied',
    'user_not_found',
    'owner_cannot_be_member',
    'already_a_member',
    'quota_exceeded',
  )
  add(@UuidParam('board_id') boardId: string, @Body() dto: AddMemberDto): Promise<MemberResponse> {
    return this.members.add(this.context.actor(), boardId, dto);
  }

  @Patch(':user_id')
  @ApiOperation({
    summary: "Change a member's role (owner or board admin)",
    operationId: 'updateBoardMember',
  })
  @ApiOkResponse({ type: MemberResponse })
  @ApiErrors(
    'invalid_uuid',
    ...JSON_BODY_ERRORS,
    'board_not_found',
    'board_permission_denied',
    'board_member_not_found',
  )
  changeRole(
    @UuidParam('board_id') boardId: string,
    @UuidParam('user_id') userId: string,
    @Body() dto: UpdateMemberDto,
  ): Promise<MemberResponse> {
    return this.members.changeRole(this.context.actor(), boardId, userId, dto);
  }

  @Delete(':user_id')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Remove a member (owner or board admin), or leave the board',
    operationId: 'removeBoardMember',
  })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiErrors('invalid_uuid', 'board_not_found', 'board_permission_denied', 'board_member_not_found')
  async remove(
    @UuidParam('board_id') boardId: string,
    @UuidParam('user_id') userId: string,
  ): Promise<void> {
    await this.members.remove(this.context.actor(), boardId, userId);
  }
}
