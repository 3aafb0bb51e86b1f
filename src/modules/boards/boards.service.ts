import { BoardsConfig } from 'src/core/config/boards-config';
import { TenantTransactions } from 'src/core/database/tenant-transactions';
import { Injectable } from '@nestjs/common';
import { decodeCursor, toPage } from 'src/common/pagination';
import type { Actor } from 'src/core/context/tenant-context';
import { AuditService } from 'src/modules/audit/audit.service';
import { BoardMembersRepository } from './board-members.repository';
import { BoardPermissions, type BoardRelation } from './board-permissions';
import { BoardErrors } from './boards.errors';
import { BoardsRepository, type BoardChanges, type BoardView } from './boards.repository';
import {
  boardEtag,
  toBoardResponse,
  type BoardPageResponse,
  type BoardResponse,
} from './dto/board.response';
import type { CreateBoardDto } from './dto/create-board.dto';
import type { ListBoardsQuery } from './dto/list-boards.query';
import type { TransferOwnershipDto } from './dto/transfer-ownership.dto';
import type { UpdateBoardDto } from './dto/update-board.dto';

const ENTITY_TAG = /^(?:W\/)?"[^"]*"$/;

/**
 * If-Match: `*`, or a comma-separated list of entity tags of which one must equal the current
 * strong ETag (weak tags never match, RFC 9110). A malformed header is 400.
 */
export function ifMatchAllows(header: string, current: string): boolean {
  const value = header.trim();
  if (value === '*') return true;
  const tags = value.split(',').map((tag) => tag.trim());
  if (tags.some((tag) => !ENTITY_TAG.test(tag))) throw BoardErrors.badIfMatch();
  return tags.includes(current);
}

export function relationOf(view: BoardView, actor: Actor): BoardRelation {
  return {
    isOwner: view.board.ownerId === actor.userId,
    memberRole: view.memberRole,
    isPublic: view.board.isPublic,
  };
}

@Injectable()
export class BoardsService {
  constructor(
    private readonly boards: BoardsRepository,
    private readonly members: BoardMembersRepository,
    private readonly audit: AuditService,
    private readonly config: BoardsConfig,
    private readonly transactions: TenantTransactions,
  ) {}

  async list(actor: Actor, query: ListBoardsQuery): Promise<BoardPageResponse> {
    // The tenant's pages carry at most their share of bytes a second (429 past it).
    this.transactions.listBudget?.check(actor.tenantId);
    const limit = query.limit ?? 20;
    const sort = query.sort ?? 'updated_desc';
    const views = await this.boards.list({
      tenantId: actor.tenantId,
      userId: actor.userId,
      role: query.role ?? 'any',
      search: query.q?.trim() || undefined,
      sort,
      limit,
      after: query.cursor ? decodeCursor(query.cursor) : undefined,
    });
    const sortedBy = sort.startsWith('updated') ? 'updatedAt' : 'createdAt';
    return toPage(
      views,
      limit,
      (view) => ({ value: view.board[sortedBy].toISOString(), id: view.board.id }),
      (view) => toBoardResponse(view, actor.userId),
      {
        bytesOf: (view) => view.payloadBytes,
        maxBytes: this.config.listPageMaxBytes,
        spent: (bytes) => this.transactions.listBudget?.spend(actor.tenantId, bytes),
      },
    );
  }

  /**
   * With `endsRequest`, the caller (the create route's handler) does nothing more in the
   * request's transaction: without an audit event to write, the insert is then its last
   * statement and carries the COMMIT (one round trip). A caller that goes on writing in the same
   * transaction leaves it out.
   */
  async create(
    actor: Actor,
    dto: CreateBoardDto,
    options?: { readonly endsRequest?: boolean },
  ): Promise<BoardResponse> {
    const view = await this.boards.insertView(
      {
        tenantId: actor.tenantId,
        ownerId: actor.userId,
        title: dto.title,
        description: dto.description ?? null,
        isPublic: dto.is_public ?? false,
        settings: dto.settings ?? {},
        metadata: dto.metadata ?? {},
      },
      { last: options?.endsRequest === true && !this.audit.enabled },
    );
    await this.audit.record({
      tenantId: actor.tenantId,
      action: 'board.create',
      targetType: 'board',
      targetId: view.board.id,
    });
    return toBoardResponse(view, actor.userId);
  }

  async get(actor: Actor, boardId: string): Promise<BoardResponse> {
    return toBoardResponse(await this.readable(actor, boardId), actor.userId);
  }

  /**
   * Partial update under a row lock, so concurrent updates apply one after another and none is
   * lost. With If-Match, a board that changed since the caller read it is 412.
   */
  async update(
    actor: Actor,
    boardId: string,
    dto: UpdateBoardDto,
    ifMatch: string | undefined,
  ): Promise<BoardResponse> {
    const view = await this.readable(actor, boardId, true);
    const relation = relationOf(view, actor);
    const changes: BoardChanges = {};
    if (dto.title !== undefined) changes.title = dto.title;
    if (dto.description !== undefined) changes.description = dto.description;
    if (dto.settings !== undefined) changes.settings = dto.settings;
    if (dto.metadata !== undefined) changes.metadata = dto.metadata;
    const changesVisibility = dto.is_public !== undefined && dto.is_public !== view.board.isPublic;
    if (Object.keys(changes).length > 0 && !BoardPermissions.canUpdate(relation)) {
      throw BoardErrors.forbidden('update this board');
    }
    if (changesVisibility) {
      if (!BoardPermissions.canAdminister(relation))
        throw BoardErrors.forbidden('change its visibility');
      changes.isPublic = dto.is_public;
    }
    if (ifMatch !== undefined && !ifMatchAllows(ifMatch, boardEtag(view.board)))
      throw BoardErrors.stale();
    if (Object.keys(changes).length === 0) return toBoardResponse(view, actor.userId);
    await this.boards.update({ tenantId: actor.tenantId, boardId }, changes);
    await this.audit.record({
      tenantId: actor.tenantId,
      action: 'board.update',
      targetType: 'board',
      targetId: boardId,
      details: { fields: Object.keys(changes) },
    });
    return this.get(actor, boardId);
  }

  async remove(actor: Actor, boardId: string): Promise<void> {
    const view = await this.readable(actor, boardId, true);
    if (!BoardPermissions.canAdminister(relationOf(view, actor)))
      throw BoardErrors.forbidden('delete this board');
    await this.boards.delete({ tenantId: actor.tenantId, boardId });
    await this.audit.record({
      tenantId: actor.tenantId,
      action: 'board.delete',
      targetType: 'board',
      targetId: boardId,
    });
  }

  /** The owner hands the board to another user of the tenant and stays on it as an admin. */
  async transfer(actor: Actor, boardId: string, dto: TransferOwnershipDto): Promise<BoardResponse> {
    const view = await this.readable(actor, boardId, true);
    if (!BoardPermissions.canAdminister(relationOf(view, actor)))
      throw BoardErrors.forbidden('transfer its ownership');
    const newOwnerId = dto.new_owner_id;
    if (newOwnerId === view.board.ownerId) return toBoardResponse(view, actor.userId);
    const profile = await this.members.findProfile({
      tenantId: actor.tenantId,
      userId: newOwnerId,
    });
    if (!profile) throw BoardErrors.userNotFound();
    const key = { tenantId: actor.tenantId, boardId };
    await this.members.delete({ ...key, userId: newOwnerId });
    await this.boards.update(key, { ownerId: newOwnerId });
    await this.members.insert({
      ...key,
      userId: view.board.ownerId,
      role: 'admin',
      invitedBy: newOwnerId,
    });
    await this.audit.record({
      tenantId: actor.tenantId,
      action: 'board.transfer',
      targetType: 'board',
      targetId: boardId,
      details: { from: view.board.ownerId, to: newOwnerId },
    });
    return this.get(actor, boardId);
  }

  /** The board when the caller may read it; another tenant's, a missing and an unreadable board are all 404. */
  async readable(actor: Actor, boardId: string, lock = false): Promise<BoardView> {
    const view = await this.boards.findView({
      tenantId: actor.tenantId,
      boardId,
      userId: actor.userId,
      lock,
    });
    if (!view || !BoardPermissions.canRead(relationOf(view, actor)))
      throw BoardErrors.boardNotFound();
    return view;
  }
}
