import { Column, CreateDateColumn, Entity } from 'typeorm';
import { TenantOwnedEntity } from 'src/core/database/tenant-owned.entity';

export const BOARD_ROLES = ['viewer', 'editor', 'admin'] as const;
export type BoardRole = (typeof BOARD_ROLES)[number];

@Entity('board_members')
export class BoardMember extends TenantOwnedEntity {
  @Column('uuid')
  boardId: string;

  @Column('uuid')
  userId: string;

  @Column('varchar', { length: 20, default: 'viewer' })
  role: BoardRole;

  @Column('uuid', { nullable: true })
  invitedBy: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  joinedAt: Date;
}
