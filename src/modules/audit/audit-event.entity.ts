import { Column, CreateDateColumn, Entity } from 'typeorm';
import { TenantOwnedEntity } from 'src/core/database/tenant-owned.entity';

export type AuditOutcome = 'success' | 'failure' | 'denied';

/** Append-only: the runtime role may insert and read these rows, never change them. */
@Entity('audit_events')
export class AuditEvent extends TenantOwnedEntity {
  @Column('uuid', { nullable: true })
  actorId: string | null;

  @Column('varchar', { length: 255, nullable: true })
  actorSubject: string | null;

  @Column('varchar', { length: 100 })
  action: string;

  @Column('varchar', { length: 50 })
  targetType: string;

  @Column('varchar', { length: 255, nullable: true })
  targetId: string | null;

  @Column('varchar', { length: 20 })
  outcome: AuditOutcome;

  @Column('varchar', { length: 128, nullable: true })
  requestId: string | null;

  @Column('varchar', { length: 64, nullable: true })
  ip: string | null;

  @Column('jsonb', { default: {} })
  details: Record<string, unknown>;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;
}
