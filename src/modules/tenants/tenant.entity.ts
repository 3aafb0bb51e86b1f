import {
  Column,
  CreateDateColumn,
  Entity,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import type { TenantQuotaOverrides, TenantStatus } from 'src/core/context/records';

/** The tenant registry. Not tenant-owned: platform admins list it, requests resolve against it. */
@Entity('tenants')
export class Tenant {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column('varchar', { length: 255 })
  name: string;

  @Column('varchar', { length: 50 })
  slug: string;

  @Column('varchar', { length: 20, default: 'active' })
  status: TenantStatus;

  @Column('jsonb', { default: {} })
  settings: Record<string, unknown>;

  /** Token issuers (exact `iss`) this tenant is bound to; empty means every trusted issuer. */
  @Column('text', { array: true, default: () => "'{}'" })
  allowedIssuers: string[];

  /**
   * Whether the identity provider's tenant claim admits people: true for tenants a platform admin
   * made; for a self-registered one only when the registrant's own claim listed its slug.
   */
  @Column('boolean', { default: true })
  claimsAdmit: boolean;

  /**
   * Per-tenant quota overrides set by a platform admin (boards, generations_per_board,
   * members_per_board, stored_bytes); a quota not named here has the configured default.
   */
  @Column('jsonb', { default: {} })
  quotas: TenantQuotaOverrides;

  /** `provider:subject` of the registrant, for per-identity limits. */
  @Column('text', { nullable: true })
  registeredBy: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
