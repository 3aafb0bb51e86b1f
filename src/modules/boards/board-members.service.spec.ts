import { loadConfig } from 'src/core/config/boards-config';
import type { TenantTransactions } from 'src/core/database/tenant-transactions';
import { ErrorCode } from 'src/core/errors/error-code';
import type { AuditService } from 'src/modules/audit/audit.service';
import { BoardMember, type BoardRole } from './board-member.entity';
import type { BoardMembersRepository, MemberKey, MemberView } from './board-members.repository';
import { BoardMembersService } from './board-members.service';
import type { BoardKey, BoardsRepository, BoardView } from './boards.repository';
import { BoardsService } from './boards.service';
import {
  actor,
  BOARD,
  BOARD_NOT_FOUND,
  boardRow,
  forbidden,
  OWNER_PROFILE,
  refusal,
  TENANT,
  USER,
  type Who,
} from 'test/factories/board-rules';
import { strictMock } from 'test/support/strict-mock';

/**
 * Board membership rules at the service level: who lists, adds (and with which role), changes
 * roles and removes members, and which refusal each gets. The board is read through the real
 * BoardsService over a strict fake of its repository, so "unreadable board = 404" is the one
 * the boards service applies; memberships live in a strict in-memory fake.
 */

const MEMBER_NOT_FOUND = { code: ErrorCode.NotFound, detail: 'Member not found.' };

function setup(options: { isPublic?: boolean; exists?: boolean; findFails?: boolean } = {}) {
  const roles = new Map<string, BoardRole>([
    [USER.admin, 'admin'],
    [USER.editor, 'editor'],
    [USER.viewer, 'viewer'],
  ]);
  const board = boardRow({
    isPublic: options.isPublic ?? false,
    version: 1,
    createdAt: new Date(0),
    updatedAt: new Date(0),
  });
  const findView = jest.fn(
    async (key: BoardKey & { userId: string; lock?: boolean }): Promise<BoardView | null> =>
      (options.exists ?? true) && key.tenantId === TENANT && key.boardId === BOARD
        ? {
            board,
            owner: OWNER_PROFILE,
            memberRole: roles.get(key.userId) ?? null,
            payloadBytes: 0,
          }
        : null,
  );
  const boards = new BoardsService(
    strictMock<BoardsRepository>({ findView }),
    strictMock<BoardMembersRepository>(),
    strictMock<AuditService>(),
    loadConfig({}),
    strictMock<TenantTransactions>(),
  );

  const view = (userId: string, role: BoardRole): MemberView => ({
    member: Object.assign(new BoardMember(), {
      tenantId: TENANT,
      id: `m-${userId}`,
      boardId: BOARD,
      userId,
      role,
      invitedBy: USER.owner,
      joinedAt: new Date('2025-03-01T00:00:00.000Z'),
    }),
    profile: { id: userId, display_name: null, avatar_url: null },
  });
  const inTenant = new Set(Object.values(USER).filter((id) => id !== USER.outsider));
  const members = {
    list: jest.fn(async (_key: BoardKey) => [...roles].map(([userId, role]) => view(userId, role))),
    find: jest.fn(async (key: MemberKey) => {
      const role = roles.get(key.userId);
      return role && !options.findFails ? view(key.userId, role) : null;
    }),
    findProfile: jest.fn(async (key: { tenantId: string; userId: string }) =>
      inTenant.has(key.userId) ? { id: key.userId, display_name: null, avatar_url: null } : null,
    ),
    insert: jest.fn(async (key: MemberKey & { role: BoardRole }) => {
      if (roles.has(key.userId)) return false;
      roles.set(key.userId, key.role);
      return true;
    }),
    updateRole: jest.fn(async (key: MemberKey & { role: BoardRole }) => {
      if (!roles.has(key.userId)) return false;
      roles.set(key.userId, key.role);
      return true;
    }),
    delete: jest.fn(async (key: MemberKey) => roles.delete(key.userId)),
  };
  const record = jest.fn(async () => undefined);
  const service = new BoardMembersService(
    boards,
    strictMock<BoardMembersRepository>(members),
    strictMock<AuditService>({ record }),
  );
  return { service, findView, members, roles, record };
}

describe('BoardMembersService', () => {
  describe('list', () => {
    it.each<Who>(['owner', 'admin', 'editor', 'viewer'])(
      'the %s lists the members and the owner',
      async (who) => {
        const { service, members } = setup();
        const list = await service.list(actor(who), BOARD);
        expect(list.owner).toEqual(OWNER_PROFILE);
        expect(list.items.map((item) => [item.user_id, item.role])).toEqual([
          [USER.admin, 'admin'],
          [USER.editor, 'editor'],
          [USER.viewer, 'viewer'],
        ]);
        expect(members.list).toHaveBeenCalledWith({ tenantId: TENANT, boardId: BOARD });
      },
    );

    it('a stranger lists a public board’s members, but a private board is a 404', async () => {
      const open = await setup({ isPublic: true }).service.list(actor('stranger'), BOARD);
      expect(open.items).toHaveLength(3);
      const { service, members } = setup();
      expect(await refusal(service.list(actor('stranger'), BOARD))).toMatchObject(BOARD_NOT_FOUND);
      expect(members.list).not.toHaveBeenCalled();
    });

    it('a missing board is the same 404', async () => {
      expect(
        await refusal(setup({ exists: false }).service.list(actor('owner'), BOARD)),
      ).toMatchObject(BOARD_NOT_FOUND);
    });
  });

  describe('add', () => {
    const allowed: [Who, BoardRole][] = [
      ['owner', 'viewer'],
      ['owner', 'editor'],
      ['owner', 'admin'],
      ['admin', 'viewer'],
      ['admin', 'editor'],
      ['admin', 'admin'],
      ['editor', 'viewer'],
      ['editor', 'editor'],
    ];

    it.each(allowed)('the %s grants %s', async (who, role) => {
      const { service, members, findView } = setup();
      const added = await service.add(actor(who), BOARD, { user_id: USER.newcomer, role });
      expect(findView).toHaveBeenCalledWith(expect.objectContaining({ lock: true }));
      expect(members.insert).toHaveBeenCalledWith({
        tenantId: TENANT,
        boardId: BOARD,
        userId: USER.newcomer,
        role,
        invitedBy: USER[who],
      });
      expect(added).toMatchObject({ user_id: USER.newcomer, role });
    });

    it('records board.member.add with the new member and role', async () => {
      const { service, record } = setup();
      await service.add(actor('admin'), BOARD, { user_id: USER.newcomer, role: 'editor' });
      expect(record).toHaveBeenCalledWith({
        tenantId: TENANT,
        action: 'board.member.add',
        targetType: 'board',
        targetId: BOARD,
        details: { user_id: USER.newcomer, role: 'editor' },
      });
    });

    it('a refused add records nothing', async () => {
      const { service, record } = setup();
      await refusal(service.add(actor('viewer'), BOARD, { user_id: USER.newcomer }));
      expect(record).not.toHaveBeenCalled();
    });

    it('the role defaults to viewer', async () => {
      const { service, roles } = setup();
      await service.add(actor('editor'), BOARD, { user_id: USER.newcomer });
      expect(roles.get(USER.newcomer)).toBe('viewer');
    });

    it('an editor may not grant admin (403)', async () => {
      const { service, members } = setup();
      expect(
        await refusal(
          service.add(actor('editor'), BOARD, { user_id: USER.newcomer, role: 'admin' }),
        ),
      ).toMatchObject(forbidden('grant the admin role'));
      expect(members.insert).not.toHaveBeenCalled();
    });

    it('a viewer, and a stranger on a public board, may not add anyone (403)', async () => {
      for (const [who, isPublic] of [
        ['viewer', false],
        ['stranger', true],
      ] as const) {
        const { service, members } = setup({ isPublic });
        expect(
          await refusal(service.add(actor(who), BOARD, { user_id: USER.newcomer, role: 'viewer' })),
        ).toMatchObject(forbidden('add members'));
        expect(members.findProfile).not.toHaveBeenCalled();
        expect(members.insert).not.toHaveBeenCalled();
      }
    });

    it('a stranger on a private board gets 404', async () => {
      expect(
        await refusal(setup().service.add(actor('stranger'), BOARD, { user_id: USER.newcomer })),
      ).toMatchObject(BOARD_NOT_FOUND);
    });

    it('a user outside the tenant (or removed from it) is a 404, nothing inserted', async () => {
      const { service, members } = setup();
      expect(
        await refusal(service.add(actor('owner'), BOARD, { user_id: USER.outsider })),
      ).toMatchObject({ code: ErrorCode.NotFound, detail: 'User not found in this organization.' });
      expect(members.findProfile).toHaveBeenCalledWith({
        tenantId: TENANT,
        boardId: BOARD,
        userId: USER.outsider,
      });
      expect(members.insert).not.toHaveBeenCalled();
    });

    it('the owner cannot be added as a member (400)', async () => {
      const { service, members } = setup();
      expect(
        await refusal(service.add(actor('admin'), BOARD, { user_id: USER.owner, role: 'viewer' })),
      ).toMatchObject({
        code: ErrorCode.BadRequest,
        detail:
          'The owner of a board cannot be added as a member; the owner has every right already.',
      });
      expect(members.insert).not.toHaveBeenCalled();
    });

    it('an existing member is a 409 and keeps their role', async () => {
      const { service, roles } = setup();
      expect(
        await refusal(service.add(actor('owner'), BOARD, { user_id: USER.viewer, role: 'admin' })),
      ).toMatchObject({
        code: ErrorCode.Conflict,
        detail: 'The user is already a member of this board.',
      });
      expect(roles.get(USER.viewer)).toBe('viewer');
    });

    it('a membership that cannot be read back is a 404', async () => {
      expect(
        await refusal(
          setup({ findFails: true }).service.add(actor('owner'), BOARD, {
            user_id: USER.newcomer,
          }),
        ),
      ).toMatchObject(MEMBER_NOT_FOUND);
    });
  });

  describe('changeRole', () => {
    it.each<Who>(['owner', 'admin'])('the %s changes a member’s role', async (who) => {
      const { service, members, findView } = setup();
      const changed = await service.changeRole(actor(who), BOARD, USER.viewer, { role: 'editor' });
      expect(findView).toHaveBeenCalledWith(expect.objectContaining({ lock: true }));
      expect(members.updateRole).toHaveBeenCalledWith({
        tenantId: TENANT,
        boardId: BOARD,
        userId: USER.viewer,
        role: 'editor',
      });
      expect(changed).toMatchObject({ user_id: USER.viewer, role: 'editor' });
    });

    it('records board.member.update with the member and the new role', async () => {
      const { service, record } = setup();
      await service.changeRole(actor('owner'), BOARD, USER.viewer, { role: 'editor' });
      expect(record).toHaveBeenCalledWith({
        tenantId: TENANT,
        action: 'board.member.update',
        targetType: 'board',
        targetId: BOARD,
        details: { user_id: USER.viewer, role: 'editor' },
      });
    });

    it.each<Who>(['editor', 'viewer'])('the %s may not change roles (403)', async (who) => {
      const { service, members } = setup();
      expect(
        await refusal(service.changeRole(actor(who), BOARD, USER.viewer, { role: 'admin' })),
      ).toMatchObject(forbidden('change member roles'));
      expect(members.updateRole).not.toHaveBeenCalled();
    });

    it('a stranger gets 404 on a private board, 403 on a public one', async () => {
      const dto = { role: 'admin' as const };
      expect(
        await refusal(setup().service.changeRole(actor('stranger'), BOARD, USER.stranger, dto)),
      ).toMatchObject(BOARD_NOT_FOUND);
      expect(
        await refusal(
          setup({ isPublic: true }).service.changeRole(
            actor('stranger'),
            BOARD,
            USER.stranger,
            dto,
          ),
        ),
      ).toMatchObject(forbidden('change member roles'));
    });

    it('someone who is not a member of the board is a 404', async () => {
      expect(
        await refusal(
          setup().service.changeRole(actor('owner'), BOARD, USER.newcomer, { role: 'editor' }),
        ),
      ).toMatchObject(MEMBER_NOT_FOUND);
    });
  });

  describe('remove', () => {
    it.each<[Who, Who]>([
      ['owner', 'admin'],
      ['admin', 'admin'],
      ['admin', 'editor'],
      ['owner', 'viewer'],
    ])('the %s removes the %s', async (who, removed) => {
      const { service, members, roles, findView } = setup();
      await service.remove(actor(who), BOARD, USER[removed]);
      expect(findView).toHaveBeenCalledWith(expect.objectContaining({ lock: true }));
      expect(members.delete).toHaveBeenCalledWith({
        tenantId: TENANT,
        boardId: BOARD,
        userId: USER[removed],
      });
      expect(roles.has(USER[removed])).toBe(false);
    });

    it('records board.member.remove for a removal and board.member.leave for a member leaving', async () => {
      const { service, record } = setup();
      await service.remove(actor('owner'), BOARD, USER.viewer);
      await service.remove(actor('editor'), BOARD, USER.editor);
      expect(record.mock.calls).toEqual([
        [
          {
            tenantId: TENANT,
            action: 'board.member.remove',
            targetType: 'board',
            targetId: BOARD,
            details: { user_id: USER.viewer },
          },
        ],
        [
          {
            tenantId: TENANT,
            action: 'board.member.leave',
            targetType: 'board',
            targetId: BOARD,
            details: { user_id: USER.editor },
          },
        ],
      ]);
    });

    it.each<[Who, Who]>([
      ['editor', 'viewer'],
      ['viewer', 'editor'],
      ['editor', 'admin'],
    ])('the %s may not remove the %s (403)', async (who, removed) => {
      const { service, members } = setup();
      expect(await refusal(service.remove(actor(who), BOARD, USER[removed]))).toMatchObject(
        forbidden('remove members'),
      );
      expect(members.delete).not.toHaveBeenCalled();
    });

    it.each<Who>(['admin', 'editor', 'viewer'])('the %s may leave', async (who) => {
      const { service, roles } = setup();
      await service.remove(actor(who), BOARD, USER[who]);
      expect(roles.has(USER[who])).toBe(false);
    });

    it('leaving a board one is not a member of is a 404 (a public board’s reader, the owner)', async () => {
      expect(
        await refusal(
          setup({ isPublic: true }).service.remove(actor('stranger'), BOARD, USER.stranger),
        ),
      ).toMatchObject(MEMBER_NOT_FOUND);
      expect(
        await refusal(setup().service.remove(actor('owner'), BOARD, USER.owner)),
      ).toMatchObject(MEMBER_NOT_FOUND);
    });

    it('removing someone who is not a member is a 404', async () => {
      expect(
        await refusal(setup().service.remove(actor('owner'), BOARD, USER.newcomer)),
      ).toMatchObject(MEMBER_NOT_FOUND);
    });

    it('a stranger on a private board gets 404 even to leave', async () => {
      const { service, members } = setup();
      expect(await refusal(service.remove(actor('stranger'), BOARD, USER.stranger))).toMatchObject(
        BOARD_NOT_FOUND,
      );
      expect(members.delete).not.toHaveBeenCalled();
    });
  });
});
