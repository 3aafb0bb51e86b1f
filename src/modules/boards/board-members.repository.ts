import { Injectable } from '@nestjs/common';
import { In, Not } from 'typeorm';
import { INACTIVE_SOURCES } from 'src/core/context/tenant-context';
import { TenantScopedRepository } from 'src/core/database/tenant-scoped.repository';
import { User } from 'src/modules/auth/user.entity';
import { BoardMember, type BoardRole } from './board-member.entity';
import type { BoardKey, PublicProfile } from './boards.repository';

export interface MemberKey extends BoardKey {
  readonly userId: string;
}

/** A membership with the member's public profile only (no e-mail, no auth subject). */
export interface MemberView {
  readonly member: BoardMember;
  readonly profile: PublicProfile;
}

@Injectable()
export class BoardMembersRepository extends TenantScopedRepository {
  async list(key: BoardKey): Promise<MemberView[]> {
    const { entities, raw } = await this.entityQuery(BoardMember, 'm')
      .innerJoin(User, 'u', 'u.tenant_id = m.tenant_id AND u.id = m.user_id')
      .addSelect(['u.id', 'u.displayName', 'u.avatarUrl'])
      .where('m.tenant_id = :tenantId AND m.board_id = :boardId', key)
      .orderBy('m.joined_at', 'ASC')
      .addOrderBy('m.id', 'ASC')
      .getRawAndEntities();
    const rows = new Map(
      (
        raw as {
          m_id: string;
          u_id: string;
          u_display_name: string | null;
          u_avatar_url: string | null;
        }[]
      ).map((row) => [row.m_id, row]),
    );
    return entities.map((member) => {
      const row = rows.get(member.id);
      return {
        member,
        profile: {
          id: member.userId,
          display_name: row?.u_display_name ?? null,
          avatar_url: row?.u_avatar_url ?? null,
        },
      };
    });
  }

  async find(key: MemberKey): Promise<MemberView | null> {
    const views = await this.list(key);
    return views.find((view) => view.member.userId === key.userId) ?? null;
  }

  /** The user's public profile when the user is a member of this tenant (not removed, not a system user). */
  async findProfile(key: { tenantId: string; userId: string }): Promise<PublicProfile | null> {
    const user = await this.entities(User).findOne({
      where: {
        tenantId: key.tenantId,
        id: key.userId,
        membershipSource: Not(In([...INACTIVE_SOURCES])),
      },
      select: { tenantId: true, id: true, displayName: true, avatarUrl: true },
    });
    return user
      ? { id: user.id, display_name: user.displayName, avatar_url: user.avatarUrl }
      : null;
  }

  /** Inserts the membership; false when the user is already a member. */
  async insert(key: MemberKey & { role: BoardRole; invitedBy: string }): Promise<boolean> {
    const result = await this.builder()
      .insert()
      .into(BoardMember)
      .values({
        tenantId: key.tenantId,
        boardId: key.boardId,
        userId: key.userId,
        role: key.role,
        invitedBy: key.invitedBy,
      })
      .orIgnore()
      .returning(['id'])
      .execute();
    return (result.raw as unknown[]).length > 0;
  }

  async updateRole(key: MemberKey & { role: BoardRole }): Promise<boolean> {
    const result = await this.builder()
      .update(BoardMember)
      .set({ role: key.role })
      .where('tenant_id = :tenantId AND board_id = :boardId AND user_id = :userId', key)
      .execute();
    return (result.affected ?? 0) > 0;
  }

  /** Removes every board membership of a user (their tenant membership ended); returns how many. */
  async deleteAllOf(tenantId: string, userId: string): Promise<number> {
    const [, removed] = (await this.execute(
      'DELETE FROM board_members WHERE tenant_id = $1::uuid AND user_id = $2::uuid',
      [tenantId, userId],
    )) as [unknown[], number];
    return removed;
  }

  async delete(key: MemberKey): Promise<boolean> {
    const result = await this.builder()
      .delete()
      .from(BoardMember)
      .where('tenant_id = :tenantId AND board_id = :boardId AND user_id = :userId', key)
      .execute();
    return (result.affected ?? 0) > 0;
  }
}
