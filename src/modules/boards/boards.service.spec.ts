import { decodeCursor, encodeCursor } from 'src/common/pagination';
import { loadConfig } from 'src/core/config/boards-config';
import { ListBudgetError, type TenantBudget } from 'src/core/database/tenant-pool-share';
import type { TenantTransactions } from 'src/core/database/tenant-transactions';
import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';
import type { AuditService } from 'src/modules/audit/audit.service';
import type { BoardRole } from './board-member.entity';
import type { BoardMembersRepository } from './board-members.repository';
import { Board } from './board.entity';
import type { BoardChanges, BoardKey, BoardsRepository, BoardView } from './boards.repository';
import { BoardsService, ifMatchAllows } from './boards.service';
import {
  actor,
  BOARD,
  BOARD_NOT_FOUND,
  boardRow,
  forbidden,
  MEMBER_ROLES,
  OWNER_PROFILE,
  refusal,
  TENANT,
  USER,
  type Who,
} from 'test/factories/board-rules';
import { strictMock } from 'test/support/strict-mock';

/**
 * Board rules at the service level (the HTTP side is test/e2e): who reads, updates, deletes and
 * transfers a board, what If-Match does, which audit events are written and what a list page
 * spends of the tenant's byte budget. Repositories are strict fakes over one board in memory.
 */

const STALE = {
  code: ErrorCode.PreconditionFailed,
  detail:
    'The board changed since you read it (If-Match does not match its ETag); fetch it again and retry.',
};
const BAD_IF_MATCH = {
  code: ErrorCode.BadRequest,
  detail: 'If-Match must be an ETag returned by this API.',
};

function setup(options: {
  /** BOARDS_ENABLE_AUDIT_LOGGING (on unless told). */
  auditing?: boolean;
  isPublic?: boolean;
  exists?: boolean;
  tenantUsers?: string[];
  listed?: BoardView[];
  listPageMaxBytes?: number;
  budget?: Partial<Record<'check' | 'spend', unknown>> | null;
}) {
  const board = boardRow({ isPublic: options.isPublic ?? false });
  const roles = new Map(MEMBER_ROLES);
  const log: string[] = [];
  const findView = jest.fn(
    async (key: BoardKey & { userId: string; lock?: boolean }): Promise<BoardView | null> =>
      (options.exists ?? true) && key.tenantId === TENANT && key.boardId === board.id
        ? {
            board: Object.assign(new Board(), board),
            owner: OWNER_PROFILE,
            memberRole: key.userId === board.ownerId ? null : (roles.get(key.userId) ?? null),
            payloadBytes: 100,
          }
        : null,
  );
  const update = jest.fn(async (_key: BoardKey, changes: BoardChanges) => {
    log.push('boards.update');
    Object.assign(board, changes, { version: board.version + 1 });
  });
  const boards = {
    findView,
    update,
    list: jest.fn(async () => options.listed ?? []),
    insertView: jest.fn(async (row: { title: string; ownerId: string }) => ({
      board: boardRow({ title: row.title, ownerId: row.ownerId }),
      owner: OWNER_PROFILE,
      memberRole: null,
      payloadBytes: 100,
    })),
    delete: jest.fn(async () => true),
  };
  const tenantUsers = new Set(options.tenantUsers ?? Object.values(USER));
  const members = {
    findProfile: jest.fn(async (key: { tenantId: string; userId: string }) =>
      tenantUsers.has(key.userId) ? { id: key.userId, display_name: null, avatar_url: null } : null,
    ),
    delete: jest.fn(async (key: { userId: string }) => {
      log.push('members.delete');
      return roles.delete(key.userId);
    }),
    insert: jest.fn(async (key: { userId: string; role: BoardRole }) => {
      log.push('members.insert');
      roles.set(key.userId, key.role);
      return true;
    }),
  };
  const record = jest.fn(async () => undefined);
  const budget = {
    check: jest.fn(),
    spend: jest.fn(),
    ...options.budget,
  };
  const service = new BoardsService(
    strictMock<BoardsRepository>(boards),
    strictMock<BoardMembersRepository>(members),
    strictMock<AuditService>({ record, enabled: options.auditing ?? true }),
    loadConfig({ BOARDS_LIST_PAGE_MAX_BYTES: String(options.listPageMaxBytes ?? 262_144) }),
    strictMock<TenantTransactions>({
      listBudget: options.budget === null ? undefined : strictMock<TenantBudget>(budget),
    }),
  );
  return { service, board, boards, members, record, budget, log };
}

describe('ifMatchAllows', () => {
  const current = `"${BOARD}.3"`;

  it('accepts the current strong ETag, alone, in a list or as *', () => {
    expect(ifMatchAllows(current, current)).toBe(true);
    expect(ifMatchAllows(` ${current} `, current)).toBe(true);
    expect(ifMatchAllows(`"other.1", ${current}`, current)).toBe(true);
    expect(ifMatchAllows('*', current)).toBe(true);
  });

  it('refuses an older version and a weak tag of the current one', () => {
    expect(ifMatchAllows(`"${BOARD}.2"`, current)).toBe(false);
    expect(ifMatchAllows(`W/${current}`, current)).toBe(false);
  });

  it.each(['3', `${BOARD}.3`, `"${BOARD}.3", 3`, '', '**'])(
    'a malformed header (%j) is a 400',
    (header) => {
      let error: unknown;
      try {
        ifMatchAllows(header, current);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject(BAD_IF_MATCH);
    },
  );
});

describe('BoardsService', () => {
  describe('reading a board (get, and readable for every other path)', () => {
    it.each<[Who, string | null]>([
      ['owner', 'owner'],
      ['admin', 'admin'],
      ['editor', 'editor'],
      ['viewer', 'viewer'],
    ])('a private board is readable by its %s (my_role %s)', async (who, role) => {
      const { service, boards } = setup({});
      const board = await service.get(actor(who), BOARD);
      expect(board).toMatchObject({ id: BOARD, my_role: role, version: 3, owner: OWNER_PROFILE });
      expect(boards.findView).toHaveBeenCalledWith({
        tenantId: TENANT,
        boardId: BOARD,
        userId: USER[who],
        lock: false,
      });
    });

    it('a private board is a 404 to a tenant user who is neither owner nor member', async () => {
      expect(await refusal(setup({}).service.get(actor('stranger'), BOARD))).toMatchObject(
        BOARD_NOT_FOUND,
      );
    });

    it('a missing (or another tenant’s) board gives the same 404', async () => {
      expect(
        await refusal(setup({ exists: false }).service.get(actor('owner'), BOARD)),
      ).toMatchObject(BOARD_NOT_FOUND);
    });

    it('a public board is readable by anyone in the tenant, with no role', async () => {
      const board = await setup({ isPublic: true }).service.get(actor('stranger'), BOARD);
      expect(board).toMatchObject({ id: BOARD, is_public: true, my_role: null });
    });
  });

  describe('create', () => {
    it('inserts the board owned by the caller with defaults, audits it and returns it', async () => {
      const { service, boards, record } = setup({});
      const created = await service.create(
        actor('editor'),
        { title: 'New' },
        { endsRequest: true },
      );
      expect(boards.insertView).toHaveBeenCalledWith(
        {
          tenantId: TENANT,
          ownerId: USER.editor,
          title: 'New',
          description: null,
          isPublic: false,
          settings: {},
          metadata: {},
        },
        // The audit event follows it in the transaction: the insert is not the last statement.
        { last: false },
      );
      expect(record).toHaveBeenCalledTimes(1);
      expect(record).toHaveBeenCalledWith({
        tenantId: TENANT,
        action: 'board.create',
        targetType: 'board',
        targetId: BOARD,
      });
      expect(created).toMatchObject({ id: BOARD, title: 'New', my_role: 'owner' });
    });

    it('without audit events, for a caller that ends the request with it, the insert is the last statement (it may carry the COMMIT)', async () => {
      const { service, boards } = setup({ auditing: false });
      const created = await service.create(
        actor('editor'),
        { title: 'Alone' },
        { endsRequest: true },
      );
      expect(boards.insertView).toHaveBeenLastCalledWith(
        expect.objectContaining({ title: 'Alone' }),
        { last: true },
      );
      expect(created).toMatchObject({ id: BOARD, title: 'Alone', my_role: 'owner' });
      // A caller that may go on writing in the transaction: not the last.
      await service.create(actor('editor'), { title: 'Then more' });
      expect(boards.insertView).toHaveBeenLastCalledWith(
        expect.objectContaining({ title: 'Then more' }),
        { last: false },
      );
    });
  });

  describe('update', () => {
    it.each<Who>(['owner', 'admin'])(
      'the %s changes title and metadata: locked read, write, audit',
      async (who) => {
        const { service, boards, record } = setup({});
        const updated = await service.update(
          actor(who),
          BOARD,
          { title: 'Renamed', metadata: { k: 1 } },
          undefined,
        );
        expect(boards.findView).toHaveBeenNthCalledWith(1, expect.objectContaining({ lock: true }));
        expect(boards.update).toHaveBeenCalledWith(
          { tenantId: TENANT, boardId: BOARD },
          { title: 'Renamed', metadata: { k: 1 } },
        );
        expect(record).toHaveBeenCalledWith({
          tenantId: TENANT,
          action: 'board.update',
          targetType: 'board',
          targetId: BOARD,
          details: { fields: ['title', 'metadata'] },
        });
        // The answer is the board as read again after the write.
        expect(updated).toMatchObject({ title: 'Renamed', version: 4 });
      },
    );

    it.each<Who>(['editor', 'viewer'])('the %s may not change the board (403)', async (who) => {
      const { service, boards, record } = setup({});
      expect(
        await refusal(service.update(actor(who), BOARD, { description: 'x' }, undefined)),
      ).toMatchObject(forbidden('update this board'));
      expect(boards.update).not.toHaveBeenCalled();
      expect(record).not.toHaveBeenCalled();
    });

    it('a stranger gets 403 on a public board and 404 on a private one', async () => {
      const dto = { title: 'x' };
      expect(
        await refusal(
          setup({ isPublic: true }).service.update(actor('stranger'), BOARD, dto, undefined),
        ),
      ).toMatchObject(forbidden('update this board'));
      expect(
        await refusal(setup({}).service.update(actor('stranger'), BOARD, dto, undefined)),
      ).toMatchObject(BOARD_NOT_FOUND);
    });

    it('only the owner changes visibility; an admin is refused (403)', async () => {
      const owner = setup({});
      await owner.service.update(actor('owner'), BOARD, { is_public: true }, undefined);
      expect(owner.boards.update).toHaveBeenCalledWith(
        { tenantId: TENANT, boardId: BOARD },
        { isPublic: true },
      );
      expect(owner.record).toHaveBeenCalledWith(
        expect.objectContaining({ details: { fields: ['isPublic'] } }),
      );

      const admin = setup({});
      expect(
        await refusal(
          admin.service.update(actor('admin'), BOARD, { title: 'x', is_public: true }, undefined),
        ),
      ).toMatchObject(forbidden('change its visibility'));
      expect(admin.boards.update).not.toHaveBeenCalled();
    });

    it('is_public equal to the current value is no visibility change (an admin may send it)', async () => {
      const { service, boards } = setup({});
      await service.update(actor('admin'), BOARD, { title: 'x', is_public: false }, undefined);
      expect(boards.update).toHaveBeenCalledWith(
        { tenantId: TENANT, boardId: BOARD },
        { title: 'x' },
      );
    });

    it('nothing to change writes nothing and audits nothing, and answers the board', async () => {
      const { service, boards, record } = setup({});
      const same = await service.update(actor('owner'), BOARD, { is_public: false }, undefined);
      expect(same).toMatchObject({ id: BOARD, version: 3 });
      expect(boards.update).not.toHaveBeenCalled();
      expect(record).not.toHaveBeenCalled();
    });

    describe('If-Match', () => {
      it.each([`"${BOARD}.3"`, '*', `"${BOARD}.1", "${BOARD}.3"`])(
        '%s matches version 3: the update applies',
        async (ifMatch) => {
          const { service, boards } = setup({});
          await service.update(actor('owner'), BOARD, { title: 'x' }, ifMatch);
          expect(boards.update).toHaveBeenCalledTimes(1);
        },
      );

      it.each([`"${BOARD}.2"`, `W/"${BOARD}.3"`, `"${BOARD}.4"`])(
        '%s does not match version 3: 412 and no write',
        async (ifMatch) => {
          const { service, boards, record } = setup({});
          expect(
            await refusal(service.update(actor('owner'), BOARD, { title: 'x' }, ifMatch)),
          ).toMatchObject(STALE);
          expect(boards.update).not.toHaveBeenCalled();
          expect(record).not.toHaveBeenCalled();
        },
      );

      it('is checked even when nothing would change', async () => {
        expect(
          await refusal(setup({}).service.update(actor('owner'), BOARD, {}, `"${BOARD}.2"`)),
        ).toMatchObject(STALE);
      });

      it('a malformed If-Match is a 400', async () => {
        const { service, boards } = setup({});
        expect(
          await refusal(service.update(actor('owner'), BOARD, { title: 'x' }, 'v3')),
        ).toMatchObject(BAD_IF_MATCH);
        expect(boards.update).not.toHaveBeenCalled();
      });

      it('a caller without the right is refused (403) whatever If-Match says', async () => {
        expect(
          await refusal(
            setup({}).service.update(actor('editor'), BOARD, { title: 'x' }, `"${BOARD}.2"`),
          ),
        ).toMatchObject(forbidden('update this board'));
      });
    });
  });

  describe('remove', () => {
    it('the owner deletes the board under a row lock, and it is audited', async () => {
      const { service, boards, record } = setup({});
      await service.remove(actor('owner'), BOARD);
      expect(boards.findView).toHaveBeenCalledWith(expect.objectContaining({ lock: true }));
      expect(boards.delete).toHaveBeenCalledWith({ tenantId: TENANT, boardId: BOARD });
      expect(record).toHaveBeenCalledWith({
        tenantId: TENANT,
        action: 'board.delete',
        targetType: 'board',
        targetId: BOARD,
      });
    });

    it.each<Who>(['admin', 'editor', 'viewer'])('the %s may not delete it (403)', async (who) => {
      const { service, boards, record } = setup({});
      expect(await refusal(service.remove(actor(who), BOARD))).toMatchObject(
        forbidden('delete this board'),
      );
      expect(boards.delete).not.toHaveBeenCalled();
      expect(record).not.toHaveBeenCalled();
    });

    it('a stranger gets 404 on a private board, 403 on a public one', async () => {
      expect(await refusal(setup({}).service.remove(actor('stranger'), BOARD))).toMatchObject(
        BOARD_NOT_FOUND,
      );
      expect(
        await refusal(setup({ isPublic: true }).service.remove(actor('stranger'), BOARD)),
      ).toMatchObject(forbidden('delete this board'));
    });
  });

  describe('transfer', () => {
    it('the owner hands over: the new owner leaves the members, the old one stays as admin', async () => {
      const { service, boards, members, record, log } = setup({});
      const moved = await service.transfer(actor('owner'), BOARD, { new_owner_id: USER.editor });
      expect(members.findProfile).toHaveBeenCalledWith({ tenantId: TENANT, userId: USER.editor });
      expect(members.delete).toHaveBeenCalledWith({
        tenantId: TENANT,
        boardId: BOARD,
        userId: USER.editor,
      });
      expect(boards.update).toHaveBeenCalledWith(
        { tenantId: TENANT, boardId: BOARD },
        { ownerId: USER.editor },
      );
      expect(members.insert).toHaveBeenCalledWith({
        tenantId: TENANT,
        boardId: BOARD,
        userId: USER.owner,
        role: 'admin',
        invitedBy: USER.editor,
      });
      expect(log).toEqual(['members.delete', 'boards.update', 'members.insert']);
      expect(record).toHaveBeenCalledWith({
        tenantId: TENANT,
        action: 'board.transfer',
        targetType: 'board',
        targetId: BOARD,
        details: { from: USER.owner, to: USER.editor },
      });
      // Read again as the caller, who is now an admin member of the board.
      expect(moved).toMatchObject({ owner_id: USER.editor, my_role: 'admin', version: 4 });
    });

    it.each<Who>(['admin', 'editor', 'viewer'])('the %s may not transfer (403)', async (who) => {
      const { service, log, record } = setup({});
      expect(
        await refusal(service.transfer(actor(who), BOARD, { new_owner_id: USER[who] })),
      ).toMatchObject(forbidden('transfer its ownership'));
      expect(log).toEqual([]);
      expect(record).not.toHaveBeenCalled();
    });

    it('a stranger gets 404 on a private board', async () => {
      expect(
        await refusal(
          setup({}).service.transfer(actor('stranger'), BOARD, { new_owner_id: USER.stranger }),
        ),
      ).toMatchObject(BOARD_NOT_FOUND);
    });

    it('to a user who is not (or no longer) in the tenant: 404, nothing written', async () => {
      const { service, log, record } = setup({ tenantUsers: [USER.owner] });
      expect(
        await refusal(service.transfer(actor('owner'), BOARD, { new_owner_id: USER.newcomer })),
      ).toMatchObject({ code: ErrorCode.NotFound, detail: 'User not found in this organization.' });
      expect(log).toEqual([]);
      expect(record).not.toHaveBeenCalled();
    });

    it('to the current owner changes nothing', async () => {
      const { service, members, log, record } = setup({});
      const same = await service.transfer(actor('owner'), BOARD, { new_owner_id: USER.owner });
      expect(same).toMatchObject({ owner_id: USER.owner, version: 3 });
      expect(members.findProfile).not.toHaveBeenCalled();
      expect(log).toEqual([]);
      expect(record).not.toHaveBeenCalled();
    });
  });

  describe('list', () => {
    const listView = (n: number, payloadBytes: number): BoardView => ({
      board: boardRow({
        id: `b0000000-0000-4000-8000-00000000010${n}`,
        createdAt: new Date(Date.UTC(2025, 0, 10 - n)),
        updatedAt: new Date(Date.UTC(2025, 1, 10 - n)),
      }),
      owner: OWNER_PROFILE,
      memberRole: null,
      payloadBytes,
    });

    it('asks the repository with the caller, the defaults and a trimmed search', async () => {
      const { service, boards } = setup({});
      await service.list(actor('viewer'), {});
      await service.list(actor('viewer'), { q: '  cats ', role: 'owner', sort: 'created_asc' });
      await service.list(actor('viewer'), { q: '   ' });
      expect(boards.list.mock.calls).toEqual([
        [
          {
            tenantId: TENANT,
            userId: USER.viewer,
            role: 'any',
            search: undefined,
            sort: 'updated_desc',
            limit: 20,
            after: undefined,
          },
        ],
        [expect.objectContaining({ search: 'cats', role: 'owner', sort: 'created_asc' })],
        [expect.objectContaining({ search: undefined })],
      ]);
    });

    it('passes a cursor on as a keyset position; a malformed one is a 400 before any read', async () => {
      const { service, boards } = setup({});
      const position = { value: '2025-02-01T00:00:00.000Z', id: BOARD };
      await service.list(actor('viewer'), { cursor: encodeCursor(position) });
      expect(boards.list).toHaveBeenCalledWith(expect.objectContaining({ after: position }));
      boards.list.mockClear();
      expect(await refusal(service.list(actor('viewer'), { cursor: 'nope' }))).toMatchObject({
        code: ErrorCode.BadRequest,
      });
      expect(boards.list).not.toHaveBeenCalled();
    });

    it('checks the tenant’s list budget first: exhausted is a 429 and nothing is read', async () => {
      const { service, boards, budget } = setup({
        budget: {
          check: jest.fn(() => {
            throw new ListBudgetError(2);
          }),
        },
      });
      const error = await refusal(service.list(actor('viewer'), {}));
      expect(error).toBeInstanceOf(ListBudgetError);
      expect(error).toMatchObject({
        code: ErrorCode.RateLimited,
        apiCode: 'list_budget_exhausted',
        headers: { 'Retry-After': '2' },
      });
      expect(budget.check).toHaveBeenCalledWith(TENANT);
      expect(boards.list).not.toHaveBeenCalled();
    });

    it('spends the stored bytes of the rows the page carries (not of the extra row)', async () => {
      const { service, budget } = setup({
        listed: [listView(1, 100), listView(2, 150), listView(3, 1_000)],
      });
      const page = await service.list(actor('viewer'), { limit: 2 });
      expect(page.items.map((item) => item.id)).toEqual([
        listView(1, 0).board.id,
        listView(2, 0).board.id,
      ]);
      expect(budget.check).toHaveBeenCalledWith(TENANT);
      expect(budget.spend).toHaveBeenCalledTimes(1);
      expect(budget.spend).toHaveBeenCalledWith(TENANT, 250);
    });

    it('ends a page early at BOARDS_LIST_PAGE_MAX_BYTES and goes on from there', async () => {
      const { service, budget } = setup({
        listPageMaxBytes: 1_024,
        listed: [listView(1, 600), listView(2, 600), listView(3, 600)],
      });
      const page = await service.list(actor('viewer'), { limit: 5 });
      expect(page.items).toHaveLength(1);
      expect(decodeCursor(page.next_cursor ?? '')).toEqual({
        value: listView(1, 0).board.updatedAt.toISOString(),
        id: listView(1, 0).board.id,
      });
      expect(budget.spend).toHaveBeenCalledWith(TENANT, 600);
    });

    it('a created_* sort continues from the last row’s created_at', async () => {
      const { service } = setup({ listed: [listView(1, 10), listView(2, 10)] });
      const page = await service.list(actor('viewer'), { limit: 1, sort: 'created_desc' });
      expect(decodeCursor(page.next_cursor ?? '')).toEqual({
        value: listView(1, 0).board.createdAt.toISOString(),
        id: listView(1, 0).board.id,
      });
    });

    it('works without a budget (TenantTransactions built without config)', async () => {
      const page = await setup({ budget: null, listed: [listView(1, 10)] }).service.list(
        actor('viewer'),
        {},
      );
      expect(page).toEqual({
        items: [expect.objectContaining({ id: listView(1, 0).board.id })],
        next_cursor: null,
      });
    });
  });
});
