import { Injectable } from '@nestjs/common';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { likePattern, type CursorPosition } from 'src/common/pagination';
import { TenantScopedRepository } from 'src/core/database/tenant-scoped.repository';
import type { ReadOptions } from 'src/core/database/tenant-transactions';
import type { BoardRole } from './board-member.entity';
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
  /** Stored bytes of its text and JSON (boards.payload_bytes), for list pages' byte budget. */
  readonly payloadBytes: number;
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
 * The hot read of a board with its owner's public profile and the caller's membership, as plain
 * SQL written once (no query building or entity hydration per request). $1 is the caller's user
 * id, $2 the tenant id.
 */
function viewOf(boards: string): string {
  return (
    'SELECT b.tenant_id, b.id, b.owner_id, b.title, b.description, b.is_public, b.settings, b.metadata, ' +
    'b.version, b.created_at, b.updated_at, b.payload_bytes, o.id AS owner_user_id, o.display_name AS owner_display_name, ' +
    'o.avatar_url AS owner_avatar_url, m.role AS member_role, m.id AS member_id ' +
    `FROM ${boards} b ` +
    'LEFT JOIN users o ON o.tenant_id = b.tenant_id AND o.id = b.owner_id ' +
    'LEFT JOIN board_members m ON m.tenant_id = b.tenant_id AND m.board_id = b.id AND m.user_id = $1 ' +
    'WHERE b.tenant_id = $2'
  );
}

/** The view over the boards table (`viewOf` takes another source of board rows, aliased b). */
const VIEW_SQL = viewOf('boards');

const LIST_FILTERS: Record<BoardRoleFilter, string> = {
  owner: ' AND b.owner_id = $1',
  member: ' AND m.id IS NOT NULL',
  any: ' AND (b.owner_id = $1 OR m.id IS NOT NULL OR b.is_public)',
};

/** How many of the newest boards a search reads first (see BoardsRepository.list). */
export const SEARCH_WINDOW = 200;

/**
 * The list's statement. A search matches title or description with ILIKE, which the trigram
 * indexes boards_title_trgm_idx and boards_description_trgm_idx (tenant_id first) answer. With
 * `window`, only the first `window` boards of the tenant in the list's order are considered (read
 * in that order through its index).
 */
export function boardListStatement(
  query: BoardListQuery,
  window?: number,
): { sql: string; params: unknown[] } {
  const { column, direction } = SORT_COLUMNS[query.sort];
  const order = `${column} ${direction}, id ${direction}`;
  const comparison = direction === 'DESC' ? '<' : '>';
  const params: unknown[] = [query.userId, query.tenantId];
  let after = '';
  if (query.after) {
    params.push(query.after.value, query.after.id);
    after = ` AND (${column}, id) ${comparison} ($${params.length - 1}::timestamptz, $${params.length}::uuid)`;
  }
  let view = VIEW_SQL;
  if (window !== undefined) {
    params.push(window);
    view = viewOf(
      `(SELECT * FROM boards WHERE tenant_id = $2${after} ORDER BY ${order} LIMIT $${params.length})`,
    );
  }
  let sql = view + LIST_FILTERS[query.role];
  if (query.search) {
    params.push(likePattern(query.search));
    const p = `$${params.length}`;
    sql += ` AND (b.title ILIKE ${p} ESCAPE '\\' OR b.description ILIKE ${p} ESCAPE '\\')`;
  }
  sql += after.replace(`(${column}, id)`, `(b.${column}, b.id)`);
  params.push(query.limit + 1);
  sql += ` ORDER BY b.${column} ${direction}, b.id ${direction} LIMIT $${params.length}`;
  return { sql, params };
}

interface ViewRow {
  tenant_id: string;
  id: string;
  owner_id: string;
  title: string;
  description: string | null;
  is_public: boolean;
  settings: Record<string, unknown>;
  metadata: Record<string, unknown>;
  version: number;
  created_at: Date;
  updated_at: Date;
  payload_bytes: number;
  owner_user_id: string | null;
  owner_display_name: string | null;
  owner_avatar_url: string | null;
  member_role: BoardRole | null;
  member_id: string | null;
}

/**
 * Board rows, always through the open tenant transaction, always filtered by tenant_id as well
 * (the indexes lead with it; RLS would hide other tenants' rows anyway). Reads with plain SQL
 * go through TenantScopedRepository.select, which checks every row.
 */
@Injectable()
export class BoardsRepository extends TenantScopedRepository {
  /** The board with the caller's relation to it; `lock` takes a row lock for a following write. */
  async findView(key: BoardKey & { userId: string; lock?: boolean }): Promise<BoardView | null> {
    const rows = await this.read(
      key.tenantId,
      `${VIEW_SQL} AND b.id = $3${key.lock ? ' FOR UPDATE OF b' : ''}`,
      [key.userId, key.tenantId, key.boardId],
    );
    return rows.length === 0 ? null : toView(rows[0]);
  }

  /** Boards the caller can read, in keyset order; fetches `limit + 1` rows to detect a next page. */
  async list(query: BoardListQuery): Promise<BoardView[]> {
    if (!query.search) {
      const { sql, params } = boardListStatement(query);
      return (await this.read(query.tenantId, sql, params)).map(toView);
    }
    // A search is planned with its pattern every time (never a generic plan, see ReadOptions).
    // A word most boards contain is found among the newest ones: reading those in order and
    // stopping early beats rechecking every board the trigram indexes offer. Only when they hold
    // fewer than a page of matches does the indexed search over all boards run (it returns the
    // same first matches, the window being the start of the same order).
    const options = { prepare: false, search: true };
    const windowed = boardListStatement(query, SEARCH_WINDOW);
    const first = await this.read(query.tenantId, windowed.sql, windowed.params, options);
    if (first.length > query.limit) return first.map(toView);
    const { sql, params } = boardListStatement(query);
    return (await this.read(query.tenantId, sql, params, options)).map(toView);
  }

  /**
   * Inserts a board and answers its view (the owner's profile joined) in one statement, so a
   * create costs one round trip between opening and committing its transaction. The row names its
   * tenant, which row-level security checks against the transaction's setting, and the returned
   * row is checked like a read. $1 is the owner, who is also the caller the view is read for.
   * With `last`, nothing follows it in the transaction (see TenantScopedRepository.execute).
   */
  async insertView(board: NewBoard, options?: { readonly last?: boolean }): Promise<BoardView> {
    const rows = await this.execute<ViewRow[]>(
      `WITH inserted AS (INSERT INTO boards (tenant_id, owner_id, title, description, is_public, settings, metadata, version)
         VALUES ($2, $1, $3, $4, $5, $6, $7, 1) RETURNING *) ${viewOf('inserted')}`,
      [
        board.ownerId,
        board.tenantId,
        board.title,
        board.description,
        board.isPublic,
        board.settings,
        board.metadata,
      ],
      { table: 'boards', tenantId: board.tenantId },
      options,
    );
    return toView(rows[0]);
  }

  async insert(board: NewBoard): Promise<Board> {
    const repository = this.entities(Board);
    return repository.save(repository.create({ ...board, version: 1 }));
  }

  /** Applies changes and bumps the version; the caller holds the row lock from findView. */
  async update(key: BoardKey, changes: BoardChanges): Promise<void> {
    await this.builder()
      .update(Board)
      .set({
        ...changes,
        version: () => 'version + 1',
        updatedAt: () => 'now()',
      } as QueryDeepPartialEntity<Board>)
      .where('tenant_id = :tenantId AND id = :boardId', key)
      .execute();
  }

  /**
   * Gives every board `fromUserId` owns to `toUserId` (a membership that ended), bumping their
   * versions; the new owner's own membership rows on those boards go (an owner is not a member).
   * Returns how many boards changed hands.
   */
  async transferAllOwned(tenantId: string, fromUserId: string, toUserId: string): Promise<number> {
    await this.execute(
      `DELETE FROM board_members m USING boards b
        WHERE m.tenant_id = $1::uuid AND b.tenant_id = $1::uuid AND b.id = m.board_id
          AND b.owner_id = $2::uuid AND m.user_id = $3::uuid`,
      [tenantId, fromUserId, toUserId],
    );
    const [, moved] = await this.execute<[unknown[], number]>(
      `UPDATE boards SET owner_id = $3::uuid, version = version + 1, updated_at = now()
        WHERE tenant_id = $1::uuid AND owner_id = $2::uuid`,
      [tenantId, fromUserId, toUserId],
    );
    return moved;
  }

  async delete(key: BoardKey): Promise<boolean> {
    const result = await this.builder()
      .delete()
      .from(Board)
      .where('tenant_id = :tenantId AND id = :boardId', key)
      .execute();
    return (result.affected ?? 0) > 0;
  }

  private read(
    tenantId: string,
    sql: string,
    params: unknown[],
    options?: ReadOptions,
  ): Promise<ViewRow[]> {
    return this.select<ViewRow>('boards', tenantId, sql, params, options);
  }
}

function toView(row: ViewRow): BoardView {
  const board = Object.assign(new Board(), {
    tenantId: row.tenant_id,
    id: row.id,
    ownerId: row.owner_id,
    title: row.title,
    description: row.description,
    isPublic: row.is_public,
    settings: row.settings,
    metadata: row.metadata,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  });
  return {
    board,
    owner: row.owner_user_id
      ? {
          id: row.owner_user_id,
          display_name: row.owner_display_name,
          avatar_url: row.owner_avatar_url,
        }
      : null,
    memberRole: row.member_role,
    payloadBytes: row.payload_bytes,
  };
}
