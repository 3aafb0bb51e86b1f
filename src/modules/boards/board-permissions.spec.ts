import type { BoardRole } from './board-member.entity';
import { BoardPermissions, type BoardRelation } from './board-permissions';

/**
 * The permission table of DESIGN.md §4 as pure functions, for every relation a caller can have
 * to a board (owner, admin, editor, viewer, nobody) on a private and on a public board.
 */

type Who = 'owner' | BoardRole | 'nobody';

function relation(who: Who, isPublic: boolean): BoardRelation {
  if (who === 'owner') return { isOwner: true, memberRole: null, isPublic };
  if (who === 'nobody') return { isOwner: false, memberRole: null, isPublic };
  return { isOwner: false, memberRole: who, isPublic };
}

interface Expectation {
  read: boolean;
  update: boolean;
  administer: boolean;
  grantable: BoardRole[];
  manageMembers: boolean;
  createGeneration: boolean;
  controlOwnGeneration: boolean;
  controlOthersGeneration: boolean;
}

const TABLE: Record<Who, Expectation> = {
  owner: {
    read: true,
    update: true,
    administer: true,
    grantable: ['viewer', 'editor', 'admin'],
    manageMembers: true,
    createGeneration: true,
    controlOwnGeneration: true,
    controlOthersGeneration: true,
  },
  admin: {
    read: true,
    update: true,
    administer: false,
    grantable: ['viewer', 'editor', 'admin'],
    manageMembers: true,
    createGeneration: true,
    controlOwnGeneration: true,
    controlOthersGeneration: false,
  },
  editor: {
    read: true,
    update: false,
    administer: false,
    grantable: ['viewer', 'editor'],
    manageMembers: false,
    createGeneration: true,
    controlOwnGeneration: true,
    controlOthersGeneration: false,
  },
  viewer: {
    read: true,
    update: false,
    administer: false,
    grantable: [],
    manageMembers: false,
    createGeneration: false,
    controlOwnGeneration: false,
    controlOthersGeneration: false,
  },
  nobody: {
    read: false,
    update: false,
    administer: false,
    grantable: [],
    manageMembers: false,
    createGeneration: false,
    controlOwnGeneration: false,
    controlOthersGeneration: false,
  },
};

const CASES = (['private', 'public'] as const).flatMap((visibility) =>
  (Object.keys(TABLE) as Who[]).map((who) => ({ visibility, who })),
);

describe('BoardPermissions', () => {
  it.each(CASES)('$who of a $visibility board', ({ visibility, who }) => {
    const isPublic = visibility === 'public';
    const rel = relation(who, isPublic);
    const expected = TABLE[who];
    expect({
      read: BoardPermissions.canRead(rel),
      update: BoardPermissions.canUpdate(rel),
      administer: BoardPermissions.canAdminister(rel),
      grantable: [...BoardPermissions.grantableRoles(rel)],
      manageMembers: BoardPermissions.canManageMembers(rel),
      createGeneration: BoardPermissions.canCreateGeneration(rel),
      controlOwnGeneration: BoardPermissions.canControlGeneration(rel, true),
      controlOthersGeneration: BoardPermissions.canControlGeneration(rel, false),
    }).toEqual({
      ...expected,
      // Anyone in the tenant reads a public board; reading grants nothing else.
      read: expected.read || isPublic,
    });
  });
});
