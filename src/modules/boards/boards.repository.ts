import { Injectable } from '@nestjs/common';
import type { SelectQueryBuilder } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { likePattern, type CursorPosition } from 'src/common/pagination';
import { TenantTransactions } from 'src/core/database/tenant-transactions';
import { User } from 'src/modules/auth/user.entity';
import { BoardMember, type BoardRole } from './board-member.entity';
import { Board } from './board.entity';

export type BoardSort = 'updated_desc' | 'updated_asc' | 'created_desc' | 'created_asc';
export type BoardRoleFilter = 'any' | 'owner' | 'member';

/** Public profile of a user, safe to show to anyone who can read the board. */
export interface PublicProfile {
  readonly id: string;
  readonly display_name: string | null;
  readonly avatar_url: string | null;
}

/** A board as the caller sees it: the row, its owner's public profile, the caller's membership. */
export interface BoardView {
  readonly board: Board;
  readonly owner: PublicProfile | null;
  readonly memberRole: BoardRole | null;
}

interface TenantScoped {
  readonly tenantId: string;
}

export interface BoardKey extends TenantScoped {
  readonly boardId: string;
}

export interface BoardListQuery extends TenantScoped {
  readonly userId: string;
  readonly role: BoardRoleFilter;
  readonly search?: string;
  readonly sort: BoardSort;
  readonly limit: number;
  readonly after?: CursorPosition;
}

export interface NewBoard extends TenantScoped {
  readonly ownerId: string;
  readonly title: string;
  readonly description: string | null;
  readonly isPublic: boolean;
  readonly settings: Record<string, unknown>;
  readonly metadata: Record<string, unknown>;
}

export type BoardChanges = Partial<
  Pick<Board, 'title' | 'description' | 'isPublic' | 'settings' | 'metadata' | 'ownerId'>
>;

const SORT_COLUMNS: Record<
  BoardSort,
  { column: 'updated_at' | 'created_at'; direction: 'ASC' | 'DESC' }
> = {
  updated_desc: { column: 'updated_at', direction: 'DESC' },
  updated_asc: { column: 'updated_at', direction: 'ASC' },
  created_desc: { column: 'created_at', direction: 'DESC' },
  created_asc: { column: 'created_at', direction: 'ASC' },
};

/**
 * Board rows, always through the open tenant transaction, always filtered by tenant_id as well
 * (the indexes lead with it; RLS would hide other tenants' rows anyway).
 */
@Injectable()
export class BoardsRepository {
  constructor(private readonly transactions: TenantTransactions) {}

  /** The board with the caller's relation to it; `lock` takes a row lock for a following write. */
  async findView(key: BoardKey & { userId: string; lock?: boolean }): Promise<BoardView | null> {
    const query = this.viewQuery(key.tenantId, key.userId).andWhere('b.id = :boardId', {
      boardId: key.boardId,
    });
    if (key.lock) query.setLock('pessimistic_write', undefined, ['b']);
    const { entities, raw } = await query.getRawAndEntities();
    return entities.length === 0 ? null : toView(entities[0], raw[0] as RawView);
  }

  /** Boards the caller can read, in keyset order; fetches `limit + 1` rows to detect a next page. */
  async list(query: BoardListQuery): Promise<BoardView[]> {
    const { column, direction } = SORT_COLUMNS[query.sort];
    const builder = this.viewQuery(query.tenantId, query.userId);
    if (query.role === 'owner') builder.andWhere('b.owner_id = :userId');
    else if (query.role === 'member') builder.andWhere('m.id IS NOT NULL');
    else builder.andWhere('(b.owner_id = :userId OR m.id IS NOT NULL OR b.is_public)');
    if (query.search) {
      builder.andWhere(
        `(b.title ILIKE :pattern ESCAPE '\\' OR b.description ILIKE :pattern ESCAPE '\\')`,
        {
          pattern: likePattern(query.search),
        },
      );
    }
    if (query.after) {
      const comparison = direction === 'DESC' ? '<' : '>';
      builder.andWhere(`(b.${column}, b.id) ${comparison} (:afterValue, :afterId)`, {
        afterValue: query.after.value,
        afterId: query.after.id,
      });
    }
    builder
      .orderBy(`b.${column}`, direction)
      .addOrderBy('b.id', direction)
      .limit(query.limit + 1);
    const { entities, raw } = await builder.getRawAndEntities();
    const rows = new Map((raw as RawView[]).map((row) => [row.b_id, row]));
    return entities.map((board) => toView(board, rows.get(board.id)));
  }

  async insert(board: NewBoard): Promise<Board> {
    const repository = this.transactions.manager.getRepository(Board);
    return repository.save(repository.create({ ...board, version: 1 }));
  }

  /** Applies changes and bumps the version; the caller holds the row lock from findView. */
  async update(key: BoardKey, changes: BoardChanges): Promise<void> {
    await this.transactions.manager
      .createQueryBuilder()
      .update(Board)
      .set({
        ...changes,
        version: () => 'version + 1',
        updatedAt: () => 'now()',
      } as QueryDeepPartialEntity<Board>)
      .where('tenant_id = :tenantId AND id = :boardId', key)
      .execute();
  }

  async delete(key: BoardKey): Promise<boolean> {
    const result = await this.transactions.manager
      .createQueryBuilder()
      .delete()
      .from(Board)
      .where('tenant_id = :tenantId AND id = :boardId', key)
      .execute();
    return (result.affected ?? 0) > 0;
  }

  private viewQuery(tenantId: string, userId: string): SelectQueryBuilder<Board> {
    return this.transactions.manager
      .getRepository(Board)
      .createQueryBuilder('b')
      .leftJoin(User, 'o', 'o.tenant_id = b.tenant_id AND o.id = b.owner_id')
      .leftJoin(
        BoardMember,
        'm',
        'm.tenant_id = b.tenant_id AND m.board_id = b.id AND m.user_id = :userId',
      )
      .addSelect(['o.id', 'o.displayName', 'o.avatarUrl', 'm.id', 'm.role'])
      .where('b.tenant_id = :tenantId', { tenantId, userId });
  }
}

interface RawView {
  b_id: string;
  o_id: string | null;
  o_display_name: string | null;
  o_avatar_url: string | null;
  m_role: BoardRole | null;
}

function toView(board: Board, raw: RawView | undefined): BoardView {
  return {
    board,
    owner: raw?.o_id
      ? { id: raw.o_id, display_name: raw.o_display_name, avatar_url: raw.o_avatar_url }
      : null,
    memberRole: raw?.m_role ?? null,
  };
}
