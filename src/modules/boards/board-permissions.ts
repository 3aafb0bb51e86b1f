import type { BoardRole } from './board-member.entity';

/** What the caller is to one board: its owner, a member with a role, or nobody. */
export interface BoardRelation {
  readonly isOwner: boolean;
  readonly memberRole: BoardRole | null;
  readonly isPublic: boolean;
}

/**
 * The permission table of DESIGN.md §4, as pure functions. A board the caller cannot read is
 * answered as not found by the services; the other checks give 403.
 */
export const BoardPermissions = {
  canRead(relation: BoardRelation): boolean {
    return relation.isPublic || relation.isOwner || relation.memberRole !== null;
  },

  /** Title, description, settings, metadata. */
  canUpdate(relation: BoardRelation): boolean {
    return relation.isOwner || relation.memberRole === 'admin';
  },

  /** Delete, change visibility, transfer ownership. */
  canAdminister(relation: BoardRelation): boolean {
    return relation.isOwner;
  },

  /** Which roles the caller may grant when adding a member. */
  grantableRoles(relation: BoardRelation): readonly BoardRole[] {
    if (relation.isOwner || relation.memberRole === 'admin') return ['viewer', 'editor', 'admin'];
    if (relation.memberRole === 'editor') return ['viewer', 'editor'];
    return [];
  },

  /** Change another member's role or remove them. Anyone may remove themselves (leave). */
  canManageMembers(relation: BoardRelation): boolean {
    return relation.isOwner || relation.memberRole === 'admin';
  },

  canCreateGeneration(relation: BoardRelation): boolean {
    return relation.isOwner || relation.memberRole === 'admin' || relation.memberRole === 'editor';
  },

  /** Cancel or delete: the owner any generation; editors and admins their own. */
  canControlGeneration(relation: BoardRelation, isCreator: boolean): boolean {
    if (relation.isOwner) return true;
    return isCreator && (relation.memberRole === 'admin' || relation.memberRole === 'editor');
  },
};
