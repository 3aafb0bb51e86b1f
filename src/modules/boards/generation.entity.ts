import { Column, CreateDateColumn, Entity, UpdateDateColumn } from 'typeorm';
import { TenantOwnedEntity } from 'src/core/database/tenant-owned.entity';

export const ARTIFACT_TYPES = ['image', 'video', 'audio', 'text', 'lora', 'model'] as const;
export type ArtifactType = (typeof ARTIFACT_TYPES)[number];

export const GENERATION_STATUSES = [
  'pending',
  'processing',
  'completed',
  'failed',
  'cancelled',
] as const;
export type GenerationStatus = (typeof GENERATION_STATUSES)[number];

/** A record of an AI artifact on a board; no provider is called by this service. */
@Entity('generations')
export class Generation extends TenantOwnedEntity {
  @Column('uuid')
  boardId: string;

  @Column('uuid')
  userId: string;

  @Column('varchar', { length: 100 })
  generatorName: string;

  @Column('varchar', { length: 20 })
  artifactType: ArtifactType;

  @Column('jsonb', { default: {} })
  inputParams: Record<string, unknown>;

  @Column('varchar', { length: 20, default: 'pending' })
  status: GenerationStatus;

  @Column('text', { nullable: true })
  storageUrl: string | null;

  @Column('text', { nullable: true })
  thumbnailUrl: string | null;

  @Column('jsonb', { default: {} })
  outputMetadata: Record<string, unknown>;

  @Column('real', { default: 0 })
  progress: number;

  @Column('text', { nullable: true })
  errorMessage: string | null;

  @Column('timestamptz', { nullable: true })
  startedAt: Date | null;

  @Column('timestamptz', { nullable: true })
  completedAt: Date | null;

  /** Stored bytes of its text and JSON: a generated column, never written (list pages' budget). */
  @Column({ type: 'integer', insert: false, update: false })
  payloadBytes: number;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
