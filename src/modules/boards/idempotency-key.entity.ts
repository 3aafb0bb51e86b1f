import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** A stored response for an Idempotency-Key, scoped to (tenant, user, key). */
@Entity('idempotency_keys')
export class IdempotencyKey {
  @PrimaryColumn('uuid')
  tenantId: string;

  @PrimaryColumn('uuid')
  userId: string;

  @PrimaryColumn('varchar', { length: 255 })
  idempotencyKey: string;

  @Column('varchar', { length: 10 })
  method: string;

  @Column('varchar', { length: 2048 })
  path: string;

  @Column('char', { length: 64 })
  requestHash: string;

  @Column('integer', { nullable: true })
  responseStatus: number | null;

  @Column('jsonb', { nullable: true })
  responseBody: unknown;

  @Column('jsonb', { default: {} })
  responseHeaders: Record<string, string>;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @Column('timestamptz')
  expiresAt: Date;
}
