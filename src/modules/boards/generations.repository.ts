import { Injectable } from '@nestjs/common';
import type { CursorPosition } from 'src/common/pagination';
import { TenantScopedRepository } from 'src/core/database/tenant-scoped.repository';
import type { BoardKey } from './boards.repository';
import { Generation, type ArtifactType, type GenerationStatus } from './generation.entity';

export interface GenerationKey {
  readonly tenantId: string;
  readonly generationId: string;
}

export interface GenerationListQuery extends BoardKey {
  readonly status?: GenerationStatus;
  readonly artifactType?: ArtifactType;
  readonly limit: number;
  readonly after?: CursorPosition;
}

export interface NewGeneration extends BoardKey {
  readonly userId: string;
  readonly generatorName: string;
  readonly artifactType: ArtifactType;
  readonly inputParams: Record<string, unknown>;
  /** Stored as already completed with this output metadata (sample data), not queued. */
  readonly completedWith?: Record<string, unknown>;
}

@Injectable()
export class GenerationsRepository extends TenantScopedRepository {
  async find(key: GenerationKey & { lock?: boolean }): Promise<Generation | null> {
    const query = this.entityQuery(Generation, 'g').where(
      'g.tenant_id = :tenantId AND g.id = :generationId',
      key,
    );
    if (key.lock) query.setLock('pessimistic_write');
    return query.getOne();
  }

  /** Newest first; fetches `limit + 1` rows to detect a next page. */
  list(query: GenerationListQuery): Promise<Generation[]> {
    const builder = this.entityQuery(Generation, 'g').where(
      'g.tenant_id = :tenantId AND g.board_id = :boardId',
      query,
    );
    if (query.status) builder.andWhere('g.status = :status', { status: query.status });
    if (query.artifactType)
      builder.andWhere('g.artifact_type = :artifactType', { artifactType: query.artifactType });
    if (query.after) {
      builder.andWhere('(g.created_at, g.id) < (:afterValue, :afterId)', {
        afterValue: query.after.value,
        afterId: query.after.id,
      });
    }
    return builder
      .orderBy('g.created_at', 'DESC')
      .addOrderBy('g.id', 'DESC')
      .limit(query.limit + 1)
      .getMany();
  }

  insert(generation: NewGeneration): Promise<Generation> {
    const repository = this.entities(Generation);
    const { boardId, userId, generatorName, artifactType, inputParams, tenantId, completedWith } =
      generation;
    return repository.save(
      repository.create({
        tenantId,
        boardId,
        userId,
        generatorName,
        artifactType,
        inputParams,
        ...(completedWith && {
          status: 'completed' as const,
          progress: 100,
          outputMetadata: completedWith,
        }),
      }),
    );
  }

  async cancel(key: GenerationKey): Promise<void> {
    await this.builder()
      .update(Generation)
      .set({ status: 'cancelled', completedAt: () => 'now()', updatedAt: () => 'now()' })
      .where('tenant_id = :tenantId AND id = :generationId', key)
      .execute();
  }

  async delete(key: GenerationKey): Promise<boolean> {
    const result = await this.builder()
      .delete()
      .from(Generation)
      .where('tenant_id = :tenantId AND id = :generationId', key)
      .execute();
    return (result.affected ?? 0) > 0;
  }
}
