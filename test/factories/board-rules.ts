import { ErrorCode } from 'src/core/errors/error-code';
import type { Actor } from 'src/core/context/tenant-context';
import type { BoardRole } from 'src/modules/boards/board-member.entity';
import { Board } from 'src/modules/boards/board.entity';

/**
 * The cast of the board services' unit specs (boards, members, generations): one tenant, one
 * board, a user per relation to it, and the refusals those services answer with.
 */

export const TENANT = '00000000-0000-4000-8000-00000000000a';
export const BOARD = 'b0000000-0000-4000-8000-000000000001';

/** A caller's relation to the board. */
export type Who = 'owner' | BoardRole | 'stranger';

export const USER: Record<Who | 'newcomer' | 'outsider', string> = {
  owner: '10000000-0000-4000-8000-000000000001',
  admin: '10000000-0000-4000-8000-000000000002',
  editor: '10000000-0000-4000-8000-000000000003',
  viewer: '10000000-0000-4000-8000-000000000004',
  stranger: '10000000-0000-4000-8000-000000000005',
  /** In the tenant, not on the board. */
  newcomer: '10000000-0000-4000-8000-000000000006',
  /** Not a member of the tenant (or removed from it). */
  outsider: '10000000-0000-4000-8000-000000000007',
};

/** The board members and their roles (the owner is not a member). */
export const MEMBER_ROLES: ReadonlyMap<string, BoardRole> = new Map<string, BoardRole>([
  [USER.admin, 'admin'],
  [USER.editor, 'editor'],
  [USER.viewer, 'viewer'],
]);

export const OWNER_PROFILE = { id: USER.owner, display_name: 'Olga', avatar_url: null };

export const actor = (who: keyof typeof USER): Actor => ({
  tenantId: TENANT,
  userId: USER[who],
  tenantRole: 'member',
});

export const forbidden = (action: string) => ({
  code: ErrorCode.Forbidden,
  detail: `Your role on this board does not allow you to ${action}.`,
});
export const BOARD_NOT_FOUND = { code: ErrorCode.NotFound, detail: 'Board not found.' };

/** The board row: private, owned by USER.owner. */
export function boardRow(overrides: Partial<Board> = {}): Board {
  return Object.assign(new Board(), {
    tenantId: TENANT,
    id: BOARD,
    ownerId: USER.owner,
    title: 'Moodboard',
    description: null,
    isPublic: false,
    settings: {},
    metadata: {},
    version: 3,
    createdAt: new Date('2025-01-01T00:00:00.000Z'),
    updatedAt: new Date('2025-01-02T00:00:00.000Z'),
    ...overrides,
  });
}

export { refusal } from 'test/support/refusal';
