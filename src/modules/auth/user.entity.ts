import { Column, CreateDateColumn, Entity, UpdateDateColumn } from 'typeorm';
import { TenantOwnedEntity } from 'src/core/database/tenant-owned.entity';
import type { MembershipSource, TenantRole } from 'src/core/context/tenant-context';

/** A person within one tenant, provisioned just in time; keyed by (tenant, provider, subject). */
@Entity('users')
export class User extends TenantOwnedEntity {
  @Column('varchar', { length: 20, default: 'member' })
  tenantRole: TenantRole;

  /** How the user belongs to the tenant (see MembershipSource). */
  @Column('varchar', { length: 20, default: 'claim' })
  membershipSource: MembershipSource;

  @Column('varchar', { length: 100 })
  authProvider: string;

  @Column('varchar', { length: 255 })
  authSubject: string;

  @Column('varchar', { length: 320, nullable: true })
  email: string | null;

  @Column('varchar', { length: 255, nullable: true })
  displayName: string | null;

  @Column('text', { nullable: true })
  avatarUrl: string | null;

  @Column('jsonb', { default: {} })
  metadata: Record<string, unknown>;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
