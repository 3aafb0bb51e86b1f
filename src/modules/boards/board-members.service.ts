import { Injectable } from '@nestjs/common';
import type { Actor } from 'src/core/context/tenant-context';
import { AuditService } from 'src/modules/audit/audit.service';
import { BoardMembersRepository } from './board-members.repository';
import { BoardPermissions } from './board-permissions';
import { BoardErrors } from './boards.errors';
import { BoardsService, relationOf } from './boards.service';
import type { AddMemberDto } from './dto/add-member.dto';
import {
  toMemberResponse,
  type MemberListResponse,
  type MemberResponse,
} from './dto/member.response';
import type { UpdateMemberDto } from './dto/update-member.dto';

@Injectable()
export class BoardMembersService {
  constructor(
    private readonly boards: BoardsService,
    private readonly members: BoardMembersRepository,
    private readonly audit: AuditService,
  ) {}

  async list(actor: Actor, boardId: string): Promise<MemberListResponse> {
    const view = await this.boards.readable(actor, boardId);
    const members = await this.members.list({ tenantId: actor.tenantId, boardId });
    return { items: members.map(toMemberResponse), owner: view.owner };
  }

  /** Owners and admins grant any role; editors add viewers and editors. */
  async add(actor: Actor, boardId: string, dto: AddMemberDto): Promise<MemberResponse> {
    const view = await this.boards.readable(actor, boardId, true);
    const role = dto.role ?? 'viewer';
    const grantable = BoardPermissions.grantableRoles(relationOf(view, actor));
    if (grantable.length === 0) throw BoardErrors.forbidden('add members');
    if (!grantable.includes(role)) throw BoardErrors.forbidden(`grant the ${role} role`);
    const key = { tenantId: actor.tenantId, boardId, userId: dto.user_id };
    if (!(await this.members.findProfile(key))) throw BoardErrors.userNotFound();
    if (dto.user_id === view.board.ownerId) throw BoardErrors.ownerIsNotMember();
    if (!(await this.members.insert({ ...key, role, invitedBy: actor.userId })))
      throw BoardErrors.alreadyMember();
    await this.recordMember(actor, 'board.member.add', boardId, { user_id: dto.user_id, role });
    return this.memberOrFail(key);
  }

  async changeRole(
    actor: Actor,
    boardId: string,
    userId: string,
    dto: UpdateMemberDto,
  ): Promise<MemberResponse> {
    const view = await this.boards.readable(actor, boardId, true);
    if (!BoardPermissions.canManageMembers(relationOf(view, actor)))
      throw BoardErrors.forbidden('change member roles');
    const key = { tenantId: actor.tenantId, boardId, userId };
    if (!(await this.members.updateRole({ ...key, role: dto.role })))
      throw BoardErrors.memberNotFound();
    await this.recordMember(actor, 'board.member.update', boardId, {
      user_id: userId,
      role: dto.role,
    });
    return this.memberOrFail(key);
  }

  /** Owners and admins remove anyone; every member may leave. */
  async remove(actor: Actor, boardId: string, userId: string): Promise<void> {
    const view = await this.boards.readable(actor, boardId, true);
    const leaving = userId === actor.userId;
    if (!leaving && !BoardPermissions.canManageMembers(relationOf(view, actor))) {
      throw BoardErrors.forbidden('remove members');
    }
    if (!(await this.members.delete({ tenantId: actor.tenantId, boardId, userId })))
      throw BoardErrors.memberNotFound();
    await this.recordMember(
      actor,
      leaving ? 'board.member.leave' : 'board.member.remove',
      boardId,
      {
        user_id: userId,
      },
    );
  }

  /** A membership change of the board, in the request's transaction (when auditing is on). */
  private recordMember(
    actor: Actor,
    action:
      'board.member.add' | 'board.member.update' | 'board.member.remove' | 'board.member.leave',
    boardId: string,
    details: Record<string, unknown>,
  ): Promise<void> {
    return this.audit.record({
      tenantId: actor.tenantId,
      action,
      targetType: 'board',
      targetId: boardId,
      details,
    });
  }

  private async memberOrFail(key: {
    tenantId: string;
    boardId: string;
    userId: string;
  }): Promise<MemberResponse> {
    const member = await this.members.find(key);
    if (!member) throw BoardErrors.memberNotFound();
    return toMemberResponse(member);
  }
}
